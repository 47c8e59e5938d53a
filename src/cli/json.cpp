// JSON writer for --json output.
#include "cli/json.hpp"

#include <cstdio>

namespace keyward::cli {

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    return out;
}

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

Json& Json::key(std::string_view k) {
    separate();
    out_ += "\"" + json_escape(k) + "\":";
    after_key_ = true;
    return *this;
}

Json& Json::value(std::string_view v) {
    separate();
    out_ += "\"" + json_escape(v) + "\"";
    return *this;
}

Json& Json::value(std::int64_t v) {
    separate();
    out_ += std::to_string(v);
    return *this;
}

Json& Json::value(std::uint64_t v) {
    separate();
    out_ += std::to_string(v);
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

}  // namespace keyward::cli
