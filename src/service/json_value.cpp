// SPDX-License-Identifier: Apache-2.0
// The JSON reader (see json_value.hpp): recursive descent over RFC 8259's grammar.
#include "json_value.hpp"

#include "keyward/json.hpp"

#include <charconv>
#include <optional>

namespace keyward::service {

namespace {

class Reader {
  public:
    Reader(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

    Result<JsonValue> document() {
        JsonValue v;
        KW_TRY_STATUS(value(v, 0));
        skip_space();
        if (pos_ != text_.size()) return fail("unexpected data after the JSON value");
        return v;
    }

  private:
    Error fail(const std::string& what) const {
        return Error(Errc::bad_input,
                     "malformed JSON at byte " + std::to_string(pos_) + ": " + what);
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Status count_item() {
        if (++items_ > limits_.max_items) return fail("too many values");
        return {};
    }

    Status value(JsonValue& out, std::size_t depth) {
        skip_space();
        if (pos_ >= text_.size()) return fail("a value is missing");
        const char c = text_[pos_];
        if (c == '{') return object(out, depth);
        if (c == '[') return array(out, depth);
        if (c == '"') {
            out.type = JsonValue::Type::string;
            return string(out.string);
        }
        if (literal("true")) {
            out.type = JsonValue::Type::boolean;
            out.boolean = true;
            return {};
        }
        if (literal("false")) {
            out.type = JsonValue::Type::boolean;
            return {};
        }
        if (literal("null")) {
            out.type = JsonValue::Type::null;
            return {};
        }
        if (c == '-' || (c >= '0' && c <= '9')) return number(out);
        return fail("not a JSON value");
    }

    Status object(JsonValue& out, std::size_t depth) {
        if (depth >= limits_.max_depth) return fail("nested too deeply");
        out.type = JsonValue::Type::object;
        ++pos_;  // {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            return {};
        }
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a member name");
            SecretString key;
            KW_TRY_STATUS(string(key));
            std::string name(key.data(), key.size());
            if (out.members.size() >= limits_.max_members) return fail("too many members");
            if (out.find(name) != nullptr) return fail("duplicate member \"" + name + "\"");
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
            ++pos_;
            KW_TRY_STATUS(count_item());
            JsonValue v;
            KW_TRY_STATUS(value(v, depth + 1));
            out.members.emplace_back(std::move(name), std::move(v));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return {};
            }
            return fail("expected ',' or '}'");
        }
    }

    Status array(JsonValue& out, std::size_t depth) {
        if (depth >= limits_.max_depth) return fail("nested too deeply");
        out.type = JsonValue::Type::array;
        ++pos_;  // [
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return {};
        }
        for (;;) {
            KW_TRY_STATUS(count_item());
            JsonValue v;
            KW_TRY_STATUS(value(v, depth + 1));
            out.items.push_back(std::move(v));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return {};
            }
            return fail("expected ',' or ']'");
        }
    }

    static void append_utf8(SecretString& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }

    std::optional<std::uint32_t> hex4() {
        if (pos_ + 4 > text_.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                return std::nullopt;
            }
        }
        return v;
    }

    Status string(SecretString& out) {
        ++pos_;  // "
        for (;;) {
            if (pos_ >= text_.size()) return fail("unterminated string");
            const auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                ++pos_;
                return {};
            }
            if (c < 0x20) return fail("control character in a string");
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                ++pos_;
                continue;
            }
            ++pos_;
            if (pos_ >= text_.size()) return fail("unterminated escape");
            const char e = text_[pos_++];
            if (auto simple = json_simple_escape(e)) {
                out.push_back(*simple);
                continue;
            }
            switch (e) {
                case 'u': {
                    auto cp = hex4();
                    if (!cp) return fail("bad \\u escape");
                    if (*cp >= 0xd800 && *cp <= 0xdbff) {
                        if (!literal("\\u")) return fail("lone surrogate");
                        auto low = hex4();
                        if (!low || *low < 0xdc00 || *low > 0xdfff) return fail("lone surrogate");
                        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
                    } else if (*cp >= 0xdc00 && *cp <= 0xdfff) {
                        return fail("lone surrogate");
                    }
                    append_utf8(out, *cp);
                    break;
                }
                default:
                    return fail("unknown escape");
            }
        }
    }

    Status number(JsonValue& out) {
        const std::size_t start = pos_;
        if (text_[pos_] == '-') ++pos_;
        auto digits = [&] {
            const std::size_t from = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            return pos_ - from;
        };
        if (pos_ < text_.size() && text_[pos_] == '0') {
            ++pos_;
        } else if (digits() == 0) {
            return fail("bad number");
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            if (digits() == 0) return fail("bad number");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            if (digits() == 0) return fail("bad number");
        }
        out.type = JsonValue::Type::number;
        out.number = std::string(text_.substr(start, pos_ - start));
        return {};
    }

    std::string_view text_;
    JsonLimits limits_;
    std::size_t pos_ = 0;
    std::size_t items_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
    if (type != Type::object) return nullptr;
    for (const auto& [k, v] : members) {
        if (k == key) return &v;
    }
    return nullptr;
}

std::optional<std::int64_t> JsonValue::integer() const {
    if (type != Type::number) return std::nullopt;
    std::int64_t v = 0;
    const char* end = number.data() + number.size();
    auto [p, ec] = std::from_chars(number.data(), end, v);
    if (ec != std::errc() || p != end) return std::nullopt;
    return v;
}

const char* JsonValue::type_name(Type t) noexcept {
    switch (t) {
        case Type::null:
            return "null";
        case Type::boolean:
            return "a boolean";
        case Type::number:
            return "a number";
        case Type::string:
            return "a string";
        case Type::array:
            return "an array";
        case Type::object:
            return "an object";
    }
    return "a value";
}

Result<JsonValue> parse_json(std::string_view text, const JsonLimits& limits) {
    return Reader(text, limits).document();
}

}  // namespace keyward::service
