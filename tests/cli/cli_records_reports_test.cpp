// SPDX-License-Identifier: Apache-2.0
// What keyward reports about records, end to end through the real binary, a real SoftHSM token
// and a real SQLite file: list filters, stats, health and its advice, and no value ever in any
// of that output or in the database file.
#include <catch2/catch.hpp>

#include "records_fixtures.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

// --- list filters ---------------------------------------------------------------------------

TEST_CASE("list filters by kind, state, expiry window and tags") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-list/exp", "--kind", "wallet", "--expires", "2020-01-01"}, "v"));
    ok(s.kw.run({"put", "lc-list/soon", "--kind", "api_key", "--expires", date_in(10), "--tag",
                 "env=prod", "--tag", "team=a"},
                "v"));
    ok(s.kw.run({"put", "lc-list/later", "--kind", "api_key", "--expires", date_in(60), "--tag",
                 "env=prod", "--tag", "team=b"},
                "v"));
    ok(s.kw.run({"put", "lc-list/plain", "--kind", "wallet", "--tag", "env=dev"}, "v"));
    using names = std::vector<std::string>;
    CHECK(listed(s.kw, {"lc-list"}) ==
          names{"lc-list/exp", "lc-list/later", "lc-list/plain", "lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--kind", "wallet"}) == names{"lc-list/exp", "lc-list/plain"});
    CHECK(ok(s.kw.run({"list", "lc-list", "--state", "expired"})).out ==
          "lc-list/exp  wallet  expired  v1  expires 2020-01-01T00:00:00Z\n");
    CHECK(json_value(ok(s.kw.run({"show", "lc-list/exp", "--json"})).out, "state") ==
          "\"expired\"");
    CHECK(listed(s.kw, {"lc-list", "--state", "active"}) ==
          names{"lc-list/later", "lc-list/plain", "lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--expiring", "30"}) == names{"lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--expiring", "90"}) == names{"lc-list/later", "lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--tag", "env=prod"}) == names{"lc-list/later", "lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--tag", "env=prod", "--tag", "team=a"}) ==
          names{"lc-list/soon"});
    CHECK(listed(s.kw, {"lc-list", "--tag", "env=prod", "--kind", "wallet"}).empty());
    CHECK(ok(s.kw.run({"list", "lc-list", "--tag", "env=staging"})).out == "no records\n");

    expect_refused(s.kw.run({"list", "--state", "bogus"}), 2, "unknown state \"bogus\"");
    expect_refused(s.kw.run({"list", "--tag", "novalue"}), 2, "has no '='");
    expect_refused(s.kw.run({"list", "--kind", "password"}), 2, "unknown kind");
    expect_refused(s.kw.run({"list", "--expiring", "soon"}), 2, "--expiring");
    expect_refused(s.kw.run({"list", "Bad"}), 2, "invalid namespace");
}

// --- stats and health -----------------------------------------------------------------------

TEST_CASE("stats counts records by kind, namespace and state, and expiry and rotation") {
    auto s = CliSetup::fresh("cli-records-stats");
    ok(s.kw.run({"put", "s1/a", "--kind", "api_key"}, "v"));
    ok(s.kw.run({"put", "s1/b", "--kind", "wallet", "--expires", date_in(4)}, "v"));
    ok(s.kw.run({"put", "s1/c", "--kind", "wallet", "--expires", date_in(20)}, "v"));
    ok(s.kw.run({"put", "s2/d", "--kind", "webhook_secret", "--generate", "32"}));
    make_old(s, "s2", "d");
    ok(s.kw.run({"put", "s2/e", "--kind", "api_key"}, "v"));
    ok(s.kw.run({"revoke", "s2/e"}));
    ok(s.kw.run({"put", "s2/f", "--kind", "oauth_access_token", "--expires", "2020-01-01"}, "v"));
    ok(s.kw.run({"put", "s2/g", "--kind", "custom_secret"}, "v"));
    ok(s.kw.run({"delete", "s2/g"}));
    ok(s.kw.run({"put", "s2/h", "--kind", "api_key"}, "v"));
    ok(s.kw.run({"delete", "s2/h"}));
    ok(s.kw.run({"purge", "s2/h", "--yes"}));

    // The purged tombstone counts only under state; expired s2/f has no policy either.
    CHECK(ok(s.kw.run({"stats", "--json"})).out ==
          "{\"records\":7,\"by_kind\":{\"api_key\":2,\"custom_secret\":1,\"oauth_access_token\":1,"
          "\"wallet\":2,\"webhook_secret\":1},\"by_namespace\":{\"s1\":3,\"s2\":4},\"by_state\":{"
          "\"active\":4,\"deleted\":1,\"expired\":1,\"purged\":1,\"revoked\":1},"
          "\"expiring_7_days\":1,\"expiring_30_days\":2,\"without_rotation_policy\":3,"
          "\"due_for_rotation\":1}\n");
    const auto text = ok(s.kw.run({"stats"}));
    CHECK_THAT(text.out, Catch::StartsWith("records: 7\nby kind:\n  api_key: 2\n"));
    CHECK_THAT(text.out, Catch::EndsWith("expiring within 7 days: 1\n"
                                         "expiring within 30 days: 2\n"
                                         "without a rotation policy: 3\n"
                                         "due for rotation: 1\n"));
}

TEST_CASE("health reports token, database and records, and advises on due and expired records") {
    auto s = CliSetup::fresh("cli-records-health");
    const std::string database = (s.dir / "keyward.db").string();
    auto h = ok(s.kw.run({"health", "--json"}));
    CHECK_THAT(h.out, Catch::StartsWith("{\"healthy\":true,\"token\":{\"label\":\"keyward\","));
    CHECK_THAT(h.out, Catch::Contains("\"reachable\":true,\"logged_in\":true},\"database\":{"
                                      "\"path\":\"" +
                                      database + "\",\"integrity\":\"ok\","));
    CHECK_THAT(h.out, Catch::EndsWith("\"records\":{\"total\":0,\"due_for_rotation\":0,"
                                      "\"rotation_warning\":0,\"expired\":0,\"expiring_30_days\":0,"
                                      "\"revoked\":0,\"deleted\":0},\"kek_findings\":[],"
                                      "\"access\":{\"invalid_grants\":[],\"invalid_proposals\":"
                                      "[],\"break_glass\":[]},\"audit\":\"ok\","
                                      "\"recommendations\":[]}\n"));
    CHECK_THAT(ok(s.kw.run({"health"})).out, Catch::EndsWith("nothing to do\n"));

    ok(s.kw.run({"put", "h/due", "--kind", "webhook_secret", "--generate", "32"}));
    make_old(s, "h", "due");
    ok(s.kw.run({"put", "h/gone", "--kind", "wallet", "--expires", "2020-01-01"}, "v"));
    h = ok(s.kw.run({"health", "--json"}));
    CHECK_THAT(h.out, Catch::StartsWith("{\"healthy\":true,"));
    CHECK_THAT(h.out, Catch::Contains("\"records\":{\"total\":2,\"due_for_rotation\":1,"
                                      "\"rotation_warning\":0,\"expired\":1,\"expiring_30_days\":0,"
                                      "\"revoked\":0,\"deleted\":0}"));
    CHECK_THAT(h.out, Catch::Contains("\"recommendations\":[\"1 record is past the rotation date"));
    CHECK_THAT(h.out, Catch::Contains(",\"1 record has expired: "));
    const auto text = ok(s.kw.run({"health"}));
    CHECK_THAT(text.out, Catch::Contains("records:  2 (1 due for rotation, 1 expired, 0 expiring "
                                         "within 30 days)\naudit:    ok\naccess:   0 invalid "
                                         "grant rows, 0 break-glass grants in force\n- 1 record "
                                         "is past the rotation date"));
    CHECK_THAT(text.out, Catch::Contains("\n- 1 record has expired: "));
}

// --- secrets stay secret --------------------------------------------------------------------

TEST_CASE("no metadata command shows a value, and the database holds none in the clear") {
    auto& s = CliSetup::shared();
    const std::string marker = "LEAK-MARKER-b41c7e";
    ok(s.kw.run(
        {"put", "lc-leak/a", "--kind", "api_key", "--description", "the key", "--tag", "env=prod"},
        marker + "-one"));
    ok(s.kw.run({"put", "lc-leak/a", "--kind", "api_key"}, marker + "-two"));
    ok(s.kw.run({"restore", "lc-leak/a", "--version", "1"}));
    ok(s.kw.run({"put", "lc-leak/w", "--kind", "wallet", "--expires", "2020-01-01"}, marker));
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"list"},
             {"list", "lc-leak"},
             {"list", "--state", "expired"},
             {"show", "lc-leak/a"},
             {"versions", "lc-leak/a"},
             {"stats"},
             {"health"},
             {"update", "lc-leak/a", "--tag", "seen=yes"},
             {"namespace", "list"},
         }) {
        for (bool json : {false, true}) {
            auto with = args;
            if (json) with.push_back("--json");
            INFO(with[0] << (json ? " --json" : ""));
            const auto r = ok(s.kw.run(with));
            CHECK_FALSE(r.out.empty());
            CHECK(r.out.find(marker) == std::string::npos);
            CHECK(r.err.find(marker) == std::string::npos);
        }
    }
    CHECK(ok(s.kw.run({"get", "lc-leak/a"})).out == marker + "-one");
    for (const char* f : {"keyward.db", "keyward.db-wal"}) {
        if (!std::filesystem::exists(s.dir / f)) continue;
        INFO(f);
        CHECK(read_file(s.dir / f).find(marker) == std::string::npos);
    }
}
