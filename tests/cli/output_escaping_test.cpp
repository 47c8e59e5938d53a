// SPDX-License-Identifier: Apache-2.0
// Escaping of user-controlled text on its way out (issue 9, item 11): text for a terminal
// shows controls as \xNN, JSON escapes them as RFC 8259 requires and is always UTF-8.
#include <catch2/catch.hpp>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/terminal_text.hpp"
#include "keyward/json.hpp"

using keyward::cli::escape_controls;
using keyward::cli::escape_controls_keep_lines;

namespace {

std::string json_string(std::string_view s) {
    keyward::Json j;
    j.value(s);
    return std::string(j.str());
}

}  // namespace

TEST_CASE("text output shows every control character as \\xNN and leaves text alone", "[escape]") {
    const std::pair<std::string, std::string> cases[] = {
        {"wallets/a", "wallets/a"},
        {"\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"},
        {"a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"},
        {std::string("nul\0end", 7), "nul\\x00end"},
        {"del\x7f", "del\\x7f"},
        {"csi\xc2\x9b"
         "31m",
         "csi\\xc2\\x9b31m"},  // U+009B, C1 CSI
        {"osc\xc2\x9d"
         "0;t\xc2\x9c",
         "osc\\xc2\\x9d0;t\\xc2\\x9c"},  // U+009D OSC, U+009C ST
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xc2\xa0nbsp", "\xc2\xa0nbsp"},            // U+00A0 is printable
        {"bad\xff", "bad\\xff"},                     // not UTF-8
        {"\xc0\x80", "\\xc0\\x80"},                  // overlong NUL
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},         // a surrogate
        {"cut\xe2\x82", "cut\\xe2\\x82"},            // a sequence cut short
        {"back\\slash \"q\"", "back\\slash \"q\""},  // printable: unchanged
    };
    for (const auto& [in, out] : cases) {
        CAPTURE(in);
        CHECK(escape_controls(in) == out);
    }
}

TEST_CASE("a document keeps its line breaks, and escaped text passes through unchanged",
          "[escape]") {
    CHECK(escape_controls_keep_lines("a\x1b[2J\nb\r\n") == "a\\x1b[2J\nb\\x0d\n");
    const std::string once = escape_controls("x\x1b\ny");
    CHECK(escape_controls_keep_lines(once + "\n") == once + "\n");
}

TEST_CASE("JSON strings escape what RFC 8259 requires, and C1 controls and DEL too", "[escape]") {
    CHECK(json_string("q\" b\\ \n\r\t") == R"("q\" b\\ \n\r\t")");
    CHECK(json_string("\x1b]0;pwned\x07") == R"("\u001b]0;pwned\u0007")");
    CHECK(json_string(std::string("\0\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
    CHECK(json_string("del\x7f") == R"("del\u007f")");
    CHECK(json_string("csi\xc2\x9b"
                      "31m") == R"("csi\u009b31m")");
    CHECK(json_string("caf\xc3\xa9 \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    CHECK(json_string("\x7e/") == R"("~/")");
}

TEST_CASE("JSON output is UTF-8 whatever bytes a value holds", "[escape]") {
    CHECK(json_string("bad\xff") == R"("bad\ufffd")");
    CHECK(json_string("\xc0\x80|\xed\xa0\x80|\xe2\x82") ==
          R"("\ufffd\ufffd|\ufffd\ufffd\ufffd|\ufffd\ufffd")");
    // Every byte string gives a document a strict reader accepts, and controls come back.
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    const auto doc = json_string(all);
    for (unsigned char c : doc) {
        CHECK(c >= 0x20);
        CHECK(c != 0x7f);
    }
    const auto back = nlohmann::json::parse(doc).get<std::string>();
    CHECK(back.substr(0, 128) == all.substr(0, 128));
}
