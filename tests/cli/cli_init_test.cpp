// SPDX-License-Identifier: Apache-2.0
// keyward init and keyring commands through the real binary, a real SoftHSM token and SQLite.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <vector>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("init --softhsm makes a private token, database, PIN files and config") {
    auto s = CliSetup::fresh("init");
    for (const char* f : {"keyward.conf", "keyward.db", "user.pin", "so.pin", "softhsm2.conf"}) {
        INFO(f);
        CHECK(mode_of(s.dir / f) == 0600);
    }
    CHECK(mode_of(s.dir / "tokens") == 0700);
    auto conf = read_file(s.dir / "keyward.conf");
    CHECK_THAT(conf, Catch::Contains("pin = file:" + (s.dir / "user.pin").string()));
    CHECK_THAT(conf, Catch::Contains("token = keyward"));
    CHECK_THAT(conf, Catch::Contains("softhsm2_conf = " + (s.dir / "softhsm2.conf").string()));
    auto pin = read_file(s.dir / "user.pin");
    CHECK(pin.size() == 21);
    CHECK(conf.find(pin.substr(0, 20)) == std::string::npos);

    // The token's directory, and beside it what the SoftHSM login guard leaves after init's
    // first login: its lock and a copy of the token's token.object.
    std::vector<fs::path> token_dirs;
    std::set<std::string> top;
    for (const auto& e : fs::directory_iterator(s.dir / "tokens")) {
        if (e.is_directory()) token_dirs.push_back(e.path());
        if (e.is_regular_file()) top.insert(e.path().filename().string());
    }
    REQUIRE(token_dirs.size() == 1);
    const std::string copy = "keyward-" + token_dirs[0].filename().string() + ".token.object.copy";
    CHECK(top == std::set<std::string>{"keyward-login.lock", copy});
    CHECK(read_file(s.dir / "tokens" / copy) == read_file(token_dirs[0] / "token.object"));
    CHECK(mode_of(s.dir / "tokens" / copy) == 0600);
    CHECK(mode_of(s.dir / "tokens" / "keyward-login.lock") == 0600);
}

TEST_CASE("init prints the export line and refuses to overwrite an existing setup") {
    auto dir = fresh_dir("init-twice");
    CliRunner kw;
    kw.env["KEYWARD_PIN"] = "\x7f";
    auto first = kw.run({"init", "--softhsm", dir.string()});
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.out,
               Catch::Contains("export KEYWARD_CONFIG=" + (dir / "keyward.conf").string()));
    auto before = read_file(dir / "keyward.conf");
    auto second = kw.run({"init", "--softhsm", dir.string()});
    CHECK(second.exit_code == 1);
    CHECK(second.one_line_error());
    CHECK_THAT(second.err, Catch::Contains("already exists"));
    CHECK(read_file(dir / "keyward.conf") == before);
}

TEST_CASE("init never writes over an earlier setup whose config was lost or that failed half-way") {
    auto dir = fresh_dir("init-leftovers");
    CliRunner kw;
    kw.env["KEYWARD_PIN"] = "\x7f";
    REQUIRE(kw.run({"init", "--softhsm", dir.string()}).exit_code == 0);
    CHECK(mode_of(dir) == 0700);
    const auto user_pin = read_file(dir / "user.pin");
    const auto so_pin = read_file(dir / "so.pin");
    fs::rename(dir / "keyward.conf", dir / "keyward.conf.lost");
    auto again = kw.run({"init", "--softhsm", dir.string()});
    CHECK(again.exit_code == 1);
    CHECK(again.one_line_error());
    CHECK_THAT(again.err, Catch::Contains("earlier setup"));
    CHECK(read_file(dir / "user.pin") == user_pin);
    CHECK(read_file(dir / "so.pin") == so_pin);

    // Only the token directory left: still refused, still untouched.
    auto tokens_only = fresh_dir("init-tokens-only");
    fs::create_directories(tokens_only / "tokens" / "some-token");
    auto r = kw.run({"init", "--softhsm", tokens_only.string()});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("already holds a token"));
    CHECK_FALSE(fs::exists(tokens_only / "user.pin"));
}

TEST_CASE("init leaves the mode of a directory it did not create alone") {
    auto dir = fresh_dir("init-existing-dir");
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec,
                    fs::perm_options::replace);
    CliRunner kw;
    kw.env["KEYWARD_PIN"] = "\x7f";
    REQUIRE(kw.run({"init", "--softhsm", dir.string()}).exit_code == 0);
    CHECK(mode_of(dir) == 0750);
    CHECK(mode_of(dir / "tokens") == 0700);
}

TEST_CASE("a token URI that carries a PIN is refused without repeating it") {
    auto s = CliSetup::fresh("init-uri-pin");
    auto dir = fresh_dir("init-uri-pin-out");
    CliRunner kw;
    kw.env["KEYWARD_CONFIG"] = "\x7f";
    kw.env["SOFTHSM2_CONF"] = (s.dir / "softhsm2.conf").string();
    kw.env["KEYWARD_PIN"] = read_file(s.dir / "user.pin").substr(0, 20);
    auto conf = read_file(s.dir / "keyward.conf");
    auto m = conf.find("module = ") + 9;
    auto r = kw.run({"init", "--module", conf.substr(m, conf.find('\n', m) - m), "--token",
                     "pkcs11:token=keyward?pin-value=Sup3rS3cret", "--db", (dir / "x.db").string(),
                     "--out", (dir / "x.conf").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("carries a PIN"));
    CHECK(r.err.find("Sup3rS3cret") == std::string::npos);
    CHECK(r.out.find("Sup3rS3cret") == std::string::npos);
    CHECK_FALSE(fs::exists(dir / "x.conf"));
}

TEST_CASE("an over-long config path is a one-line error, not a crash") {
    auto& s = CliSetup::shared();
    auto r =
        s.kw.run({"--config", "/tmp/" + std::string(5000, 'a') + "/x.conf", "keyring", "list"});
    CHECK((r.exit_code == 1 || r.exit_code == 2));
    CHECK(r.one_line_error());
}

TEST_CASE("init takes the user PIN from KEYWARD_PIN and then writes no PIN file") {
    auto dir = fresh_dir("init-envpin");
    CliRunner kw;
    kw.env["KEYWARD_PIN"] = "an-env-pin-1234";
    auto r = kw.run({"init", "--softhsm", dir.string(), "--token-label", "envtok"});
    REQUIRE(r.exit_code == 0);
    CHECK_FALSE(fs::exists(dir / "user.pin"));
    CHECK(fs::exists(dir / "so.pin"));
    auto conf = read_file(dir / "keyward.conf");
    CHECK_THAT(conf, Catch::Contains("pin = env:KEYWARD_PIN"));
    CHECK_THAT(conf, Catch::Contains("token = envtok"));
    CHECK(conf.find("an-env-pin-1234") == std::string::npos);
    CHECK(r.out.find("an-env-pin-1234") == std::string::npos);

    kw.env["KEYWARD_CONFIG"] = (dir / "keyward.conf").string();
    CHECK(kw.run({"keyring", "create", "x"}).exit_code == 0);
    kw.env["KEYWARD_PIN"] = "wrong-pin-5678";
    auto wrong = kw.run({"keyring", "list"});
    CHECK(wrong.exit_code == 6);
    CHECK(wrong.one_line_error());
    CHECK(wrong.err.find("wrong-pin-5678") == std::string::npos);
}

TEST_CASE("init --module binds a database to an existing token and writes the config") {
    auto s = CliSetup::fresh("init-module-src");
    auto dir = fresh_dir("init-module");
    CliRunner kw;
    kw.env["KEYWARD_CONFIG"] = "\x7f";
    kw.env["SOFTHSM2_CONF"] = (s.dir / "softhsm2.conf").string();
    kw.env["KEYWARD_PIN"] = read_file(s.dir / "user.pin").substr(0, 20);
    auto conf = read_file(s.dir / "keyward.conf");
    auto mod_start = conf.find("module = ") + 9;
    std::string module = conf.substr(mod_start, conf.find('\n', mod_start) - mod_start);
    auto r = kw.run({"init", "--module", module, "--token", "pkcs11:token=keyward", "--db",
                     (dir / "second.db").string(), "--out", (dir / "second.conf").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(mode_of(dir / "second.conf") == 0600);
    CHECK(mode_of(dir / "second.db") == 0600);
    CHECK_THAT(read_file(dir / "second.conf"), Catch::Contains("pin = env:KEYWARD_PIN"));

    kw.env["KEYWARD_PIN"] = "not-the-pin";
    auto bad = kw.run({"init", "--module", module, "--token", "keyward", "--db",
                       (dir / "third.db").string(), "--out", (dir / "third.conf").string()});
    CHECK(bad.exit_code == 6);
    CHECK_FALSE(fs::exists(dir / "third.db"));
    CHECK_FALSE(fs::exists(dir / "third.conf"));
}

TEST_CASE("keyring create, list and show, in text and JSON") {
    auto s = CliSetup::fresh("keyrings");
    auto created = s.kw.run({"keyring", "create", "wallets"});
    REQUIRE(created.exit_code == 0);
    CHECK_THAT(created.out, Catch::Contains("keyward:wallets:v1"));
    CHECK_THAT(created.out, Catch::Contains("CKM_AES_KEY_WRAP_PAD"));

    auto shown = s.kw.run({"keyring", "show", "wallets", "--json"});
    REQUIRE(shown.exit_code == 0);
    CHECK_THAT(shown.out, Catch::StartsWith("{\"name\":\"wallets\",\"suite\":1,"));
    CHECK_THAT(shown.out,
               Catch::Contains("\"versions\":[{\"version\":1,\"state\":\"active\",\"records\":0,"));
    CHECK_THAT(shown.out, Catch::Contains("\"label\":\"keyward:wallets:v1\""));

    auto json_first = s.kw.run({"--json", "keyring", "create", "gcm", "--suite", "2"});
    REQUIRE(json_first.exit_code == 0);
    CHECK_THAT(json_first.out, Catch::StartsWith("{\"name\":\"gcm\",\"suite\":2,"));

    auto list = s.kw.run({"keyring", "list", "--json"});
    REQUIRE(list.exit_code == 0);
    CHECK_THAT(list.out, Catch::StartsWith("{\"keyrings\":[{\"name\":\"gcm\""));
    auto text = s.kw.run({"keyring", "list"});
    CHECK_THAT(text.out, Catch::Contains("wallets"));
    CHECK_THAT(text.out, Catch::Contains("v1"));
}

TEST_CASE("keyring errors: bad name, duplicate, unknown, bad suite") {
    auto& s = CliSetup::shared();
    struct Case {
        std::vector<std::string> args;
        int exit;
        const char* says;
    };
    for (const auto& c : std::vector<Case>{
             {{"keyring", "create", "Bad"}, 2, "invalid keyring name"},
             {{"keyring", "create", "k1"}, 1, "already exists"},
             {{"keyring", "create", "z", "--suite", "3"}, 2, "--suite must be"},
             {{"keyring", "create"}, 2, "missing argument"},
             {{"keyring", "show", "nothere"}, 4, "does not exist"},
             {{"keyring", "show", "k1", "extra"}, 2, "unexpected argument"},
             {{"keyring", "frobnicate"}, 2, "unknown command"},
             {{"keyring", "create", "z", "--colour"}, 2, "unknown option --colour"},
         }) {
        auto r = s.kw.run(c.args);
        INFO(c.args[c.args.size() - 1] << ": " << r.err);
        CHECK(r.exit_code == c.exit);
        CHECK(r.one_line_error());
        CHECK_THAT(r.err, Catch::Contains(c.says));
        CHECK(r.out.empty());
    }
}

TEST_CASE("--help works for every command and --json errors are one JSON document") {
    auto& s = CliSetup::shared();
    for (auto cmd : {"init", "keyring create", "keyring list", "keyring show", "seal", "open",
                     "rewrap", "datakey"}) {
        std::vector<std::string> args;
        std::string c = cmd;
        if (auto sp = c.find(' '); sp != std::string::npos) {
            args = {c.substr(0, sp), c.substr(sp + 1), "--help"};
        } else {
            args = {c, "--help"};
        }
        auto r = s.kw.run(args);
        INFO(cmd);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("usage: keyward " + c));
    }
    auto top = s.kw.run({"--help"});
    CHECK(top.exit_code == 0);
    CHECK_THAT(top.out, Catch::Contains("exit codes"));
    auto none = s.kw.run({});
    CHECK(none.exit_code == 2);

    auto err = s.kw.run({"keyring", "show", "nothere", "--json"});
    CHECK(err.exit_code == 4);
    CHECK_THAT(err.out, Catch::StartsWith("{\"error\":{\"code\":\"not_found\",\"exit\":4,"));
}
