// SPDX-License-Identifier: Apache-2.0
// What an administrator sees when the HSM or the configuration is wrong: exit 6 for the token
// (module, token, PIN, binding), exit 2 for configuration, one line that says what to fix.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "cli_setup.hpp"
#include "p11/p11_hsm.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

fs::path edited_config(const CliSetup& s, const std::string& key, const std::string& value) {
    auto text = read_file(s.dir / "keyward.conf");
    text = std::regex_replace(text, std::regex("(^|\n)" + key + " = [^\n]*"),
                              "$1" + key + " = " + value);
    auto path = fresh_dir("cli-conf") / "keyward.conf";
    std::ofstream(path) << text;
    return path;
}

void expect(const CliResult& r, int exit, const std::string& says) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == exit);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains(says));
    CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("a module that will not load is exit 6 naming the path") {
    auto& s = CliSetup::shared();
    auto conf = edited_config(s, "module", "/nonexistent/libpkcs11.so");
    expect(s.kw.run({"--config", conf.string(), "keyring", "list"}), 6,
           "/nonexistent/libpkcs11.so");
}

TEST_CASE("a token that is not there is exit 6 naming the label") {
    auto& s = CliSetup::shared();
    auto conf = edited_config(s, "token", "no-such-token");
    expect(s.kw.run({"--config", conf.string(), "keyring", "list"}), 6, "no-such-token");
}

TEST_CASE("a refused PIN is exit 6 and is not retried") {
    auto& s = CliSetup::shared();
    auto pin = fresh_dir("cli-pin") / "wrong.pin";
    std::ofstream(pin) << "definitely-wrong\n";
    fs::permissions(pin, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    auto conf = edited_config(s, "pin", "file:" + pin.string());
    auto r = s.kw.run({"--config", conf.string(), "keyring", "list"});
    expect(r, 6, "PIN");
    CHECK(r.err.find("definitely-wrong") == std::string::npos);
    // Still usable with the right PIN: a refused PIN was not retried into a lockout.
    CHECK(s.kw.run({"keyring", "list"}).exit_code == 0);
}

TEST_CASE("a missing PIN variable or file is a configuration error, exit 2") {
    auto& s = CliSetup::shared();
    auto conf = edited_config(s, "pin", "env:KEYWARD_TEST_UNSET_VARIABLE");
    auto r = s.kw.run({"--config", conf.string(), "keyring", "list"});
    CHECK(r.exit_code == 2);
    CHECK(r.one_line_error());
    auto conf2 = edited_config(s, "pin", "file:/nonexistent/pin");
    CHECK(s.kw.run({"--config", conf2.string(), "keyring", "list"}).exit_code == 2);
}

TEST_CASE("no config, a broken config, or a missing database is exit 2") {
    auto& s = CliSetup::shared();
    CliRunner bare;
    bare.env["KEYWARD_CONFIG"] = "\x7f";
    auto none = bare.run({"keyring", "list"});
    // The test runs in the build tree, where no keyward.conf exists.
    expect(none, 2, "keyward init");
    expect(s.kw.run({"--config", "/nonexistent.conf", "keyring", "list"}), 2, "does not exist");
    auto broken = fresh_dir("cli-broken") / "k.conf";
    std::ofstream(broken) << "module = /x.so\nthis is not a setting\n";
    expect(s.kw.run({"--config", broken.string(), "keyring", "list"}), 2, ":2:");
    auto nodb = edited_config(s, "database", "/nonexistent/keyward.db");
    expect(s.kw.run({"--config", nodb.string(), "keyring", "list"}), 2, "keyward init");
}

TEST_CASE("a database bound to another token is exit 6 naming both tokens") {
    auto& s = CliSetup::shared();
    auto other = CliSetup::fresh("cli-other-token");
    auto conf = edited_config(other, "database", (s.dir / "keyward.db").string());
    expect(other.kw.run({"--config", conf.string(), "keyring", "list"}), 6, "belongs to token");
}

TEST_CASE("a KEK replaced in the token behind keyward's back stops it with exit 6") {
    auto s = CliSetup::fresh("cli-replaced");
    REQUIRE(s.kw.run({"keyring", "create", "victim"}).exit_code == 0);
    {
        keyward::p11::ConnectOptions options;
        auto conf = read_file(s.dir / "keyward.conf");
        auto m = conf.find("module = ") + 9;
        options.module_path = conf.substr(m, conf.find('\n', m) - m);
        options.token = "keyward";
        auto pin = read_file(s.dir / "user.pin");
        options.pin.assign(pin.begin(), pin.end() - 1);
        options.softhsm2_conf = (s.dir / "softhsm2.conf").string();
        auto hsm = keyward::p11::P11Hsm::connect(std::move(options));
        REQUIRE(hsm.ok());
        REQUIRE((*hsm)->destroy_kek("keyward:victim:v1").ok());
        keyward::Bytes id = {0xab, 0xcd};
        REQUIRE((*hsm)->generate_kek("keyward:victim:v1", keyward::Suite::kwp, id).ok());
    }
    expect(s.kw.run({"keyring", "list"}), 6, "was replaced");
}
