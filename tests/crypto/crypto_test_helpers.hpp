// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the crypto tests: readable Errc values in Catch2 output, the code of
// a Result, and byte literals (plain() for secrets is in support/secret_text.hpp).
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "support/catch_errc.hpp"
#include "support/secret_text.hpp"
#include "support/test_env.hpp"

namespace keyward::test {

/// Errc::ok for a success, else the error's code: lets one CHECK state the exact outcome.
template <typename T>
Errc code_of(const Result<T>& r) {
    return r.ok() ? Errc::ok : r.error().code();
}

/// Hex to bytes; spaces are ignored so that fields can be written apart ("4b574501 01").
inline Bytes hx(std::string_view hex) {
    std::string digits;
    for (char c : hex) {
        if (c != ' ') digits.push_back(c);
    }
    return from_hex(digits);
}

inline Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

inline Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace keyward::test
