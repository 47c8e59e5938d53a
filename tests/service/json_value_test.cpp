// SPDX-License-Identifier: Apache-2.0
// keywardd's JSON reader: what RFC 8259 allows is read exactly, everything else is refused with
// the byte offset and never the text around it (a request body may carry a secret).
#include <catch2/catch.hpp>
#include <string>

#include "json_value.hpp"

using keyward::Errc;
using keyward::service::JsonLimits;
using keyward::service::JsonValue;
using keyward::service::parse_json;

namespace {

std::string text(const keyward::SecretString& s) {
    return std::string(s.data(), s.size());
}

}  // namespace

TEST_CASE("a Transit request body is read exactly") {
    auto v = parse_json(R"( {"plaintext":"aGk=","context":"Y3R4","key_version":2,)"
                        R"("batch_input":[{"plaintext":"YQ==","reference":"r\u00e9f"}],)"
                        R"("derived":false,"x":null,"n":-1.5e3} )");
    REQUIRE(v.ok());
    REQUIRE(v->type == JsonValue::Type::object);
    CHECK(v->members.size() == 7);
    CHECK(text(v->find("plaintext")->string) == "aGk=");
    CHECK(v->find("key_version")->integer() == 2);
    CHECK_FALSE(v->find("n")->integer().has_value());
    CHECK(v->find("n")->number == "-1.5e3");
    const JsonValue* batch = v->find("batch_input");
    REQUIRE(batch->type == JsonValue::Type::array);
    REQUIRE(batch->items.size() == 1);
    CHECK(text(batch->items[0].find("reference")->string) ==
          "r\xc3\xa9"
          "f");
    CHECK(v->find("derived")->type == JsonValue::Type::boolean);
    CHECK(v->find("x")->type == JsonValue::Type::null);
    CHECK(v->find("missing") == nullptr);
}

TEST_CASE("escapes and surrogate pairs decode to UTF-8") {
    auto v = parse_json(R"("a\"b\\c\/d\b\f\n\r\t\u0041\ud83d\ude00")");
    REQUIRE(v.ok());
    CHECK(text(v->string) == "a\"b\\c/d\b\f\n\r\tA\xf0\x9f\x98\x80");
}

TEST_CASE("malformed JSON is refused with its offset and never its text") {
    struct Case {
        const char* json;
        std::size_t offset;
        const char* says;
    };
    const Case cases[] = {
        {"", 0, "a value is missing"},
        {"{", 1, "expected a member name"},
        {"{\"a\":1,}", 7, "expected a member name"},
        {"{\"a\" 1}", 5, "expected ':'"},
        {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"},
        {"[1,2", 4, "expected ',' or ']'"},
        {"\"secret", 7, "unterminated string"},
        {"\"se\ncret\"", 3, "control character in a string"},
        {"\"\\x\"", 3, "unknown escape"},
        {"\"\\ud800\"", 7, "lone surrogate"},
        {"\"\\udc00\"", 7, "lone surrogate"},
        {"01", 1, "unexpected data after the JSON value"},
        {"1.", 2, "bad number"},
        {"-", 1, "bad number"},
        {"tru", 0, "not a JSON value"},
        {"{\"a\":1,\"a\":2}", 10, "duplicate member \"a\""},
        {"{} {}", 3, "unexpected data after the JSON value"},
    };
    for (const auto& c : cases) {
        INFO("json: " << c.json);
        auto v = parse_json(c.json);
        REQUIRE_FALSE(v.ok());
        CHECK(v.error().code() == Errc::bad_input);
        CHECK(v.error().message() ==
              "malformed JSON at byte " + std::to_string(c.offset) + ": " + c.says);
        CHECK(v.error().message().find("secret") == std::string::npos);
    }
}

TEST_CASE("depth and item counts are bounded") {
    std::string deep(17, '[');
    deep += std::string(17, ']');
    auto v = parse_json(deep);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().message().find("nested too deeply") != std::string::npos);
    CHECK(parse_json(std::string(16, '[') + std::string(16, ']')).ok());

    JsonLimits limits;
    limits.max_items = 3;
    CHECK(parse_json("[1,2,3]", limits).ok());
    auto many = parse_json("[1,2,3,4]", limits);
    REQUIRE_FALSE(many.ok());
    CHECK(many.error().message() == "malformed JSON at byte 7: too many values");

    JsonLimits members;
    members.max_members = 2;
    CHECK(parse_json("{\"a\":1,\"b\":2}", members).ok());
    auto wide = parse_json("{\"a\":1,\"b\":2,\"c\":3}", members);
    REQUIRE_FALSE(wide.ok());
    CHECK(wide.error().message() == "malformed JSON at byte 16: too many members");
}
