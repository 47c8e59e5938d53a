// SPDX-License-Identifier: Apache-2.0
// seal, open, rewrap and datakey through the real binary: round trips, forms, and every
// malformed, tampered, truncated, oversized or mismatched input with its exit code.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

namespace {

std::string seal(CliSetup& s, const std::string& ring, const std::string& pt,
                 const std::string& ctx = "") {
    std::vector<std::string> args = {"seal", "--keyring", ring};
    if (!ctx.empty()) args.insert(args.end(), {"--context", ctx});
    auto r = s.kw.run(args, pt);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.err.empty());
    return r.out;
}

std::string with_byte(std::string s, std::size_t i, unsigned char v) {
    s[i] = static_cast<char>(v);
    return s;
}

}  // namespace

TEST_CASE("seal and open round-trip binary and text forms on both suites") {
    auto& s = CliSetup::shared();
    for (const char* ring : {"k1", "k2"}) {
        std::string pt = std::string("wallet seed \0 with nul", 22);
        auto env = seal(s, ring, pt, "user:1");
        CHECK(env.substr(0, 4) == "KWE\x01");
        auto opened = s.kw.run({"open", "--context", "user:1"}, env);
        REQUIRE(opened.exit_code == 0);
        CHECK(opened.out == pt);

        auto text = s.kw.run({"seal", "--keyring", ring, "--text"}, pt);
        REQUIRE(text.exit_code == 0);
        CHECK_THAT(text.out, Catch::StartsWith("kwe1:"));
        CHECK(text.out.back() == '\n');
        CHECK(text.out.find('\n') == text.out.size() - 1);
        CHECK(s.kw.run({"open"}, text.out).out == pt);
        std::string crlf = text.out.substr(0, text.out.size() - 1) + "\r\n";
        CHECK(s.kw.run({"open"}, crlf).out == pt);
        std::string bare = text.out.substr(0, text.out.size() - 1);
        CHECK(s.kw.run({"open"}, bare).out == pt);
    }
}

TEST_CASE("seal and open use --in and --out files, written whole with mode 0600") {
    auto& s = CliSetup::shared();
    auto dir = fresh_dir("cli-files");
    auto in = dir / "plain";
    {
        std::FILE* f = std::fopen(in.c_str(), "wb");
        std::fputs("file payload", f);
        std::fclose(f);
    }
    auto sealed =
        s.kw.run({"seal", "--keyring", "k1", "--in", in.string(), "--out", (dir / "env").string()});
    REQUIRE(sealed.exit_code == 0);
    CHECK(sealed.out.empty());
    auto opened =
        s.kw.run({"open", "--in", (dir / "env").string(), "--out", (dir / "back").string()});
    REQUIRE(opened.exit_code == 0);
    CHECK(read_file(dir / "back") == "file payload");
    struct stat st {};
    REQUIRE(::stat((dir / "back").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    REQUIRE(::stat((dir / "env").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto missing = s.kw.run({"seal", "--keyring", "k1", "--in", (dir / "nope").string()});
    expect_refused(missing, 4, "does not exist");
}

TEST_CASE("a failed open writes no output file and no plaintext") {
    auto& s = CliSetup::shared();
    auto dir = fresh_dir("cli-nofile");
    auto env = seal(s, "k1", "never shown", "a");
    auto r = s.kw.run({"open", "--context", "b", "--out", (dir / "out").string()}, env);
    expect_refused(r, 3, "authentication failed");
    CHECK_FALSE(std::filesystem::exists(dir / "out"));
    CHECK(r.err.find("never shown") == std::string::npos);
}

TEST_CASE("a wrong context and a tampered byte anywhere give exit 3 and no output") {
    auto& s = CliSetup::shared();
    auto env = seal(s, "k1", "secret value", "ctx");
    expect_refused(s.kw.run({"open", "--context", "other"}, env), 3, "authentication failed");
    expect_refused(s.kw.run({"open"}, env), 3, "authentication failed");
    // The wrapped DEK, nonce, ciphertext and tag: every position.
    const std::size_t header = 4 + 1 + 1 + 2 + 4 + 2;
    for (std::size_t i = header; i < env.size(); ++i) {
        INFO("byte " << i);
        expect_refused(s.kw.run({"open", "--context", "ctx"},
                                with_byte(env, i, static_cast<unsigned char>(env[i]) ^ 0x01)),
                       3, "authentication failed");
    }
}

TEST_CASE("every envelope reader rule gives its own message and exit 3") {
    auto& s = CliSetup::shared();
    const auto env = seal(s, "k1", "x");
    // Layout for keyring "k1": magic 0-3, suite 4, n 5, keyring 6-7, version 8-11, w 12-13.
    struct Case {
        std::string input;
        const char* says;
    };
    for (const auto& c : std::vector<Case>{
             {with_byte(env, 0, 'X'), "not a keyward envelope"},
             {with_byte(env, 3, 0x02), "format version"},
             {with_byte(env, 4, 0x03), "suite"},
             {with_byte(env, 5, 0x00), "keyring length"},
             {with_byte(env, 5, 65), "keyring length"},
             {with_byte(env, 6, 'K'), "keyring"},
             {with_byte(env.substr(0, 8) + std::string(4, '\0') + env.substr(12), 0, 'K'),
              "version"},
             {with_byte(env, 13, 41), "wrapped"},
             {env.substr(0, 20), "truncated"},
             {env.substr(0, 14 + 40 + 12 + 15), "short"},
         }) {
        auto r = s.kw.run({"open"}, c.input);
        INFO(c.says << ": " << r.err);
        CHECK(r.exit_code == 3);
        CHECK(r.one_line_error());
        CHECK_THAT(r.err, Catch::Contains(c.says, Catch::CaseSensitive::No));
        CHECK(r.out.empty());
    }
}

TEST_CASE("an envelope truncated at every length is refused with exit 3") {
    auto& s = CliSetup::shared();
    const auto env = seal(s, "k1", "");
    for (std::size_t len = 0; len < env.size(); ++len) {
        auto r = s.kw.run({"open"}, env.substr(0, len));
        INFO("length " << len << ": " << r.err);
        CHECK(r.exit_code == 3);
        CHECK(r.one_line_error());
        CHECK(r.out.empty());
    }
}

TEST_CASE("malformed text forms are refused with exit 3") {
    auto& s = CliSetup::shared();
    auto text = s.kw.run({"seal", "--keyring", "k1", "--text"}, "t").out;
    std::string body = text.substr(5, text.size() - 6);
    for (const auto& bad : std::vector<std::string>{
             "KWE1:" + body, "kwe1: " + body, "kwe1:" + body + "\n\n", "kwe1:" + body + " ",
             "kwe1:" + body.substr(0, body.size() - 1), "kwe1:" + body + "=",
             "kwe1:" + body.substr(0, 10) + "\n" + body.substr(10), "kwe2:" + body,
             "kwe1:" + with_byte(body, 3, '-'), "kwe1:", "kwe1:\n"}) {
        auto r = s.kw.run({"open"}, bad);
        INFO(bad);
        CHECK(r.exit_code == 3);
        CHECK(r.one_line_error());
        CHECK(r.out.empty());
    }
}

TEST_CASE("oversized input is refused before any work with exit 1") {
    auto& s = CliSetup::shared();
    std::string big(64u * 1024u * 1024u + 1u, 'a');
    expect_refused(s.kw.run({"seal", "--keyring", "k1"}, big), 1, "larger than");
}

TEST_CASE("seal to an unknown keyring is exit 4, a missing --keyring exit 2") {
    auto& s = CliSetup::shared();
    expect_refused(s.kw.run({"seal", "--keyring", "nope"}, "x"), 4, "does not exist");
    expect_refused(s.kw.run({"seal"}, "x"), 2, "--keyring");
}

TEST_CASE("rewrap keeps the form: text in, text out; binary in, binary out") {
    auto& s = CliSetup::shared();
    auto text = s.kw.run({"seal", "--keyring", "k1", "--text"}, "r").out;
    auto rt = s.kw.run({"rewrap"}, text);
    REQUIRE(rt.exit_code == 0);
    CHECK(rt.out == text);  // already under the active version
    auto bin = seal(s, "k2", "r");
    auto rb = s.kw.run({"rewrap"}, bin);
    REQUIRE(rb.exit_code == 0);
    CHECK(rb.out == bin);
    expect_refused(s.kw.run({"rewrap"}, "garbage"), 3, "not a keyward envelope");
}

TEST_CASE("datakey writes the raw key privately and a kwk1 blob that rewraps") {
    auto& s = CliSetup::shared();
    auto dir = fresh_dir("cli-datakey");
    auto r = s.kw.run(
        {"datakey", "--keyring", "k1", "--bytes", "48", "--out-key", (dir / "key").string()});
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("kwk1:"));
    CHECK(r.out.back() == '\n');
    CHECK(read_file(dir / "key").size() == 48);
    struct stat st {};
    ::stat((dir / "key").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
    auto blob = unbase64(r.out.substr(5, r.out.size() - 6));
    CHECK(blob.size() == 4 + 1 + 1 + 2 + 4 + 2 + 56);
    CHECK(s.kw.run({"rewrap"}, r.out).out == r.out);

    auto json = s.kw.run({"datakey", "--keyring", "k2", "--json"});
    REQUIRE(json.exit_code == 0);
    CHECK_THAT(json.out, Catch::StartsWith("{\"key_b64\":\""));
    CHECK_THAT(json.out, Catch::Contains("\"blob\":\"kwk1:"));
    CHECK_THAT(json.out, Catch::Contains("\"bytes\":32"));

    expect_refused(s.kw.run({"datakey", "--keyring", "k1"}), 2, "--out-key");
    const std::string key_out = (dir / "unused").string();
    expect_refused(s.kw.run({"datakey", "--keyring", "k1", "--bytes", "8", "--out-key", key_out}),
                   2, "16 to 64");
    expect_refused(s.kw.run({"datakey", "--keyring", "k2", "--bytes", "16", "--out-key", key_out}),
                   2, "32 bytes");
    CHECK_FALSE(std::filesystem::exists(dir / "unused"));
    // SoftHSM 2.6.1 zero-pads before RFC 5649 wrapping: lengths that are not a multiple of 8
    // would give blobs no other implementation reads back the same, so they are refused.
    expect_refused(s.kw.run({"datakey", "--keyring", "k1", "--bytes", "20", "--out-key", key_out}),
                   1, "multiple of 8");
    CHECK_FALSE(std::filesystem::exists(dir / "unused"));
    auto json_err = s.kw.run({"datakey", "--keyring", "k1", "--bytes", "8", "--json"});
    CHECK(json_err.exit_code == 2);
    CHECK_THAT(json_err.out, Catch::StartsWith("{\"error\":{\"code\":\"usage\",\"exit\":2,"));
    expect_refused(s.kw.run({"open"}, r.out), 3, "data key blob");

    // A blob ends with its wrapped DEK: anything after it is malformed, binary or text.
    expect_refused(s.kw.run({"rewrap"}, blob + std::string(1, '\0')), 3, "after");
    expect_refused(s.kw.run({"rewrap"}, "kwk1:" + base64(blob + "x") + "\n"), 3, "after");
    // A wrapped length that is not a multiple of 8 for suite 1.
    std::string odd = blob;
    odd[13] = 57;
    expect_refused(s.kw.run({"rewrap"}, odd), 3, "wrapped");
}

TEST_CASE("--json describes what --out wrote and never changes its bytes") {
    auto& s = CliSetup::shared();
    auto dir = fresh_dir("cli-json-out");
    auto sealed =
        s.kw.run({"--json", "seal", "--keyring", "k1", "--out", (dir / "env").string()}, "data");
    REQUIRE(sealed.exit_code == 0);
    CHECK(sealed.out == "{\"out\":\"" + (dir / "env").string() + "\",\"bytes\":" +
                            std::to_string(read_file(dir / "env").size()) + "}\n");
    CHECK(read_file(dir / "env").substr(0, 4) == "KWE\x01");  // binary, as without --json
    auto opened = s.kw.run(
        {"open", "--in", (dir / "env").string(), "--out", (dir / "plain").string(), "--json"});
    REQUIRE(opened.exit_code == 0);
    CHECK(opened.out == "{\"out\":\"" + (dir / "plain").string() + "\",\"bytes\":4}\n");
    CHECK(read_file(dir / "plain") == "data");
    auto rewrapped = s.kw.run(
        {"rewrap", "--in", (dir / "env").string(), "--out", (dir / "env2").string(), "--json"});
    REQUIRE(rewrapped.exit_code == 0);
    CHECK_THAT(rewrapped.out, Catch::StartsWith("{\"out\":"));
    CHECK(read_file(dir / "env2") == read_file(dir / "env"));
}

TEST_CASE("an option's value is never taken for a global flag") {
    auto& s = CliSetup::shared();
    for (const char* ctx : {"-h", "--help", "--json", "--version"}) {
        auto sealed = s.kw.run({"seal", "--keyring", "k1", "--context", ctx}, "v");
        INFO(ctx);
        REQUIRE(sealed.exit_code == 0);
        CHECK(sealed.out.substr(0, 4) == "KWE\x01");
        CHECK(s.kw.run({"open", "--context", ctx}, sealed.out).out == "v");
    }
    // After "--", everything is an argument (and seal takes none).
    auto r = s.kw.run({"seal", "--keyring", "k1", "--", "--json"}, "v");
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
}

TEST_CASE("an envelope over 64 MiB is refused before the token is touched") {
    auto& s = CliSetup::shared();
    // A config whose module does not exist: reaching the token would be exit 6.
    auto conf = fresh_dir("cli-big") / "k.conf";
    {
        std::FILE* f = std::fopen(conf.c_str(), "w");
        std::fputs("module = /nonexistent/module.so\ntoken = t\npin = env:NOPE\ndatabase = d.db\n",
                   f);
        std::fclose(f);
    }
    auto env = seal(s, "k1", "x");
    std::string big = env.substr(0, env.size() - 16 - 1) +
                      std::string(64u * 1024u * 1024u + 1u, 'c') + std::string(16, 't');
    auto r = s.kw.run({"--config", conf.string(), "open"}, big);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("64 MiB"));
    expect_refused(s.kw.run({"--config", conf.string(), "open"}, with_byte(env, 0, 'X')), 3,
                   "not a keyward envelope");
}

TEST_CASE("seal --json carries the text envelope, open --json the plaintext in base64") {
    auto& s = CliSetup::shared();
    auto r = s.kw.run({"--json", "seal", "--keyring", "k1"}, "json me");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("{\"envelope\":\"kwe1:"));
    auto start = r.out.find("kwe1:");
    auto env = r.out.substr(start, r.out.find('"', start) - start);
    auto o = s.kw.run({"open", "--json"}, env);
    REQUIRE(o.exit_code == 0);
    CHECK(o.out == "{\"plaintext_b64\":\"" + base64("json me") + "\",\"bytes\":7}\n");
}
