// Recursive-descent JSON reader for test inputs. Strict on syntax (no comments, no trailing
// commas, no leading zeros, no raw control characters in strings) so a damaged vector file is
// noticed rather than half-read.
#include "crypto/json_reader.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace keyward::test {

class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : text_(text) {}

    Json document() {
        Json value = parse_value(0);
        skip_ws();
        if (pos_ != text_.size()) fail("unexpected data after the JSON document");
        return value;
    }

  private:
    // Deep enough for any real test file, shallow enough that a hostile file cannot overflow
    // the stack.
    static constexpr int kMaxDepth = 256;

    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
    }

    void skip_ws() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    char peek() {
        if (pos_ >= text_.size()) fail("unexpected end of input");
        return text_[pos_];
    }

    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }

    void literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
        pos_ += word.size();
    }

    Json parse_value(int depth) {
        if (depth > kMaxDepth) fail("nesting too deep");
        skip_ws();
        Json v;
        switch (peek()) {
            case '{':
                parse_object(v, depth);
                break;
            case '[':
                parse_array(v, depth);
                break;
            case '"':
                v.kind_ = Json::Kind::string;
                v.text_ = parse_string();
                break;
            case 't':
                literal("true");
                v.kind_ = Json::Kind::boolean;
                v.bool_ = true;
                break;
            case 'f':
                literal("false");
                v.kind_ = Json::Kind::boolean;
                break;
            case 'n':
                literal("null");
                break;
            default:
                parse_number(v);
                break;
        }
        return v;
    }

    void parse_object(Json& v, int depth) {
        v.kind_ = Json::Kind::object;
        expect('{');
        skip_ws();
        if (peek() == '}') {
            ++pos_;
            return;
        }
        for (;;) {
            skip_ws();
            if (peek() != '"') fail("expected a member name");
            v.keys_.push_back(parse_string());
            skip_ws();
            expect(':');
            v.items_.push_back(parse_value(depth + 1));
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect('}');
            return;
        }
    }

    void parse_array(Json& v, int depth) {
        v.kind_ = Json::Kind::array;
        expect('[');
        skip_ws();
        if (peek() == ']') {
            ++pos_;
            return;
        }
        for (;;) {
            v.items_.push_back(parse_value(depth + 1));
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect(']');
            return;
        }
    }

    unsigned hex4() {
        if (text_.size() - pos_ < 4) fail("truncated \\u escape");
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            value <<= 4;
            if (c >= '0' && c <= '9') {
                value |= static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                value |= static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                value |= static_cast<unsigned>(c - 'A' + 10);
            } else {
                fail("bad hex digit in \\u escape");
            }
        }
        return value;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | cp >> 6));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | cp >> 12));
            out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | cp >> 18));
            out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    std::string parse_string() {
        expect('"');
        std::string out;
        for (;;) {
            const char c = peek();
            ++pos_;
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            const char e = peek();
            ++pos_;
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if (text_.substr(pos_, 2) != "\\u") fail("unpaired surrogate");
                        pos_ += 2;
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        fail("unpaired surrogate");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    fail("bad escape");
            }
        }
    }

    void parse_number(Json& v) {
        const std::size_t start = pos_;
        auto digits = [&] {
            const std::size_t from = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            return pos_ - from;
        };
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '0') {
            ++pos_;
        } else if (digits() == 0) {
            fail("invalid value");
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            if (digits() == 0) fail("digits expected after '.'");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            if (digits() == 0) fail("digits expected in exponent");
        }
        v.kind_ = Json::Kind::number;
        v.text_ = std::string(text_.substr(start, pos_ - start));
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

Json Json::parse(std::string_view text) {
    return JsonParser(text).document();
}

namespace {
[[noreturn]] void type_error(const char* wanted) {
    throw std::runtime_error(std::string("JSON: value is not ") + wanted);
}
}  // namespace

bool Json::as_bool() const {
    if (kind_ != Kind::boolean) type_error("a boolean");
    return bool_;
}

double Json::as_double() const {
    if (kind_ != Kind::number) type_error("a number");
    return std::strtod(text_.c_str(), nullptr);
}

std::int64_t Json::as_int() const {
    if (kind_ != Kind::number) type_error("a number");
    std::int64_t value = 0;
    const char* end = text_.data() + text_.size();
    auto [ptr, ec] = std::from_chars(text_.data(), end, value);
    if (ec != std::errc() || ptr != end) type_error("an integer in range");
    return value;
}

const std::string& Json::as_string() const {
    if (kind_ != Kind::string) type_error("a string");
    return text_;
}

const std::vector<Json>& Json::as_array() const {
    if (kind_ != Kind::array) type_error("an array");
    return items_;
}

const std::vector<std::string>& Json::keys() const {
    if (kind_ != Kind::object) type_error("an object");
    return keys_;
}

bool Json::contains(std::string_view key) const {
    for (const auto& k : keys()) {
        if (k == key) return true;
    }
    return false;
}

const Json& Json::operator[](std::string_view key) const {
    const auto& k = keys();
    for (std::size_t i = 0; i < k.size(); ++i) {
        if (k[i] == key) return items_[i];
    }
    throw std::runtime_error("JSON: no member \"" + std::string(key) + "\"");
}

const Json& Json::operator[](std::size_t index) const {
    const auto& a = as_array();
    if (index >= a.size()) throw std::runtime_error("JSON: array index out of range");
    return a[index];
}

std::size_t Json::size() const {
    if (kind_ == Kind::object) return keys_.size();
    return as_array().size();
}

}  // namespace keyward::test
