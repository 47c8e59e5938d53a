// SPDX-License-Identifier: Apache-2.0
// A strict reader for one `keyward import --jsonl` line. It reads only the shape the spec
// allows (one flat object, tags one level deep), so it needs no general JSON value parser and
// refuses everything else at the first byte that does not fit, naming that byte's offset.
//
// Secrecy: "value" is unescaped straight into SecretBytes; "value_b64" is decoded from the line
// itself, or, when it holds escapes, from a SecretBytes copy. Messages never quote string
// contents, with one exception: an unknown field or a tag name that comes before any
// "value"/"value_b64" key is quoted, as it cannot be a piece of the value. After that key, a
// value with a stray quote in it (`"value": "pa"ss"`) would turn pieces of the secret into
// keys, so those are named by their offset only.
#include "import_line.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <unordered_set>

#include "keyward/base64.hpp"
#include "keyward/types.hpp"
#include "keyward/utf8.hpp"

namespace keyward::cli {
namespace {

enum Field : unsigned { kName, kKind, kValue, kValueB64, kExpires, kDescription, kTags, kFields };
constexpr std::array<std::string_view, kFields> kFieldNames = {
    "name", "kind", "value", "value_b64", "expires", "description", "tags"};
constexpr std::string_view kFieldList =
    "the fields are name, kind, value or value_b64, expires, description and tags";

// Where string bytes go: the result's std::string, SecretBytes, or nowhere (a check-only pass).
struct Discard {};
void put(std::string& out, std::string_view bytes) {
    out.append(bytes);
}
void put(SecretBytes& out, std::string_view bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}
void put(Discard&, std::string_view) {}
std::size_t size_of(const std::string& out) {
    return out.size();
}
std::size_t size_of(const SecretBytes& out) {
    return out.size();
}
std::size_t size_of(const Discard&) {
    return 0;
}

// UTF-8 of a code point (not a surrogate) into buf; returns its length.
std::size_t encode_utf8(std::uint32_t cp, std::array<char, 4>& buf) {
    const auto byte = [](std::uint32_t v) { return static_cast<char>(v); };
    if (cp < 0x80) {
        buf[0] = byte(cp);
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = byte(0xC0 | cp >> 6);
        buf[1] = byte(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = byte(0xE0 | cp >> 12);
        buf[1] = byte(0x80 | (cp >> 6 & 0x3F));
        buf[2] = byte(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = byte(0xF0 | cp >> 18);
    buf[1] = byte(0x80 | (cp >> 12 & 0x3F));
    buf[2] = byte(0x80 | (cp >> 6 & 0x3F));
    buf[3] = byte(0x80 | (cp & 0x3F));
    return 4;
}

// What a one-letter escape (\" \\ \/ \b \f \n \r \t) stands for, as a view into a constant
// (so no copy of a value byte is made), or "" for any other letter.
std::string_view simple_escape(char letter) {
    constexpr std::string_view kLetters = "\"\\/bfnrt";
    constexpr std::string_view kBytes = "\"\\/\b\f\n\r\t";
    const std::size_t i = kLetters.find(letter);
    return i == std::string_view::npos ? std::string_view() : kBytes.substr(i, 1);
}

// Levenshtein distance, ASCII case folded; only ever run on names of at most 16 bytes.
std::size_t distance(std::string_view a, std::string_view b) {
    std::array<std::size_t, 17> row{};
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; };
            const std::size_t up = row[j];
            row[j] = std::min(
                {row[j] + 1, row[j - 1] + 1, diag + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// A field name a misspelt key most likely meant, or "".
std::string_view suggestion(std::string_view key) {
    if (key.empty() || key.size() > 16) return {};
    for (auto name : kFieldNames) {
        if (distance(key, name) <= 2) return name;
    }
    return {};
}

bool quotable(std::string_view key) {
    return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
        return c >= 0x20 && c <= 0x7E && c != '"' && c != '\\';
    });
}

class Parser {
  public:
    explicit Parser(std::string_view line) : s_(line) {}

    Result<ImportLine> run() {
        if (!s_.empty() && s_.back() == '\r') s_.remove_suffix(1);
        skip_ws();
        if (at_end()) return fail("empty line; each line must be one JSON object");
        if (s_.substr(pos_).starts_with("\xEF\xBB\xBF")) {
            return fail(
                "the line starts with a byte order mark; save the file as UTF-8 without one");
        }
        if (peek() != '{') {
            return unexpected(peek() == '[' ? "a JSON object, not an array," : "'{'");
        }
        ++pos_;
        skip_ws();
        if (peek() == '}') {
            ++pos_;
        } else {
            KW_TRY_STATUS(members());
        }
        skip_ws();
        if (!at_end()) return fail_at("text after the closing brace", pos_);
        for (Field f : {kName, kKind}) {
            if (!seen(f)) return fail("field \"" + std::string(kFieldNames[f]) + "\" is missing");
        }
        if (!seen(kValue) && !seen(kValueB64)) {
            return fail("neither \"value\" nor \"value_b64\" is given; give one");
        }
        return std::move(out_);
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
    unsigned seen_ = 0;       // bit per Field
    bool value_key_ = false;  // a "value"/"value_b64" key has been read (see the file comment)
    ImportLine out_;

    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    bool seen(Field f) const { return (seen_ >> f & 1u) != 0; }
    void skip_ws() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++pos_;
        }
    }

    static Error fail(std::string message) { return Error(Errc::bad_input, std::move(message)); }
    static Error fail_at(std::string what, std::size_t offset) {
        return fail(what + " at offset " + std::to_string(offset));
    }
    // What is at pos_ when `expected` should be there; the byte itself is never shown.
    Error unexpected(std::string_view expected) const {
        if (at_end()) return fail("the line ends where " + std::string(expected) + " is expected");
        if (static_cast<unsigned char>(peek()) >= 0x80 && utf8_sequence_length(s_, pos_) == 0) {
            return fail_at("invalid UTF-8", pos_);
        }
        return fail_at("expected " + std::string(expected), pos_);
    }

    // `field "expire"` before the value key; `field at offset 40` after it.
    std::string label(std::string_view noun, std::string_view key, std::size_t offset) const {
        if (!value_key_ && quotable(key)) return std::string(noun) + " \"" + std::string(key) + '"';
        return std::string(noun) + " at offset " + std::to_string(offset);
    }

    Status members() {
        for (;;) {
            if (peek() != '"') {
                return unexpected(peek() == '}' ? "a field name after the comma (a trailing "
                                                  "comma is not JSON)"
                                                : "a field name (a string)");
            }
            const std::size_t key_at = pos_;
            std::string key;
            KW_TRY_STATUS(read_string(key, "a field name", SIZE_MAX));
            skip_ws();
            if (peek() != ':') return unexpected("':' after a field name");
            ++pos_;
            skip_ws();
            KW_TRY_STATUS(member(key, key_at));
            skip_ws();
            if (peek() == '}') {
                ++pos_;
                return ok_status();
            }
            if (peek() != ',') return unexpected("',' or '}'");
            ++pos_;
            skip_ws();
        }
    }

    Status member(std::string_view key, std::size_t key_at) {
        const auto it = std::find(kFieldNames.begin(), kFieldNames.end(), key);
        if (it == kFieldNames.end()) {
            const std::string unknown = "unknown " + label("field", key, key_at);
            const std::string_view near = suggestion(key);
            if (near.empty()) return fail(unknown + "; " + std::string(kFieldList));
            return fail(unknown + " (did you mean \"" + std::string(near) + "\"?)");
        }
        const auto f = static_cast<Field>(it - kFieldNames.begin());
        if (seen(f)) return fail("field \"" + std::string(key) + "\" is given twice");
        if ((f == kValue && seen(kValueB64)) || (f == kValueB64 && seen(kValue))) {
            return fail("\"value\" and \"value_b64\" are both given; give one");
        }
        seen_ |= 1u << f;
        switch (f) {
            case kName:
                return string_field(f, out_.name);
            case kKind:
                return string_field(f, out_.kind);
            case kValue:
                value_key_ = true;
                return value();
            case kValueB64:
                value_key_ = true;
                return value_b64();
            case kExpires:
                return optional_field(f, out_.expires);
            case kDescription:
                return optional_field(f, out_.description);
            case kTags:
                return tags();
            case kFields:
                break;
        }
        return ok_status();
    }

    std::string field_label(Field f) const {
        return "field \"" + std::string(kFieldNames[f]) + '"';
    }

    // The JSON type of what starts at pos_, judged by its first bytes only: it is never read
    // further, so a mistyped value is not echoed. "" when no JSON value starts there.
    std::string_view found_type() const {
        const std::string_view rest = s_.substr(pos_);
        const char c = peek();
        if (c == '"') return "a string";
        if (c == '{') return "an object";
        if (c == '[') return "an array";
        if (c == '-' || (c >= '0' && c <= '9')) return "a number";
        if (rest.starts_with("true") || rest.starts_with("false")) return "a boolean";
        if (rest.starts_with("null")) return "null";
        return {};
    }

    Error wrong_type(const std::string& what, std::string_view want) const {
        const std::string_view found = found_type();
        if (found.empty()) return unexpected("a JSON value for " + what);
        return fail(what + " must be " + std::string(want) + ", not " + std::string(found));
    }

    Status string_field(Field f, std::string& into) {
        if (peek() != '"') return wrong_type(field_label(f), "a string");
        return read_string(into, field_label(f), SIZE_MAX);
    }

    Status optional_field(Field f, std::optional<std::string>& into) {
        if (s_.substr(pos_).starts_with("null")) {
            pos_ += 4;
            return ok_status();
        }
        if (peek() != '"') return wrong_type(field_label(f), "a string or null");
        into.emplace();
        return read_string(*into, field_label(f), SIZE_MAX);
    }

    // The raw string at pos_ (an opening quote): its length up to the closing quote, and
    // whether it holds any escape. Unterminated strings are left for read_string to report.
    std::pair<std::size_t, bool> raw_extent() const {
        bool escaped = false;
        std::size_t i = pos_ + 1;
        while (i < s_.size() && s_[i] != '"') {
            if (s_[i] == '\\') {
                escaped = true;
                ++i;
            }
            ++i;
        }
        return {std::min(i, s_.size()) - pos_ - 1, escaped};
    }

    Status value() {
        if (peek() != '"') return wrong_type(field_label(kValue), "a string");
        // Unescaping never lengthens a string, so one reservation avoids reallocations.
        out_.value.reserve(std::min(raw_extent().first, kMaxPlaintext));
        return read_string(out_.value, field_label(kValue), kMaxPlaintext);
    }

    Status value_b64() {
        const std::string what = field_label(kValueB64);
        if (peek() != '"') return wrong_type(what, "a string");
        const auto [raw_size, escaped] = raw_extent();
        const std::size_t start = pos_ + 1;
        SecretBytes unescaped;  // only when the text has escapes: it is as secret as the value
        std::string_view text;
        if (escaped) {
            unescaped.reserve(raw_size);
            KW_TRY_STATUS(read_string(unescaped, what, SIZE_MAX));
            text = {reinterpret_cast<const char*>(unescaped.data()), unescaped.size()};
        } else {
            Discard check;  // still refuses control characters and invalid UTF-8
            KW_TRY_STATUS(read_string(check, what, SIZE_MAX));
            text = s_.substr(start, raw_size);
        }
        if (base64_decoded_size(text) > kMaxPlaintext) {
            return Error(Errc::input_too_large, what + " decodes to more than 64 MiB");
        }
        if (auto bad = base64_decode(text, out_.value)) {
            return fail("invalid base64 in " + what + " at offset " + std::to_string(bad->offset) +
                        " of its text: " + std::string(base64_reason(bad->why)));
        }
        return ok_status();
    }

    Status tags() {
        if (s_.substr(pos_).starts_with("null")) {
            pos_ += 4;
            return ok_status();
        }
        if (peek() != '{') return wrong_type("field \"tags\"", "an object or null");
        ++pos_;
        skip_ws();
        if (peek() == '}') {
            ++pos_;
            return ok_status();
        }
        std::unordered_set<std::string> names;
        for (;;) {
            if (peek() != '"') {
                return unexpected(peek() == '}' ? "a tag name after the comma (a trailing "
                                                  "comma is not JSON)"
                                                : "a tag name (a string)");
            }
            const std::size_t key_at = pos_;
            std::string key;
            KW_TRY_STATUS(read_string(key, "a tag name", SIZE_MAX));
            skip_ws();
            if (peek() != ':') return unexpected("':' after a tag name");
            ++pos_;
            skip_ws();
            const std::string tag = label("tag", key, key_at);
            // Tags are flat: an object or array here is refused as a wrong type.
            if (peek() != '"') return wrong_type("the value of " + tag, "a string");
            std::string value;
            KW_TRY_STATUS(read_string(value, "the value of " + tag, SIZE_MAX));
            if (!names.insert(key).second) return fail(tag + " is given twice");
            out_.tags.emplace_back(std::move(key), std::move(value));
            skip_ws();
            if (peek() == '}') {
                ++pos_;
                return ok_status();
            }
            if (peek() != ',') return unexpected("',' or '}' in \"tags\"");
            ++pos_;
            skip_ws();
        }
    }

    // Reads the JSON string at pos_ (its opening quote) into out, unescaped, and leaves pos_
    // after the closing quote. More than `limit` bytes is Errc::input_too_large.
    template <typename Sink>
    Status read_string(Sink& out, const std::string& what, std::size_t limit) {
        ++pos_;
        for (;;) {
            // A run of plain ASCII is copied at once: the common case for a 64 MiB value.
            std::size_t run = pos_;
            while (run < s_.size()) {
                const auto c = static_cast<unsigned char>(s_[run]);
                if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
                ++run;
            }
            KW_TRY_STATUS(append(out, s_.substr(pos_, run - pos_), what, limit));
            pos_ = run;
            if (at_end()) return fail("the line ends inside " + what + " (no closing quote)");
            const auto c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return ok_status();
            }
            if (c < 0x20) {
                return fail("a raw control character in " + what + " at offset " +
                            std::to_string(pos_) + "; write it as an escape such as \\n");
            }
            if (c == '\\') {
                KW_TRY_STATUS(escape(out, what, limit));
                continue;
            }
            const std::size_t n = utf8_sequence_length(s_, pos_);
            if (n == 0) return fail_at("invalid UTF-8 in " + what, pos_);
            KW_TRY_STATUS(append(out, s_.substr(pos_, n), what, limit));
            pos_ += n;
        }
    }

    template <typename Sink>
    Status append(Sink& out, std::string_view bytes, const std::string& what, std::size_t limit) {
        if (bytes.size() > limit - size_of(out)) {
            return Error(Errc::input_too_large, what + " is larger than 64 MiB");
        }
        put(out, bytes);
        return ok_status();
    }

    // Four hex digits at i, or nothing.
    std::optional<std::uint32_t> hex4(std::size_t i) const {
        if (i + 4 > s_.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (std::size_t k = i; k < i + 4; ++k) {
            const char c = s_[k];
            const int d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0) return std::nullopt;
            v = v << 4 | static_cast<std::uint32_t>(d);
        }
        return v;
    }

    // The escape at pos_ (a backslash). The escaped character is never named in a message.
    template <typename Sink>
    Status escape(Sink& out, const std::string& what, std::size_t limit) {
        const std::size_t at = pos_;
        if (pos_ + 1 >= s_.size()) {
            return fail("the line ends inside " + what + " (no closing quote)");
        }
        const char letter = s_[pos_ + 1];
        if (const std::string_view byte = simple_escape(letter); !byte.empty()) {
            pos_ += 2;
            return append(out, byte, what, limit);
        }
        if (letter != 'u') return fail_at("invalid escape in " + what, at);
        auto cp = hex4(pos_ + 2);
        if (!cp) return fail_at("invalid \\u escape (four hex digits needed) in " + what, at);
        pos_ += 6;
        if (*cp >= 0xDC00 && *cp <= 0xDFFF) return fail_at("unpaired surrogate in " + what, at);
        if (*cp >= 0xD800 && *cp <= 0xDBFF) {
            const auto low = s_.substr(pos_).starts_with("\\u") ? hex4(pos_ + 2) : std::nullopt;
            if (!low || *low < 0xDC00 || *low > 0xDFFF) {
                return fail_at("unpaired surrogate in " + what, at);
            }
            cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
            pos_ += 6;
        }
        // At most four bytes, but they may be the value's: the scratch buffer is wiped.
        std::array<char, 4> utf8{};
        const std::size_t n = encode_utf8(*cp, utf8);
        Status st = append(out, std::string_view(utf8.data(), n), what, limit);
        secure_wipe(utf8.data(), utf8.size());
        return st;
    }
};

}  // namespace

Result<ImportLine> parse_import_line(std::string_view line) {
    return Parser(line).run();
}

}  // namespace keyward::cli
