// A small strict JSON reader (RFC 8259) for test inputs such as the Wycheproof vector files.
// Test-only: it throws std::runtime_error on malformed input or on a wrong-type access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keyward::test {

class Json {
  public:
    enum class Kind { null, boolean, number, string, array, object };

    /// Parses a whole document; trailing non-whitespace is an error.
    static Json parse(std::string_view text);

    Kind kind() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == Kind::null; }

    bool as_bool() const;
    double as_double() const;
    /// The number as an integer; throws when it has a fraction or exponent or does not fit.
    std::int64_t as_int() const;
    const std::string& as_string() const;
    const std::vector<Json>& as_array() const;

    /// Object members in document order.
    const std::vector<std::string>& keys() const;
    bool contains(std::string_view key) const;
    /// Member by name; throws when absent (or when this is not an object).
    const Json& operator[](std::string_view key) const;
    /// Array element; throws when out of range.
    const Json& operator[](std::size_t index) const;
    std::size_t size() const;  // array elements or object members

  private:
    friend class JsonParser;
    Kind kind_ = Kind::null;
    bool bool_ = false;
    std::string text_;         // string value, or the number's literal text
    std::vector<Json> items_;  // array elements, or object values (parallel to keys_)
    std::vector<std::string> keys_;
};

}  // namespace keyward::test
