// Tests of the test-only JSON reader that loads the Wycheproof files, so that a reader bug
// cannot silently turn into "zero vectors run".
#include "crypto/json_reader.hpp"
#include "crypto/crypto_test_helpers.hpp"

using keyward::test::Json;

TEST_CASE("the JSON reader parses objects, arrays, strings, numbers, booleans and null", "[json]") {
    const Json doc = Json::parse(R"( {"a": [1, -2.5e3, true, false, null, "x"],
        "b": {"c": "d"}, "empty": {}, "list": [] } )");
    REQUIRE(doc.kind() == Json::Kind::object);
    CHECK(doc.keys() == std::vector<std::string>{"a", "b", "empty", "list"});
    const Json& a = doc["a"];
    REQUIRE(a.size() == 6);
    CHECK(a[0].as_int() == 1);
    CHECK(a[1].as_double() == -2500.0);
    CHECK(a[2].as_bool());
    CHECK_FALSE(a[3].as_bool());
    CHECK(a[4].is_null());
    CHECK(a[5].as_string() == "x");
    CHECK(doc["b"]["c"].as_string() == "d");
    CHECK(doc["empty"].size() == 0);
    CHECK(doc["list"].as_array().empty());
    CHECK(doc.contains("b"));
    CHECK_FALSE(doc.contains("z"));
}

TEST_CASE("the JSON reader decodes every string escape to UTF-8", "[json]") {
    const Json s = Json::parse(R"("q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20ac\ud83d\ude00")");
    CHECK(s.as_string() == "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST_CASE("the JSON reader rejects malformed documents", "[json]") {
    for (const char* bad :
         {"",    "{",     "[1,]",      "{\"a\":1,}", "{a:1}",       "01",          "1.",
          "-",   "+1",    "\"abc",     "\"\\x\"",    "\"\\ud800\"", "\"\\udc00\"", "tru",
          "nul", "[1 2]", "{\"a\" 1}", "1 2",        "\"a\tb\"",    "'a'",         "[1]]"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(Json::parse(bad), std::runtime_error);
    }
    // Deep nesting is refused rather than overflowing the stack.
    CHECK_THROWS_AS(Json::parse(std::string(100000, '[')), std::runtime_error);
}

TEST_CASE("the JSON reader throws on wrong-type access and missing members", "[json]") {
    const Json doc = Json::parse(R"({"n": 1.5, "s": "x"})");
    CHECK_THROWS_AS(doc["n"].as_int(), std::runtime_error);
    CHECK_THROWS_AS(doc["s"].as_int(), std::runtime_error);
    CHECK_THROWS_AS(doc["missing"], std::runtime_error);
    CHECK_THROWS_AS(doc["s"][0], std::runtime_error);
    CHECK(Json::parse("9007199254740993").as_int() == 9007199254740993);
}
