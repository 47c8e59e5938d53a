// SPDX-License-Identifier: Apache-2.0
// keyward token create | list | revoke through the binary on a real SoftHSM token: the token is
// printed once, on the last line, and found nowhere else (database, WAL, audit log, listings);
// its roles are granted; bad arguments and callers without admin are refused by exit code.
#include <catch2/catch.hpp>
#include <string>

#include "cli_setup.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

std::string last_line(const std::string& out) {
    std::string trimmed = out;
    if (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
    return trimmed.substr(trimmed.rfind('\n') + 1);
}

}  // namespace

TEST_CASE("token create prints the token once, on its last line, and nothing keeps it") {
    auto s = CliSetup::fresh("tokens");
    expect_ok(s.kw.run({"keyring", "create", "pay"}));
    auto made = expect_ok(
        s.kw.run({"token", "create", "--principal", "wallet-svc", "--role", "writer", "--on",
                  "keyring:pay", "--role", "reader", "--on", "pay", "--ttl", "1h", "--renewable"}));
    const std::string token = last_line(made.out);
    REQUIRE(token.size() == 68);
    CHECK(token.rfind("kwt_", 0) == 0);
    CHECK(made.out.find("granted wallet-svc writer on keyring:pay\n") != std::string::npos);
    CHECK(made.out.find("granted wallet-svc reader on pay\n") != std::string::npos);
    CHECK(made.out.find(token) == made.out.size() - token.size() - 1);  // once, last

    auto grants = expect_ok(s.kw.run({"access", "list", "--principal", "wallet-svc"}));
    CHECK(grants.out == "wallet-svc writer on keyring:pay\nwallet-svc reader on pay\n");

    auto listed = expect_ok(s.kw.run({"token", "list"}));
    CHECK(listed.out.find(" wallet-svc created ") != std::string::npos);
    CHECK(listed.out.find(" renewable\n") != std::string::npos);
    auto json = expect_ok(s.kw.run({"token", "list", "--json"}));
    CHECK(json.out.find("\"principal\":\"wallet-svc\"") != std::string::npos);
    CHECK(json.out.find("\"valid\":true") != std::string::npos);

    auto log = expect_ok(s.kw.run({"audit", "list", "--operation", "service-token.create"}));
    CHECK(log.out.find(" owner service-token.create wallet-svc ok") != std::string::npos);

    const std::string hex = token.substr(4);
    for (const auto& out : {made.err, listed.out, json.out, log.out}) {
        CHECK(out.find(hex) == std::string::npos);
    }
    for (const char* suffix : {"keyward.db", "keyward.db-wal"}) {
        CHECK(read_file(s.dir / suffix).find(hex) == std::string::npos);
    }

    // Revoke by id: exit 0, then listed as revoked; an unknown id is exit 4.
    const std::string id = listed.out.substr(0, 16);
    auto revoked = expect_ok(s.kw.run({"token", "revoke", id}));
    CHECK(revoked.out.rfind("revoked " + id + " wallet-svc", 0) == 0);
    CHECK(expect_ok(s.kw.run({"token", "list"})).out.find(" REVOKED ") != std::string::npos);
    expect_refused(s.kw.run({"token", "revoke", "0123456789abcdef"}), 4,
                   "no service token 0123456789abcdef");
}

TEST_CASE("token create refuses bad arguments and callers without admin, and issues nothing") {
    auto s = CliSetup::fresh("tokens-bad");
    expect_refused(s.kw.run({"token", "create"}), 2, "token create needs --principal NAME");
    expect_refused(s.kw.run({"token", "create", "--principal", "p", "--ttl", "5x"}), 2,
                   "--ttl takes a duration such as 3600, 90s, 15m, 24h or 30d, not \"5x\"");
    expect_refused(s.kw.run({"token", "create", "--principal", "p", "--role", "writer"}), 2,
                   "each --role needs its --on NS|keyring:NAME|* (in order)");
    expect_refused(s.kw.run({"token", "create", "--principal", "p", "--role", "boss", "--on", "*"}),
                   2, "unknown role \"boss\"");
    expect_refused(s.kw.run({"token", "create", "--principal", "p", "--renewable"}), 2,
                   "a renewable token needs a ttl");
    expect_ok(s.kw.run({"access", "grant", "aud", "auditor", "--on", "*"}));
    CliRunner auditor = s.kw;
    auditor.prefix = {"--principal", "aud"};
    expect_refused(auditor.run({"token", "create", "--principal", "p"}), 5, "access denied");
    expect_ok(auditor.run({"token", "list"}));  // auditors may list
    expect_refused(auditor.run({"token", "revoke", "0123456789abcdef"}), 5, "access denied");
    CHECK(expect_ok(s.kw.run({"token", "list"})).out == "no service tokens\n");
}
