// SPDX-License-Identifier: Apache-2.0
// An envelope's fields read by the tests' own parser (docs/FORMAT.md), independent of keyward's
// codec: what a test compares before and after keyward changed an envelope.
#pragma once

#include <cstdint>
#include <string>

namespace keyward::test {

struct Envelope {
    std::string magic;  // 4 bytes
    int suite = 0;
    std::string keyring;
    std::uint32_t kek_version = 0;
    std::string wrapped_dek;
    std::string nonce;
    std::string payload;  // nonce || ciphertext || tag
};

/// The binary form's fields; fails the running test (Catch2 REQUIRE) when it is too short.
Envelope parse_envelope(const std::string& bytes);

}  // namespace keyward::test
