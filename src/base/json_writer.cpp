// SPDX-License-Identifier: Apache-2.0
// JSON writer for --json output.
#include "keyward/json.hpp"

#include <cmath>
#include <cstdio>

#include "keyward/utf8.hpp"

namespace keyward {

void Json::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ += ",";
        first_.back() = false;
    }
}

Json& Json::begin_object() {
    separate();
    out_ += "{";
    first_.push_back(true);
    return *this;
}

Json& Json::end_object() {
    out_ += "}";
    first_.pop_back();
    return *this;
}

Json& Json::begin_array() {
    separate();
    out_ += "[";
    first_.push_back(true);
    return *this;
}

Json& Json::end_array() {
    out_ += "]";
    first_.pop_back();
    return *this;
}

// RFC 8259 requires escaping '"', '\\' and U+0000-U+001F. DEL and the C1 controls
// (U+0080-U+009F) are escaped too, so that a document shown on a terminal cannot drive it, and
// bytes that are not well-formed UTF-8 become U+FFFD: JSON text must be UTF-8 (RFC 8259 8.1)
// and such bytes can reach a message from argv or a planted database row. Secrets are never
// affected: they are carried as base64.
void Json::append_string(std::string_view s) {
    out_.push_back('"');
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out_ += "\\\"";
                continue;
            case '\\':
                out_ += "\\\\";
                continue;
            case '\n':
                out_ += "\\n";
                continue;
            case '\r':
                out_ += "\\r";
                continue;
            case '\t':
                out_ += "\\t";
                continue;
            default:
                break;
        }
        if (c < 0x20 || c == 0x7f) {
            append_escape(c);
        } else if (c < 0x80) {
            out_.push_back(static_cast<char>(c));
        } else if (is_c1_control(s, i)) {
            append_escape(static_cast<unsigned char>(s[++i]));
        } else if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
            out_.append(s.data() + i, n);
            i += n - 1;
        } else {
            out_ += "\\ufffd";
        }
    }
    out_.push_back('"');
}

void Json::append_escape(unsigned code) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", code);
    out_ += buf;
}

Json& Json::key(std::string_view k) {
    separate();
    append_string(k);
    out_ += ":";
    after_key_ = true;
    return *this;
}

Json& Json::value(std::string_view v) {
    separate();
    append_string(v);
    return *this;
}

Json& Json::value(std::int64_t v) {
    separate();
    out_ += std::to_string(v).c_str();
    return *this;
}

Json& Json::value(std::uint64_t v) {
    separate();
    out_ += std::to_string(v).c_str();
    return *this;
}

Json& Json::value(double v) {
    separate();
    // Durations and rates: three decimals are all a reader needs, and never NaN or Inf.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", std::isfinite(v) ? v : 0.0);
    out_ += buf;
    return *this;
}

Json& Json::value(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return *this;
}

Json& Json::null() {
    separate();
    out_ += "null";
    return *this;
}

std::optional<char> json_simple_escape(char e) noexcept {
    switch (e) {
        case '"':
            return '"';
        case '\\':
            return '\\';
        case '/':
            return '/';
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        default:
            return std::nullopt;
    }
}

}  // namespace keyward
