// SPDX-License-Identifier: Apache-2.0
// What an administrator sends when reporting an HSM problem: the C_* and SQL traces
// (KEYWARD_DEBUG, `debug =`) of the keyward binary, which must never carry a PIN, a secret, an
// output or a bound value; and the token quirks in effect (`keyward health`, `quirks =`).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

const CliResult& ok(const CliResult& r) {
    INFO("exit " << r.exit_code << ", stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    return r;
}

// The setup's config with extra lines, in a directory of its own (its paths are absolute).
fs::path config_with(const CliSetup& s, const std::string& lines) {
    auto path = fresh_dir("cli-trace-conf") / "keyward.conf";
    std::ofstream(path) << read_file(s.dir / "keyward.conf") << lines;
    return path;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Every stderr line is a p11 trace line: a call with its target, CK_RV and duration, or a note
// (the module, the quirks).
void only_p11_trace(const std::string& err) {
    static const std::regex call(
        "keyward p11: C_[A-Za-z]+\\((slot=[0-9]+|session=0x[0-9a-f]+)?\\) -> "
        "CKR_[A-Z_0-9]+ [0-9]+\\.[0-9]{3} ms");
    static const std::regex note("keyward p11: (module |quirks of ).*");
    for (const auto& line : lines_of(err)) {
        INFO(line);
        CHECK((std::regex_match(line, call) || std::regex_match(line, note)));
    }
}

void only_sql_trace(const std::string& err) {
    static const std::regex statement("keyward sql: [A-Z].* -> [0-9]+\\.[0-9]{3} ms");
    for (const auto& line : lines_of(err)) {
        INFO(line);
        CHECK(std::regex_match(line, statement));
    }
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

void never_in(const std::string& err, const std::string& secret) {
    INFO("must not appear: " << secret);
    REQUIRE(secret.size() >= 8);
    CHECK(err.find(secret) == std::string::npos);
}

}  // namespace

TEST_CASE("KEYWARD_DEBUG=p11 traces every C_* call and never a PIN, a secret or an output") {
    const fs::path dir = fresh_dir("cli-trace-p11");
    CliRunner kw;
    kw.env["KEYWARD_PIN"] = "\x7f";
    kw.env["KEYWARD_CONFIG"] = "\x7f";
    kw.env["KEYWARD_DEBUG"] = "p11";

    // init: the token is made and its PINs set, through the same funnel.
    auto init = ok(kw.run({"init", "--softhsm", dir.string()}));
    CHECK_THAT(init.err, Catch::Contains("keyward p11: C_InitToken(slot="));
    CHECK_THAT(init.err, Catch::Contains("keyward p11: C_InitPIN(session=0x"));
    only_p11_trace(init.err);
    const std::string so_pin = trimmed(read_file(dir / "so.pin"));
    const std::string user_pin = trimmed(read_file(dir / "user.pin"));
    never_in(init.err, so_pin);
    never_in(init.err, user_pin);
    kw.env["KEYWARD_CONFIG"] = (dir / "keyward.conf").string();

    // A record stored and read back: login, key generation, wrap, unwrap.
    const std::string secret = "trace-secret-3f9a1c77e2";
    auto put = ok(kw.run({"put", "trace/w1", "--kind", "wallet"}, secret));
    CHECK_THAT(put.err, Catch::Contains("keyward p11: module "));
    CHECK_THAT(put.err, Catch::Contains("keyward p11: quirks of token \"keyward\": login-guard, "
                                        "startup-retries, reconnect-after=10000, pad-as-kwp, "
                                        "kwp-zero-pads, value-len-zero\n"));
    CHECK_THAT(put.err, Catch::Contains("keyward p11: C_Initialize() -> CKR_OK "));
    CHECK_THAT(put.err, Catch::Contains("keyward p11: C_Login(session=0x"));
    CHECK_THAT(put.err, Catch::Contains("keyward p11: C_GenerateKey(session=0x"));
    CHECK(std::regex_search(put.err,
                            std::regex("keyward p11: C_WrapKey\\(session=0x[0-9a-f]+\\) -> CKR_OK "
                                       "[0-9]+\\.[0-9]{3} ms\n")));
    CHECK(put.err.find("keyward sql:") == std::string::npos);
    only_p11_trace(put.err);
    never_in(put.err, secret);
    never_in(put.err, user_pin);

    auto get = ok(kw.run({"get", "trace/w1"}));
    CHECK(get.out == secret);
    CHECK_THAT(get.err, Catch::Contains("keyward p11: C_UnwrapKey(session=0x"));
    only_p11_trace(get.err);
    never_in(get.err, secret);
    never_in(get.err, user_pin);

    // seal and open: neither the envelope nor the plaintext reaches the trace.
    auto seal = ok(kw.run({"seal", "--keyring", "trace", "--context", "c:1", "--text"}, secret));
    only_p11_trace(seal.err);
    never_in(seal.err, secret);
    never_in(seal.err, trimmed(seal.out));
    never_in(seal.err, trimmed(seal.out).substr(5, 16));  // a piece of the base64 body
    auto open = ok(kw.run({"open", "--context", "c:1"}, seal.out));
    CHECK(open.out == secret);
    only_p11_trace(open.err);
    never_in(open.err, secret);
    never_in(open.err, trimmed(seal.out).substr(5, 16));
}

TEST_CASE("KEYWARD_DEBUG=sql traces statements with their parameters unexpanded") {
    auto s = CliSetup::fresh("cli-trace-sql");
    s.kw.env["KEYWARD_DEBUG"] = "sql";
    const std::string name = "name-marker-5c2d81";
    const std::string tag = "tag-marker-9e41b0";
    const std::string secret = "secret-marker-77aa04";
    auto put =
        ok(s.kw.run({"put", "trsql/" + name, "--kind", "api_key", "--tag", "env=" + tag}, secret));
    CHECK_THAT(put.err, Catch::Contains("keyward sql: BEGIN IMMEDIATE -> "));
    CHECK(std::regex_search(put.err, std::regex("keyward sql: INSERT INTO [^\n]*\\?")));
    CHECK(put.err.find("keyward p11:") == std::string::npos);
    only_sql_trace(put.err);
    for (const auto& r : {put, ok(s.kw.run({"get", "trsql/" + name})),
                          ok(s.kw.run({"list", "trsql", "--tag", "env=" + tag})),
                          ok(s.kw.run({"show", "trsql/" + name}))}) {
        CHECK_THAT(r.err, Catch::Contains("keyward sql: SELECT "));
        only_sql_trace(r.err);
        never_in(r.err, name);
        never_in(r.err, tag);
        never_in(r.err, secret);
    }
}

TEST_CASE("KEYWARD_DEBUG takes a list; an unknown word is named once and ignored") {
    auto kw = CliSetup::shared().kw;
    kw.env["KEYWARD_DEBUG"] = "p11, sql,everything";
    auto r = ok(kw.run({"keyring", "list"}));
    CHECK_THAT(r.err, Catch::StartsWith("keyward: KEYWARD_DEBUG: unknown debug channel "
                                        "\"everything\" (known: p11, sql); ignored\n"));
    CHECK_THAT(r.err, Catch::Contains("\nkeyward p11: C_Login("));
    CHECK_THAT(r.err, Catch::Contains("\nkeyward sql: SELECT "));
    CHECK(r.err.find("everything", 60) == std::string::npos);  // said once
}

TEST_CASE("debug = in keyward.conf turns the traces on; an unknown channel is exit 2") {
    auto& s = CliSetup::shared();
    auto p11 =
        ok(s.kw.run({"--config", config_with(s, "debug = p11\n").string(), "keyring", "list"}));
    CHECK_THAT(p11.err, Catch::Contains("keyward p11: C_Login(session=0x"));
    CHECK(p11.err.find("keyward sql:") == std::string::npos);
    only_p11_trace(p11.err);

    auto both =
        ok(s.kw.run({"--config", config_with(s, "debug = sql p11\n").string(), "keyring", "list"}));
    CHECK_THAT(both.err, Catch::Contains("keyward sql: SELECT "));
    CHECK_THAT(both.err, Catch::Contains("keyward p11: C_Login(session=0x"));

    auto bad = s.kw.run(
        {"--config", config_with(s, "debug = p11, everything\n").string(), "keyring", "list"});
    INFO(bad.err);
    CHECK(bad.exit_code == 2);
    CHECK(bad.one_line_error());
    CHECK_THAT(bad.err, Catch::Contains("debug: unknown debug channel \"everything\""));
    CHECK(bad.err.find("keyward p11:") == std::string::npos);
}

TEST_CASE("health lists the quirks in effect, which quirks = changes; an unknown quirk is exit 2") {
    auto& s = CliSetup::shared();
    const std::string softhsm =
        "login-guard, startup-retries, reconnect-after=10000, pad-as-kwp, kwp-zero-pads, "
        "value-len-zero";
    CHECK_THAT(ok(s.kw.run({"health"})).out, Catch::Contains("\nquirks:   " + softhsm + "\n"));
    CHECK_THAT(ok(s.kw.run({"health", "--json"})).out,
               Catch::Contains("\"serial\":") &&
                   Catch::Contains(",\"quirks\":[\"login-guard\",\"startup-retries\","
                                   "\"reconnect-after=10000\",\"pad-as-kwp\",\"kwp-zero-pads\","
                                   "\"value-len-zero\"],\"reachable\":true,"));

    auto changed = config_with(s, "quirks = auto, modifiable-keks, -startup-retries\n");
    CHECK_THAT(ok(s.kw.run({"--config", changed.string(), "health"})).out,
               Catch::Contains("\nquirks:   login-guard, reconnect-after=10000, pad-as-kwp, "
                               "modifiable-keks, kwp-zero-pads, value-len-zero\n"));

    for (const auto& [value, says] : std::vector<std::pair<std::string, std::string>>{
             {"auto, jittered-start",
              "quirks: \"jittered-start\" is not a quirk (known: auto, "
              "none, login-guard, startup-retries, reconnect-after=N, "
              "pad-as-kwp, modifiable-keks)"},
             {"kwp-zero-pads", "quirks: \"kwp-zero-pads\" is measured when keyward connects"},
             {"login-guard, none", "quirks: \"none\" must be the first word"}}) {
        auto conf = config_with(s, "quirks = " + value + "\n");
        auto r = s.kw.run({"--config", conf.string(), "health"});
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.one_line_error());
        CHECK_THAT(r.err, Catch::Contains(conf.string() + ": " + says));
        CHECK(r.out.empty());
    }
}

TEST_CASE("quirks = none takes SoftHSM as generic PKCS#11, and says what that costs") {
    auto s = CliSetup::fresh("cli-trace-none");
    auto conf = config_with(s, "quirks = none\n").string();
    CHECK_THAT(ok(s.kw.run({"--config", conf, "health"})).out,
               Catch::Contains("\nquirks:   none\n"));
    // SoftHSM 2.6 offers RFC 5649 only under the PAD number, which only pad-as-kwp lets in.
    auto create = s.kw.run({"--config", conf, "keyring", "create", "plain"});
    INFO(create.err);
    CHECK(create.exit_code == 1);
    CHECK_THAT(create.err, Catch::Contains("quirk pad-as-kwp is off"));
    ok(s.kw.run({"--config", conf, "keyring", "create", "gcm", "--suite", "2"}));
}
