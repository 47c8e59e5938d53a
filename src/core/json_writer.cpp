// JSON writer for --json output.
#include "core/json_writer.hpp"

#include <cmath>
#include <cstdio>

#include <cstdio>

namespace keyward::core {

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

void Json::append_string(std::string_view s) {
    out_.push_back('"');
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\r':
                out_ += "\\r";
                break;
            case '\t':
                out_ += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out_ += buf;
                } else {
                    out_.push_back(static_cast<char>(c));
                }
        }
    }
    out_.push_back('"');
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

}  // namespace keyward::core
