// SPDX-License-Identifier: Apache-2.0
// Well-formed UTF-8 (RFC 3629), shared by the readers that refuse anything else (import lines)
// and the writers that must never pass it on (the JSON writer, text for a terminal).
#pragma once

#include <cstddef>
#include <string_view>

namespace keyward {

/// Length (2-4) of the well-formed multi-byte UTF-8 sequence at s[i]: no overlong forms, no
/// surrogates, nothing above U+10FFFF. 0 when s[i] does not start one (ASCII included).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) {
        return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
    };
    const unsigned c = b(0);
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return b(k) >= lo && b(k) <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
        const unsigned hi = c == 0xED ? 0x9F : 0xBF;
        return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
        const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
        return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

/// True for the C1 control characters U+0080-U+009F, whose UTF-8 form is C2 80 .. C2 9F.
/// Terminals act on them (U+009B is CSI, U+009D is OSC) just as on ESC sequences.
inline bool is_c1_control(std::string_view s, std::size_t i) noexcept {
    if (i + 1 >= s.size() || static_cast<unsigned char>(s[i]) != 0xC2) return false;
    const auto next = static_cast<unsigned char>(s[i + 1]);
    return next >= 0x80 && next <= 0x9F;
}

}  // namespace keyward
