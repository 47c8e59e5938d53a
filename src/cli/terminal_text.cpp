// SPDX-License-Identifier: Apache-2.0
// Escaping of control characters in text output (see terminal_text.hpp).
#include "terminal_text.hpp"

#include <cstdio>

#include "keyward/utf8.hpp"

namespace keyward::cli {

namespace {

void append_hex(std::string& out, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
}

std::string escape(std::string_view s, bool keep_newlines) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n' && keep_newlines) {
            out.push_back('\n');
        } else if (c < 0x20 || c == 0x7f) {
            append_hex(out, c);
        } else if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else if (is_c1_control(s, i)) {
            append_hex(out, c);
            append_hex(out, static_cast<unsigned char>(s[++i]));
        } else if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
            out.append(s.substr(i, n));
            i += n - 1;
        } else {
            append_hex(out, c);
        }
    }
    return out;
}

}  // namespace

std::string escape_controls(std::string_view s) {
    return escape(s, false);
}

std::string escape_controls_keep_lines(std::string_view s) {
    return escape(s, true);
}

void print_error_line(std::string_view message) {
    const std::string line = "keyward: " + escape_controls(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace keyward::cli
