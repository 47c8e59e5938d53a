// SPDX-License-Identifier: Apache-2.0
// The tests' own envelope parser (see envelope_reader.hpp).
#include "support/envelope_reader.hpp"

#include <catch2/catch.hpp>

namespace keyward::test {

Envelope parse_envelope(const std::string& b) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b.at(i)); };
    Envelope e;
    e.magic = b.substr(0, 4);
    e.suite = byte(4);
    const std::size_t n = byte(5);
    e.keyring = b.substr(6, n);
    std::size_t pos = 6 + n;
    e.kek_version = (std::uint32_t{byte(pos)} << 24) | (std::uint32_t{byte(pos + 1)} << 16) |
                    (std::uint32_t{byte(pos + 2)} << 8) | std::uint32_t{byte(pos + 3)};
    pos += 4;
    const std::size_t w = (std::size_t{byte(pos)} << 8) | byte(pos + 1);
    pos += 2;
    REQUIRE(b.size() >= pos + w + 12 + 16);
    e.wrapped_dek = b.substr(pos, w);
    e.payload = b.substr(pos + w);
    e.nonce = e.payload.substr(0, 12);
    return e;
}

}  // namespace keyward::test
