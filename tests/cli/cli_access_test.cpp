// SPDX-License-Identifier: Apache-2.0
// Issue 11, access control on a real SoftHSM token: every role allowed and refused on every
// operation class, grant expiry and break-glass, grants minted or edited with SQLite (ignored,
// named by health), the two-person rule, denials audited, and an audit log that holds none of
// the secrets the tests stored.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_setup.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

CliRunner as(const CliSetup& s, const std::string& principal) {
    CliRunner kw = s.kw;
    kw.prefix = {"--principal", principal};
    return kw;
}

// Every value the tests in this file store or seal: none may appear in the audit log.
const std::vector<std::string>& secrets() {
    static const std::vector<std::string> values = {"sk_live_access_matrix_0001",
                                                    "sealed-by-writer-value-0002",
                                                    "break-glass-read-0003",
                                                    "two-person-purged-0004",
                                                    "listing-secret-0005",
                                                    "other-ns-secret-0006",
                                                    "wes-value",
                                                    "expiring-grant-value",
                                                    "minted-grant-target"};
    return values;
}

std::string utc_in(int seconds) {
    std::time_t t = std::time(nullptr) + seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

CliSetup& matrix_setup() {
    static CliSetup s = [] {
        auto setup = CliSetup::fresh("access-matrix");
        expect_ok(setup.kw.run({"put", "pay/stripe", "--kind", "api_key"}, secrets()[0]));
        for (auto [who, role, on] :
             {std::tuple{"rita", "reader", "pay"}, std::tuple{"wes", "writer", "pay"},
              std::tuple{"wes", "writer", "keyring:pay"},
              std::tuple{"rob", "rotator", "keyring:pay"}, std::tuple{"aud", "auditor", "*"},
              std::tuple{"ada", "admin", "pay"}}) {
            expect_ok(setup.kw.run({"access", "grant", who, role, "--on", on}));
        }
        return setup;
    }();
    return s;
}

void expect_denied(const CliResult& r, const std::string& says) {
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    CHECK(r.exit_code == 5);
    CHECK(r.one_line_error());
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("keyward: access denied: "));
    CHECK_THAT(r.err, Catch::Contains(says));
}

}  // namespace

TEST_CASE("each role is allowed its operation classes and refused the others, by name") {
    auto& s = matrix_setup();
    auto sealed = expect_ok(s.kw.run({"seal", "--keyring", "pay"}, secrets()[1])).out;

    // reader: get, open, metadata; not put, seal, rotate, audit, grants.
    auto rita = as(s, "rita");
    CHECK(expect_ok(rita.run({"get", "pay/stripe"})).out == secrets()[0]);
    expect_ok(rita.run({"show", "pay/stripe"}));
    expect_denied(rita.run({"put", "pay/new", "--kind", "api_key"}, "x"),
                  "rita needs role writer on pay for record.put");
    expect_denied(rita.run({"seal", "--keyring", "pay"}, "x"),
                  "rita needs role writer on keyring:pay for seal");
    expect_denied(rita.run({"keyring", "rotate", "pay"}),
                  "rita needs role rotator on keyring:pay for keyring.rotate");
    expect_denied(rita.run({"audit", "verify"}), "rita needs role auditor on * for audit.verify");
    expect_denied(rita.run({"access", "grant", "rita", "admin", "--on", "pay"}),
                  "rita needs role admin on pay for access.grant");

    // writer: put, seal, rewrap, datakey, plus reading; not rotate or retire.
    auto wes = as(s, "wes");
    expect_ok(wes.run({"put", "pay/wes", "--kind", "api_key"}, "wes-value"));
    expect_ok(wes.run({"seal", "--keyring", "pay"}, "x"));
    expect_ok(wes.run({"datakey", "--keyring", "pay", "--json"}));
    CHECK(expect_ok(wes.run({"open"}, sealed)).out == secrets()[1]);
    expect_denied(wes.run({"keyring", "rotate", "pay"}),
                  "wes needs role rotator on keyring:pay for keyring.rotate");
    expect_denied(wes.run({"keyring", "retire", "pay", "--version", "1"}),
                  "wes needs role admin on keyring:pay for keyring.retire");
    expect_denied(wes.run({"put", "other/x", "--kind", "api_key"}, "x"),
                  "wes needs role writer on other for record.put");

    // rotator: rotate and rollback; never a value.
    auto rob = as(s, "rob");
    expect_ok(rob.run({"keyring", "rotate", "pay"}));
    expect_ok(rob.run({"keyring", "rollback", "pay"}));
    expect_denied(rob.run({"get", "pay/stripe"}), "rob needs role reader on pay for record.get");
    expect_denied(rob.run({"open"}, sealed), "rob needs role reader on keyring:pay for open");

    // auditor: audit and metadata; never a value.
    auto aud = as(s, "aud");
    expect_ok(aud.run({"audit", "verify"}));
    expect_ok(aud.run({"audit", "list", "--outcome", "denied"}));
    expect_ok(aud.run({"show", "pay/stripe"}));
    expect_ok(aud.run({"access", "list"}));
    expect_denied(aud.run({"get", "pay/stripe"}), "aud needs role reader on pay for record.get");
    auto aud_datakey = aud.run({"datakey", "--keyring", "pay", "--json"});
    CHECK(aud_datakey.exit_code == 5);
    CHECK(aud_datakey.out ==
          "{\"error\":{\"code\":\"access_denied\",\"exit\":5,\"message\":"
          "\"access denied: aud needs role writer on keyring:pay for "
          "datakey\"}}\n");

    // admin of a namespace: everything there, grants included; nothing elsewhere.
    auto ada = as(s, "ada");
    expect_ok(ada.run({"access", "grant", "carl", "reader", "--on", "pay"}));
    expect_ok(ada.run({"access", "revoke", "carl", "reader", "--on", "pay"}));
    expect_denied(ada.run({"access", "grant", "carl", "reader", "--on", "*"}),
                  "ada needs role admin on * for access.grant");
    expect_denied(ada.run({"keyring", "create", "ada-ring"}),
                  "ada needs role admin on keyring:ada-ring for keyring.create");

    // Someone with no grant at all.
    expect_denied(as(s, "nobody").run({"get", "pay/stripe"}),
                  "nobody needs role reader on pay for record.get");

    // Each denial is in the log, under the owner who acted as the principal.
    auto denied =
        expect_ok(s.kw.run({"audit", "list", "--outcome", "denied", "--principal", "rob"}));
    CHECK_THAT(denied.out, Catch::Contains(" owner as rob record.get pay/stripe denied "
                                           "access_denied\n"));
    auto revoked = s.kw.run({"access", "revoke", "carl", "reader", "--on", "pay"});
    CHECK(revoked.exit_code == 4);
}

TEST_CASE("listings show only what the principal holds a role on") {
    auto& s = matrix_setup();
    expect_ok(s.kw.run({"put", "other/secret", "--kind", "api_key"}, secrets()[5]));
    auto list = expect_ok(as(s, "rita").run({"list"}));
    CHECK_THAT(list.out, Catch::Contains("pay/stripe"));
    CHECK_THAT(list.out, !Catch::Contains("other/secret"));
    auto rings = expect_ok(as(s, "rob").run({"keyring", "list"}));
    CHECK_THAT(rings.out, Catch::Contains("pay"));
    CHECK_THAT(rings.out, !Catch::Contains("other"));
    auto namespaces = expect_ok(as(s, "rita").run({"namespace", "list"}));
    CHECK(namespaces.out == "pay -> keyring pay\n");
    // The owner, admin of *, sees both.
    auto all = expect_ok(s.kw.run({"list"}));
    CHECK_THAT(all.out, Catch::Contains("other/secret"));
}

TEST_CASE("grants expire on their own") {
    auto s = CliSetup::fresh("access-expiry");
    expect_ok(s.kw.run({"put", "ns/r", "--kind", "api_key"}, "expiring-grant-value"));
    auto past =
        s.kw.run({"access", "grant", "tess", "reader", "--on", "ns", "--expires", "2020-01-01"});
    CHECK(past.exit_code == 2);
    CHECK_THAT(past.err, Catch::Contains("is not in the future"));
    expect_ok(
        s.kw.run({"access", "grant", "tess", "reader", "--on", "ns", "--expires", utc_in(3)}));
    expect_ok(as(s, "tess").run({"get", "ns/r"}));
    std::this_thread::sleep_for(std::chrono::seconds(4));
    expect_denied(as(s, "tess").run({"get", "ns/r"}), "tess needs role reader on ns");
    auto list = expect_ok(s.kw.run({"access", "list", "--principal", "tess"}));
    CHECK_THAT(list.out, Catch::Contains("tess reader on ns expired "));
}

TEST_CASE("break-glass: a reason, at most an hour, flagged in the log and in health") {
    auto s = CliSetup::fresh("access-break-glass");
    expect_ok(s.kw.run({"put", "ns/r", "--kind", "api_key"}, secrets()[2]));
    auto no_reason = s.kw.run({"access", "grant", "bg", "reader", "--on", "ns", "--break-glass"});
    CHECK(no_reason.exit_code == 2);
    CHECK_THAT(no_reason.err, Catch::Contains("needs --reason"));
    auto too_long = s.kw.run({"access", "grant", "bg", "reader", "--on", "ns", "--break-glass",
                              "--reason", "incident 42", "--expires", utc_in(7200)});
    CHECK(too_long.exit_code == 2);
    CHECK_THAT(too_long.err, Catch::Contains("lasts at most one hour"));
    expect_ok(s.kw.run({"access", "grant", "bg", "reader", "--on", "ns", "--break-glass",
                        "--reason", "incident 42", "--expires", utc_in(3)}));
    CHECK(expect_ok(as(s, "bg").run({"get", "ns/r"})).out == secrets()[2]);
    auto health = s.kw.run({"health"});
    CHECK_THAT(health.out, Catch::Contains("1 break-glass grants in force"));
    CHECK_THAT(health.out, Catch::Contains("Break-glass grant in force: bg reader on ns until "));
    auto log = expect_ok(s.kw.run({"audit", "list", "--operation", "access.grant"}));
    CHECK_THAT(log.out, Catch::Contains("(break-glass); reason: incident 42"));
    std::this_thread::sleep_for(std::chrono::seconds(4));
    expect_denied(as(s, "bg").run({"get", "ns/r"}), "bg needs role reader on ns");
    CHECK_THAT(expect_ok(s.kw.run({"health"})).out,
               Catch::Contains("0 break-glass grants in force"));
}

TEST_CASE("grant rows written with SQLite are ignored and named by health") {
    auto s = CliSetup::fresh("access-minted");
    expect_ok(s.kw.run({"put", "ns/r", "--kind", "api_key"}, "minted-grant-target"));
    expect_ok(s.kw.run({"access", "grant", "rita", "reader", "--on", "ns"}));
    {
        SqliteFile db(s.dir / "keyward.db");
        // A minted row, with a MAC the attacker made up.
        db.exec(
            "INSERT INTO grants(id, principal, role, scope, created_at, created_by, "
            "key_version, mac) VALUES ('00112233445566778899aabbccddeeff', 'mallory', "
            "'admin', '*', '2026-01-01T00:00:00Z', 'owner', 1, randomblob(32))");
        // A real row promoted: reader to admin of everything.
        db.exec("UPDATE grants SET role = 'admin', scope = '*' WHERE principal = 'rita'");
    }
    expect_denied(as(s, "mallory").run({"get", "ns/r"}), "mallory needs role reader on ns");
    expect_denied(as(s, "rita").run({"get", "ns/r"}), "rita needs role reader on ns");
    auto list = expect_ok(s.kw.run({"access", "list"}));
    CHECK_THAT(list.out, Catch::Contains("mallory admin on *  INVALID (no token MAC: ignored)"));
    CHECK_THAT(list.out, Catch::Contains("rita admin on *  INVALID (no token MAC: ignored)"));
    auto health = s.kw.run({"health"});
    CHECK(health.exit_code == 1);
    CHECK_THAT(health.out, Catch::Contains("2 invalid grant rows"));
    CHECK_THAT(health.out,
               Catch::Contains("00112233445566778899aabbccddeeff (mallory admin on *)"));
}

TEST_CASE("two-person rule: the proposer cannot approve; a second admin can, and it runs") {
    auto s = CliSetup::fresh("access-two-person");
    {
        std::ofstream conf(s.dir / "keyward.conf", std::ios::app);
        conf << "two_person_rule = on\n";
    }
    expect_ok(s.kw.run({"put", "ns/gone", "--kind", "api_key"}, secrets()[3]));
    expect_ok(s.kw.run({"delete", "ns/gone"}));
    expect_ok(s.kw.run({"access", "grant", "alice", "admin", "--on", "*"}));
    expect_ok(s.kw.run({"access", "grant", "bob", "admin", "--on", "ns"}));

    auto direct = s.kw.run({"purge", "ns/gone", "--yes"});
    expect_denied(direct, "purge of ns/gone needs two admins");

    auto proposed =
        expect_ok(as(s, "alice").run({"propose", "purge", "ns/gone", "--reason", "GDPR"}));
    const std::string id =
        proposed.out.substr(proposed.out.rfind('\n', proposed.out.size() - 2) + 1, 16);
    REQUIRE(id.size() == 16);
    expect_denied(as(s, "alice").run({"approve", id}), "alice proposed this and cannot approve it");
    auto approved = expect_ok(as(s, "bob").run({"approve", id}));
    CHECK(approved.out == "approved and ran purge ns/gone (proposed by alice)\n");
    auto shown = expect_ok(s.kw.run({"show", "ns/gone", "--json"}));
    CHECK_THAT(shown.out, Catch::Contains("\"state\":\"purged\""));
    auto listed = expect_ok(s.kw.run({"proposals"}));
    CHECK_THAT(listed.out, Catch::Contains(id + " purge ns/gone done by alice"));
    // Done once: approving again is refused.
    auto twice = as(s, "alice").run({"approve", id});
    CHECK(twice.exit_code == 1);
    CHECK_THAT(twice.err, Catch::Contains("is done"));
    auto log = expect_ok(s.kw.run({"audit", "list", "--operation", "approve"}));
    CHECK_THAT(log.out, Catch::Contains("owner as bob approve ns/gone ok: proposal " + id));
    CHECK_THAT(log.out, Catch::Contains("owner as alice approve ns/gone denied access_denied"));

    // A proposal row written with SQLite is not a proposal.
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec(
            "INSERT INTO proposals(id, operation, target, proposed_by, proposed_at, "
            "expires_at, state, key_version, mac) VALUES ('feedfacefeedface', 'retire', "
            "'ns/1', 'alice', '2026-01-01T00:00:00Z', '2100-01-01T00:00:00Z', 'pending', 1, "
            "randomblob(32))");
    }
    expect_denied(as(s, "bob").run({"approve", "feedfacefeedface"}),
                  "does not carry a valid token MAC");
}

TEST_CASE("a namespace remapped with SQLite does not lend another keyring's grant") {
    auto s = CliSetup::fresh("access-remap");
    expect_ok(s.kw.run({"put", "pay/stripe", "--kind", "api_key"}, "remapped-secret-value"));
    expect_ok(s.kw.run({"keyring", "create", "other"}));
    expect_ok(s.kw.run({"access", "grant", "oscar", "reader", "--on", "keyring:other"}));
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE namespaces SET keyring = 'other' WHERE name = 'pay'");
    }
    auto r = as(s, "oscar").run({"get", "pay/stripe"});
    CHECK(r.exit_code == 6);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("is sealed under keyring pay but its namespace maps to "
                                      "keyring other"));
}

TEST_CASE("metadata roles see versions but not the stored envelopes") {
    auto& s = matrix_setup();
    auto aud = as(s, "aud");
    auto env = aud.run({"get", "pay/stripe", "--envelope"});
    expect_denied(env, "aud needs role reader on the namespace of pay/stripe for its envelope");
    auto rita = as(s, "rita");
    CHECK_THAT(expect_ok(rita.run({"get", "pay/stripe", "--envelope"})).out,
               Catch::StartsWith("kwe1:"));
}

TEST_CASE("the audit log holds none of the secrets stored, nor the PIN") {
    // Runs last in this file (Catch2 runs in declaration order): the other cases put their
    // secrets first.
    auto& s = matrix_setup();
    expect_ok(s.kw.run({"put", "pay/listing", "--kind", "api_key"}, secrets()[4]));
    expect_ok(s.kw.run({"get", "pay/listing"}));
    // This process's setups: fresh_dir names them NAME-PID-N under $KEYWARD_TEST_TMP.
    std::vector<fs::path> databases;
    const std::string mine = "-" + std::to_string(getpid()) + "-";
    for (const auto& entry : fs::directory_iterator(s.dir.parent_path())) {
        if (entry.path().filename().string().find(mine) != std::string::npos &&
            fs::exists(entry.path() / "keyward.db")) {
            databases.push_back(entry.path());
        }
    }
    REQUIRE(databases.size() >= 5);
    for (const auto& dir : databases) {
        INFO(dir);
        SqliteFile db(dir / "keyward.db");
        std::string log;
        db.each("SELECT * FROM audit_log", [&](sqlite3_stmt* st) {
            for (int i = 0; i < 17; ++i) log += SqliteFile::column_blob(st, i) + "\n";
        });
        REQUIRE_FALSE(log.empty());
        for (const auto& v : secrets()) CHECK(log.find(v) == std::string::npos);
        const std::string pin = read_file(dir / "user.pin");
        CHECK(log.find(pin.substr(0, pin.find('\n'))) == std::string::npos);
    }
}
