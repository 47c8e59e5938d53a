// SPDX-License-Identifier: Apache-2.0
// Text in and out of the secret types, for the tests only: a literal as the bytes to seal or put,
// and a secret's bytes as a std::string (or plain Bytes) that a CHECK can compare and print.
// Tests compare values they made themselves; nothing here belongs in the library.
#pragma once

#include <string>
#include <string_view>

#include "keyward/bytes.hpp"

namespace keyward::test {

/// The characters of s as bytes (a view: s must outlive it, as a literal or a named string does).
inline ByteView text(std::string_view s) {
    return as_bytes(s);
}

/// A secret's bytes as a plain string.
inline std::string str(const SecretBytes& b) {
    return std::string(b.begin(), b.end());
}

/// A secret string's characters as a plain string.
inline std::string str(const SecretString& s) {
    return std::string(s.begin(), s.end());
}

/// Secret bytes as plain bytes, for comparisons with expected bytes.
inline Bytes plain(const SecretBytes& s) {
    return Bytes(s.begin(), s.end());
}

}  // namespace keyward::test
