// SPDX-License-Identifier: Apache-2.0
// One `keyward import --jsonl` line: exact decoded values, and each malformed line refused with
// Errc::bad_input (or input_too_large), a one-line message, and never a piece of the value.
#include <catch2/catch.hpp>

#include <botan/base64.h>

#include <string>
#include <vector>

#include "cli/import_line.hpp"
#include "keyward/types.hpp"
#include "support/catch_errc.hpp"

using namespace keyward;
using keyward::cli::parse_import_line;

namespace {

SecretBytes secret(std::string_view s) {
    return SecretBytes(s.begin(), s.end());
}

std::string b64(std::string_view raw) {
    return Botan::base64_encode(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

// A line with the value given as JSON text (already escaped) and extra members after it.
std::string line_with(std::string_view value_json, std::string_view more = "") {
    return R"({"name":"n","kind":"api_key","value":)" + std::string(value_json) +
           std::string(more) + "}";
}

Errc code_of(const Result<cli::ImportLine>& r) {
    return r.ok() ? Errc::ok : r.error().code();
}

}  // namespace

TEST_CASE("a minimal line gives name, kind and value; the rest absent") {
    auto r = parse_import_line(R"({"name":"wallets/a","kind":"wallet","value":"seed"})");
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->name == "wallets/a");
    CHECK(r->kind == "wallet");
    CHECK(r->value == secret("seed"));
    CHECK_FALSE(r->expires.has_value());
    CHECK_FALSE(r->description.has_value());
    CHECK(r->tags.empty());
}

TEST_CASE("every field, whitespace between tokens, a trailing CR, and tags in document order") {
    const std::string line =
        " \t{ \"tags\" : { \"z\" : \"1\" , \"a\" : \"2\", \"m\":\"\" } ,\n"
        "\"description\":\"main key\", \"expires\" : \"2030-01-01T00:00:00Z\",\r"
        "\"kind\":\"api_key\",\"value\":\"v\",\"name\":\"ns/x\" } \t\r";
    auto r = parse_import_line(line);
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->name == "ns/x");
    CHECK(r->kind == "api_key");
    CHECK(r->value == secret("v"));
    CHECK(r->expires == "2030-01-01T00:00:00Z");
    CHECK(r->description == "main key");
    const std::vector<std::pair<std::string, std::string>> tags{{"z", "1"}, {"a", "2"}, {"m", ""}};
    CHECK(r->tags == tags);
}

TEST_CASE("null stands for an absent expires, description or tags") {
    auto r =
        parse_import_line(line_with(R"("v")", R"(,"expires":null,"description":null,"tags":null)"));
    REQUIRE(code_of(r) == Errc::ok);
    CHECK_FALSE(r->expires.has_value());
    CHECK_FALSE(r->description.has_value());
    CHECK(r->tags.empty());
    auto empty = parse_import_line(line_with(R"("v")", R"(,"description":"","tags":{})"));
    REQUIRE(code_of(empty) == Errc::ok);
    CHECK(empty->description == "");
}

TEST_CASE("escapes in the value decode to exact bytes") {
    const std::pair<std::string, std::string> cases[] = {
        {R"("a\nb")", "a\nb"},
        {R"("\"")", "\""},
        {R"("\\")", "\\"},
        {R"("\/")", "/"},
        {R"("\b\f\r\t")", "\b\f\r\t"},
        {R"("\u00e9")", "\xC3\xA9"},
        {R"("\u00E9")", "\xC3\xA9"},
        {R"("\u0041\u07ff\u0800\uffff")", "A\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"},
        {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},
        {R"("\udbff\udfff")", "\xF4\x8F\xBF\xBF"},
        {R"("\u0000")", std::string(1, '\0')},
        {R"("x\\ny")", "x\\ny"},
        {"\"\xC3\xA9\xF0\x9F\x98\x80\"", "\xC3\xA9\xF0\x9F\x98\x80"},  // raw UTF-8 kept as is
        {R"("")", ""},
    };
    for (const auto& [json, bytes] : cases) {
        CAPTURE(json);
        auto r = parse_import_line(line_with(json));
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->value == secret(bytes));
    }
    // Escapes work the same in the other strings.
    auto r = parse_import_line(
        R"({"name":"a\/b","kind":"k","value":"v","tags":{"\u0065nv":"caf\u00e9"}})");
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->name == "a/b");
    CHECK(r->tags.at(0) == std::pair<std::string, std::string>{"env", "caf\xC3\xA9"});
}

TEST_CASE("value_b64 decodes to exact bytes, every length and every byte") {
    auto empty = parse_import_line(R"({"name":"n","kind":"k","value_b64":""})");
    REQUIRE(code_of(empty) == Errc::ok);
    CHECK(empty->value.empty());
    for (std::size_t len = 1; len <= 40; ++len) {
        std::string raw;
        for (std::size_t i = 0; i < len; ++i) raw.push_back(static_cast<char>(i * 37 + len * 11));
        CAPTURE(len);
        auto r = parse_import_line(R"({"name":"n","kind":"k","value_b64":")" + b64(raw) + "\"}");
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->value == secret(raw));
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    auto r = parse_import_line(R"({"value_b64":")" + b64(all) + R"(","name":"n","kind":"k"})");
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->value == secret(all));
    // JSON escapes inside the base64 text are unescaped first: \u0051 is 'Q', \/ is '/'.
    auto esc = parse_import_line(R"({"name":"n","kind":"k","value_b64":"\u0051UJD\/w=="})");
    REQUIRE(code_of(esc) == Errc::ok);
    CHECK(esc->value == secret("ABC\xFF"));
}

TEST_CASE("malformed lines are bad_input with a message that names the problem") {
    const std::string head = R"({"name":"n","kind":"k",)";
    const std::pair<std::string, std::string> bad[] = {
        {"", "empty line"},
        {"\r", "empty line"},
        {"  \t ", "empty line"},
        {"\xEF\xBB\xBF{}", "byte order mark"},
        {R"(["n"])", "expected a JSON object, not an array, at offset 0"},
        {"x", "expected '{' at offset 0"},
        {R"({"name":"n")", "the line ends where ',' or '}' is expected"},
        {R"({"name")", "the line ends where ':' after a field name is expected"},
        {R"({"name":"n)", "the line ends inside field \"name\" (no closing quote)"},
        {R"({"name":"n"} x)", "text after the closing brace at offset 13"},
        {R"({"name":"n"}{})", "text after the closing brace at offset 12"},
        {R"({"name":"n",})", "expected a field name after the comma (a trailing comma"},
        {R"({name:"n"})", "expected a field name (a string) at offset 1"},
        {R"({'name':'n'})", "expected a field name (a string) at offset 1"},
        {R"({"name" "n"})", "expected ':' after a field name at offset 8"},
        {R"({"name":"n";"kind":"k"})", "expected ',' or '}' at offset 11"},
        {R"({})", "field \"name\" is missing"},
        {R"({"name":"n"})", "field \"kind\" is missing"},
        {R"({"name":"n","kind":"k"})", "neither \"value\" nor \"value_b64\" is given; give one"},
        {head + R"("value":"a","value_b64":"YQ=="})",
         "\"value\" and \"value_b64\" are both given; give one"},
        {head + R"("value_b64":"YQ==","value":"a"})",
         "\"value\" and \"value_b64\" are both given; give one"},
        {R"({"expire":"2030","name":"n","kind":"k","value":"v"})",
         "unknown field \"expire\" (did you mean \"expires\"?)"},
        {R"({"colour":"red","name":"n","kind":"k","value":"v"})",
         "unknown field \"colour\"; the fields are name, kind, value or value_b64"},
        {R"({"Name":"n"})", "unknown field \"Name\" (did you mean \"name\"?)"},
        {R"({"name":"n","name":"m"})", "field \"name\" is given twice"},
        {head + R"("value":"v","value":"w"})", "field \"value\" is given twice"},
        {R"({"name":1})", "field \"name\" must be a string, not a number"},
        {R"({"name":"n","kind":-1})", "field \"kind\" must be a string, not a number"},
        {R"({"name":"n","kind":true})", "field \"kind\" must be a string, not a boolean"},
        {R"({"name":"n","kind":null})", "field \"kind\" must be a string, not null"},
        {head + R"("value":{"a":"b"}})", "field \"value\" must be a string, not an object"},
        {head + R"("value":["a"]})", "field \"value\" must be a string, not an array"},
        {head + R"("value_b64":null})", "field \"value_b64\" must be a string, not null"},
        {head + R"("value":bogus})", "expected a JSON value for field \"value\" at offset 31"},
        {head + R"("expires":5,"value":"v"})",
         "field \"expires\" must be a string or null, not a number"},
        {head + R"("description":[],"value":"v"})",
         "field \"description\" must be a string or null, not an array"},
        {head + R"("tags":"a=b","value":"v"})",
         "field \"tags\" must be an object or null, not a string"},
        {head + R"("tags":["a"],"value":"v"})",
         "field \"tags\" must be an object or null, not an array"},
        {head + R"("tags":{"a":{"b":"c"}},"value":"v"})",
         "the value of tag \"a\" must be a string, not an object"},
        {head + R"("tags":{"a":["b"]},"value":"v"})",
         "the value of tag \"a\" must be a string, not an array"},
        {head + R"("tags":{"a":1},"value":"v"})",
         "the value of tag \"a\" must be a string, not a number"},
        {head + R"("tags":{"a":"1","a":"2"},"value":"v"})", "tag \"a\" is given twice"},
        {head + R"("tags":{"a":"1",},"value":"v"})", "a tag name after the comma"},
        {head + R"("tags":{"a":"1"},"tags":{},"value":"v"})", "field \"tags\" is given twice"},
        {head + R"("value":"a\qb"})", "invalid escape in field \"value\" at offset 33"},
        {head + R"("value":"a\x41"})", "invalid escape in field \"value\" at offset 33"},
        {head + R"("value":"\u12G4"})", "invalid \\u escape (four hex digits needed) in field"},
        {head + R"("value":"\u12"})", "invalid \\u escape"},
        {head + R"("value":"\ud83d"})", "unpaired surrogate in field \"value\" at offset 32"},
        {head + R"("value":"\ud83dx"})", "unpaired surrogate in field \"value\" at offset 32"},
        {head + R"("value":"\ud83d\u0041"})", "unpaired surrogate in field \"value\""},
        {head + R"("value":"\ud83d\ud83d"})", "unpaired surrogate in field \"value\""},
        {head + R"("value":"\ude00"})", "unpaired surrogate in field \"value\" at offset 32"},
        {head + "\"value\":\"a\tb\"}", "a raw control character in field \"value\" at offset 33"},
        {head + "\"value\":\"a\nb\"}", "a raw control character in field \"value\""},
        {head + std::string("\"value\":\"a\0b\"}", 14), "a raw control character in field"},
        {head + "\"value\":\"a\x7F\"}", ""},  // DEL is allowed by RFC 8259: see below
        {head + "\"value\":\"a\xFF\"}", "invalid UTF-8 in field \"value\" at offset 33"},
        {head + "\"value\":\"\xC3\"}", "invalid UTF-8 in field \"value\" at offset 32"},
        {head + "\"value\":\"\xC0\xAF\"}", "invalid UTF-8"},          // overlong '/'
        {head + "\"value\":\"\xED\xA0\x80\"}", "invalid UTF-8"},      // encoded surrogate
        {head + "\"value\":\"\xF4\x90\x80\x80\"}", "invalid UTF-8"},  // above U+10FFFF
        {head + "\"value\":\"\x80\"}", "invalid UTF-8"},              // lone continuation
        {"{\"name\":\"\xFF\"}", "invalid UTF-8 in field \"name\" at offset 9"},
        {"{\xFF}", "invalid UTF-8 at offset 1"},
        {R"({"name":"n","kind":"k","value":"v"}\)", "text after the closing brace"},
        {head + R"("value_b64":"QUJD\n"})", "invalid base64 in field \"value_b64\" at offset 4"},
        {head + R"("value_b64":"QU JD"})", "at offset 2 of its text: whitespace"},
        {head + R"("value_b64":"QUJ-"})", "at offset 3 of its text: URL-safe"},
        {head + R"("value_b64":"QUJ_"})", "at offset 3 of its text: URL-safe"},
        {head + R"("value_b64":"QUI"})", "at offset 3 of its text: length is not a multiple"},
        {head + R"("value_b64":"QQ="})", "at offset 3 of its text: length is not"},
        {head + R"("value_b64":"Q=QQ"})", "at offset 1 of its text: padding '=' before"},
        {head + R"("value_b64":"QQ==QUJD"})", "at offset 2 of its text: padding"},
        {head + R"("value_b64":"QR=="})", "at offset 1 of its text: non-canonical"},
        {head + R"("value_b64":"QUK="})", "at offset 2 of its text: non-canonical"},
        {head + R"("value_b64":"QU.D"})", "at offset 2 of its text: a character outside"},
    };
    for (const auto& [line, says] : bad) {
        CAPTURE(line);
        auto r = parse_import_line(line);
        if (says.empty()) {
            CHECK(code_of(r) == Errc::ok);
            continue;
        }
        REQUIRE(code_of(r) == Errc::bad_input);
        CHECK_THAT(r.error().message(), Catch::Contains(says));
        CHECK(r.error().message().find('\n') == std::string::npos);
        CHECK(exit_code(r.error().code()) == 1);
    }
}

TEST_CASE("no error message carries any part of the value") {
    const std::string v = R"("value":"SECRETSECRET")";
    const std::string vb = R"("value_b64":")" + b64("SECRETSECRET") + "\"";
    const std::string lines[] = {
        R"({"name":"n","kind":"k",)" + v + R"(,"value":"x"})",
        R"({"name":"n","kind":"k",)" + v + R"(,"value_b64":"eA=="})",
        R"({"name":"n",)" + v + "}",
        R"({"kind":"k",)" + v + "}",
        R"({"name":"n","kind":"k",)" + v + R"(,"expires":1})",
        R"({"name":"n","kind":"k",)" + v + R"(,"bogus":"x"})",
        R"({"name":"n","kind":"k",)" + v + R"(} trailing)",
        R"({"name":"n","kind":"k",)" + v + R"(,"tags":{"a":"1","a":"2"}})",
        R"({"name":"n","kind":"k",)" + v,
        // A stray quote in the value turns its pieces into keys; they are not quoted back.
        R"({"name":"n","kind":"k","value":"SECRET","SECRETSECRET":"x"})",
        R"({"name":"n","kind":"k","value":"SECRET","expires":"x","SECRETSECRET":"y"})",
        R"({"name":"n","kind":"k","value":"x","tags":{"SECRET":"1","SECRET":"2"}})",
        R"({"name":"n","kind":"k","value":"x","tags":{"SECRET":{}}})",
        R"({"name":"n","kind":"k","value":SECRETSECRET})",
        R"({"name":"n","kind":"k","value":"SECRET\qSECRET"})",
        R"({"name":"n","kind":"k","value":"SECRET\ud800SECRET"})",
        "{\"name\":\"n\",\"kind\":\"k\",\"value\":\"SECRET\xFFSECRET\"}",
        "{\"name\":\"n\",\"kind\":\"k\",\"value\":\"SECRET\x01SECRET\"}",
        R"({"name":"n","kind":"k","value":"SECRETSECRET)",
        R"({"name":"n","kind":"k",)" + vb + R"(,"value":"x"})",
        R"({"name":"n","kind":"k",)" + vb + "}x",
        R"({"name":"n","kind":"k","value_b64":"U0VDUkVUU0VDUkVU-"})",
        R"({"name":"n","kind":"k","value_b64":"U0VDUkVUU0VDUkVUQR=="})",
    };
    for (const auto& line : lines) {
        CAPTURE(line);
        auto r = parse_import_line(line);
        REQUIRE(code_of(r) == Errc::bad_input);
        CAPTURE(r.error().message());
        CHECK(r.error().message().find("SECRET") == std::string::npos);
        CHECK(r.error().message().find("U0VD") == std::string::npos);
    }
}

TEST_CASE("a value over 64 MiB is input_too_large, in either form; 64 MiB exactly is accepted") {
    std::string raw(kMaxPlaintext, 'a');
    auto at_limit = parse_import_line(line_with("\"" + raw + "\""));
    REQUIRE(code_of(at_limit) == Errc::ok);
    CHECK(at_limit->value.size() == kMaxPlaintext);
    at_limit = parse_import_line(line_with("\"" + raw + "b\""));
    CHECK(code_of(at_limit) == Errc::input_too_large);
    // Escapes count as the bytes they stand for.
    at_limit = parse_import_line(line_with("\"" + raw + "\\n\""));
    CHECK(code_of(at_limit) == Errc::input_too_large);

    const std::string head = R"({"name":"n","kind":"k","value_b64":")";
    auto b = parse_import_line(head + b64(raw) + "\"}");
    REQUIRE(code_of(b) == Errc::ok);
    CHECK(b->value.size() == kMaxPlaintext);
    raw.push_back('a');
    b = parse_import_line(head + b64(raw) + "\"}");
    CHECK(code_of(b) == Errc::input_too_large);
    CHECK_THAT(b.error().message(), Catch::Contains("64 MiB"));
}

TEST_CASE("bad_input is an exit 1 failure with a stable name") {
    CHECK(exit_code(Errc::bad_input) == 1);
    CHECK(errc_name(Errc::bad_input) == "bad_input");
}
