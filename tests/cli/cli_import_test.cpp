// SPDX-License-Identifier: Apache-2.0
// import NS --jsonl F through the real binary: good lines land as versions, each bad line is
// refused and named with its number and reason, one summary document, and no value anywhere
// but the records.
#include <catch2/catch.hpp>

#include <fstream>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

namespace {

std::string write_file(const CliSetup& s, const std::string& name, const std::string& text) {
    const auto path = s.dir / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

}  // namespace

TEST_CASE("import stores the good lines, names the bad ones, and exits 1 when any was refused") {
    auto& s = CliSetup::shared();
    const std::string secret = "IMPORT-SECRET-5d1e";
    const std::string lines =
        R"({"name":"stripe","kind":"api_key","value":")" + secret +
        R"(","tags":{"env":"prod"},"description":"live key"})"
        "\n"
        "\n"  // blank lines are skipped, not refused
        R"({"name":"Bad Name","kind":"api_key","value":"x"})"
        "\n"
        R"({"name":"hook","kind":"webhook_secret","value_b64":"AAECAw=="})"
        "\n"
        R"({"name":"x","kind":"password","value":"y"})"
        "\n"
        "not json\n"
        R"({"name":"stripe","kind":"api_key","value":"second","expires":"2031-01-01"})"
        "\n"
        R"({"name":"y","kind":"api_key","value":"z","expire":"2031-01-01"})"
        "\n";
    const auto file = write_file(s, "import.jsonl", lines);
    auto r = s.kw.run({"--json", "import", "imp", "--jsonl", file, "--batch", "2"});
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("4 of 7 records were refused"));
    CHECK_THAT(r.out, Catch::StartsWith("{\"namespace\":\"imp\",\"stored\":3,\"refused\":4,"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":1,\"name\":\"stripe\",\"version\":1}"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":4,\"name\":\"hook\",\"version\":1}"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":7,\"name\":\"stripe\",\"version\":2}"));
    CHECK_THAT(r.out, Catch::Contains(
                          "{\"line\":3,\"name\":\"Bad Name\",\"error\":\"invalid record name"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":5,\"name\":\"x\",\"error\":\"unknown kind"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":6,\"error\":\"expected '{' at offset 0\"}"));
    CHECK_THAT(r.out, Catch::Contains("{\"line\":8,\"error\":\"unknown field at offset"));
    CHECK(r.out.find(secret) == std::string::npos);
    CHECK(r.err.find(secret) == std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);  // one document

    CHECK(s.kw.run({"get", "imp/stripe", "--version", "1"}).out == secret);
    CHECK(s.kw.run({"get", "imp/stripe"}).out == "second");
    CHECK(s.kw.run({"get", "imp/hook"}).out == std::string("\x00\x01\x02\x03", 4));
    auto show = s.kw.run({"show", "imp/stripe", "--json"});
    CHECK_THAT(show.out, Catch::Contains("\"tags\":{\"env\":\"prod\"}"));
    CHECK_THAT(show.out, Catch::Contains("\"expires_at\":\"2031-01-01T00:00:00Z\""));
    CHECK_THAT(s.kw.run({"versions", "imp/stripe", "--json"}).out,
               Catch::Contains("\"origin\":\"import\""));
    // The stored envelope opens outside the record API with the record context.
    auto env = s.kw.run({"get", "imp/stripe", "--envelope", "--version", "1"});
    CHECK(s.kw.run({"open", "--context", "record:imp/stripe#1"}, env.out).out == secret);

    // Text summary: counts and each refusal on stdout, one line on stderr.
    auto text = s.kw.run({"import", "imp2", "--jsonl", file});
    CHECK(text.exit_code == 1);
    CHECK_THAT(text.out, Catch::StartsWith("imported 3 records into imp2, refused 4\n"));
    CHECK_THAT(text.out, Catch::Contains("  line 6: expected '{' at offset 0\n"));
    CHECK(text.err.find("\r") == std::string::npos);  // no progress bar off a terminal
}

TEST_CASE("import: all good is exit 0; usage and file errors are one line") {
    auto& s = CliSetup::shared();
    std::string lines;
    for (int i = 0; i < 250; ++i) {
        lines += R"({"name":"n)" + std::to_string(i) + R"(","kind":"custom_secret","value":"v)" +
                 std::to_string(i) + "\"}\n";
    }
    const auto file = write_file(s, "many.jsonl", lines);
    auto r = s.kw.run({"import", "imp-many", "--jsonl", file, "--batch", "100"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "imported 250 records into imp-many, refused 0\n");
    CHECK(r.err.empty());
    CHECK(s.kw.run({"get", "imp-many/n249"}).out == "v249");
    // From stdin too.
    auto piped = s.kw.run({"import", "imp-stdin", "--jsonl", "-"},
                          R"({"name":"a","kind":"api_key","value":"b"})"
                          "\n");
    CHECK(piped.exit_code == 0);

    struct Case {
        std::vector<std::string> args;
        int exit;
        const char* says;
    };
    for (const auto& c : std::vector<Case>{
             {{"import", "imp-x"}, 2, "--jsonl"},
             {{"import", "Bad", "--jsonl", file}, 2, "invalid namespace"},
             {{"import", "imp-x", "--jsonl", "/nonexistent.jsonl"}, 4, "does not exist"},
             {{"import", "imp-x", "--jsonl", file, "--batch", "0"}, 2, "--batch"},
         }) {
        auto e = s.kw.run(c.args);
        INFO(c.args.back() << ": " << e.err);
        CHECK(e.exit_code == c.exit);
        CHECK(e.one_line_error());
        CHECK_THAT(e.err, Catch::Contains(c.says));
    }
}
