// SPDX-License-Identifier: Apache-2.0
// A record's life end to end through the real binary, a real SoftHSM token and a real SQLite
// file: revoke, delete, recover and purge, commands on records that never existed, versions and
// restores, generated secrets and their rotation (also when due). Metadata is in
// cli_records_metadata_test.cpp, list, stats and health in cli_records_reports_test.cpp.
#include <catch2/catch.hpp>

#include <fstream>

#include "records_fixtures.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

// --- lifecycle ------------------------------------------------------------------------------

TEST_CASE("revoke withholds values for good; delete hides; recover returns to the state left") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-life/r", "--kind", "api_key"}, "v1"));
    CHECK(ok(s.kw.run({"revoke", "lc-life/r"})).out == "revoked lc-life/r\n");
    expect_refused(s.kw.run({"get", "lc-life/r"}), 1, "is revoked; its values are withheld");
    expect_refused(s.kw.run({"get", "lc-life/r", "--envelope"}), 1, "is revoked");
    expect_refused(s.kw.run({"put", "lc-life/r", "--kind", "api_key"}, "v2"), 1,
                   "revocation is final");
    expect_refused(s.kw.run({"revoke", "lc-life/r"}), 1, "only an active or expired record");
    expect_refused(s.kw.run({"recover", "lc-life/r"}), 1, "only a deleted record");
    expect_refused(s.kw.run({"restore", "lc-life/r", "--version", "1"}), 1, "is revoked");
    expect_refused(s.kw.run({"rotate-secret", "lc-life/r"}), 1, "is revoked");
    CHECK(json_value(ok(s.kw.run({"show", "lc-life/r", "--json"})).out, "state") == "\"revoked\"");
    CHECK(listed(s.kw, {"lc-life"}) == std::vector<std::string>{"lc-life/r"});

    CHECK(ok(s.kw.run({"delete", "lc-life/r"})).out == "deleted lc-life/r\n");
    CHECK(ok(s.kw.run({"list", "lc-life"})).out == "no records\n");
    CHECK_THAT(ok(s.kw.run({"list", "lc-life", "--state", "deleted"})).out,
               Catch::StartsWith("lc-life/r  api_key  deleted  v1  rotate by "));
    expect_refused(s.kw.run({"get", "lc-life/r"}), 4, "keyward recover lc-life/r brings it back");
    expect_refused(s.kw.run({"put", "lc-life/r", "--kind", "api_key"}, "v2"), 1, "is deleted");
    expect_refused(s.kw.run({"delete", "lc-life/r"}), 1, "already deleted");
    expect_refused(s.kw.run({"update", "lc-life/r", "--description", "x"}), 1, "recover it");
    CHECK(ok(s.kw.run({"recover", "lc-life/r"})).out == "recovered lc-life/r\n");
    CHECK(json_value(ok(s.kw.run({"show", "lc-life/r", "--json"})).out, "state") == "\"revoked\"");
    expect_refused(s.kw.run({"get", "lc-life/r"}), 1, "revoked");

    ok(s.kw.run({"put", "lc-life/a", "--kind", "api_key"}, "alive"));
    ok(s.kw.run({"delete", "lc-life/a"}));
    expect_refused(s.kw.run({"get", "lc-life/a"}), 4, "is deleted");
    CHECK(ok(s.kw.run({"--json", "recover", "lc-life/a"})).out.find("\"state\":\"active\"") !=
          std::string::npos);
    CHECK(ok(s.kw.run({"get", "lc-life/a"})).out == "alive");
}

TEST_CASE("purge needs --yes and a deleted record; the name starts again after the last version") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-purge/p", "--kind", "api_key", "--description", "old", "--tag", "t=1"},
                "old1"));
    ok(s.kw.run({"put", "lc-purge/p", "--kind", "api_key"}, "old2"));
    expect_refused(s.kw.run({"purge", "lc-purge/p"}), 2, "add --yes to confirm");
    expect_refused(s.kw.run({"purge", "lc-purge/p", "--yes"}), 1, "only a deleted record");
    ok(s.kw.run({"delete", "lc-purge/p"}));
    expect_refused(s.kw.run({"purge", "lc-purge/p"}), 2, "add --yes");
    CHECK(ok(s.kw.run({"purge", "lc-purge/p", "--yes"})).out == "purged lc-purge/p\n");
    expect_refused(s.kw.run({"purge", "lc-purge/p", "--yes"}), 1, "purged already");
    expect_refused(s.kw.run({"versions", "lc-purge/p"}), 4, "was purged");
    expect_refused(s.kw.run({"get", "lc-purge/p"}), 4, "was purged");
    expect_refused(s.kw.run({"get", "lc-purge/p", "--version", "1"}), 4, "was purged");
    expect_refused(s.kw.run({"recover", "lc-purge/p"}), 1, "cannot be recovered");
    expect_refused(s.kw.run({"delete", "lc-purge/p"}), 1, "is purged");
    expect_refused(s.kw.run({"revoke", "lc-purge/p"}), 1, "is purged");
    expect_refused(s.kw.run({"update", "lc-purge/p", "--description", "x"}), 1, "is purged");
    expect_refused(s.kw.run({"restore", "lc-purge/p", "--version", "1"}), 1, "is purged");
    auto show = ok(s.kw.run({"show", "lc-purge/p", "--json"}));
    CHECK(json_value(show.out, "state") == "\"purged\"");
    CHECK(json_value(show.out, "latest") == "2");
    CHECK(json_value(show.out, "description") == "\"\"");
    CHECK(json_value(show.out, "tags") == "{}");
    CHECK(listed(s.kw, {"lc-purge"}).empty());
    CHECK(listed(s.kw, {"lc-purge", "--state", "purged"}) ==
          std::vector<std::string>{"lc-purge/p"});

    // A new life: the next version number (no sealing context is reused), fresh metadata, and
    // the new kind's default policy.
    CHECK(ok(s.kw.run({"put", "lc-purge/p", "--kind", "wallet"}, "new")).out ==
          "stored lc-purge/p version 3\n");
    show = ok(s.kw.run({"show", "lc-purge/p", "--json"}));
    CHECK_THAT(show.out, Catch::Contains("\"kind\":\"wallet\",\"state\":\"active\",\"latest\":3,"
                                         "\"description\":\"\",\"tags\":{},"));
    CHECK(json_value(show.out, "rotation") == "null");
    CHECK(ok(s.kw.run({"get", "lc-purge/p"})).out == "new");
    expect_refused(s.kw.run({"get", "lc-purge/p", "--version", "1"}), 4, "has no version 1");
    const auto versions = ok(s.kw.run({"versions", "lc-purge/p", "--json"}));
    CHECK_THAT(versions.out,
               Catch::StartsWith("{\"record\":\"lc-purge/p\",\"versions\":[{\"version\":3,"));
    CHECK(versions.out.find("\"version\":1,") == std::string::npos);
    const auto envelope = ok(s.kw.run({"get", "lc-purge/p", "--envelope"}));
    CHECK(ok(s.kw.run({"open", "--context", "record:lc-purge/p#3"}, envelope.out)).out == "new");
}

TEST_CASE("every record command on a record that never existed is exit 4") {
    auto& s = CliSetup::shared();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"get", "lc-none/x"},
             {"get", "lc-none/x", "--envelope"},
             {"show", "lc-none/x"},
             {"versions", "lc-none/x"},
             {"restore", "lc-none/x", "--version", "1"},
             {"revoke", "lc-none/x"},
             {"delete", "lc-none/x"},
             {"recover", "lc-none/x"},
             {"purge", "lc-none/x", "--yes"},
             {"update", "lc-none/x", "--description", "d"},
             {"rotate-secret", "lc-none/x"},
         }) {
        INFO(args[0]);
        expect_refused(s.kw.run(args), 4, "no record lc-none/x");
    }
}

// --- versions and restore -------------------------------------------------------------------

TEST_CASE("restore stores an old value as a new version that keeps the value's age") {
    auto& s = CliSetup::shared();
    for (const char* v : {"one", "two", "three"}) {
        ok(s.kw.run({"put", "lc-ver/r", "--kind", "api_key"}, v));
    }
    auto versions = ok(s.kw.run({"versions", "lc-ver/r", "--json"}));
    CHECK_THAT(versions.out,
               Catch::StartsWith("{\"record\":\"lc-ver/r\",\"versions\":[{\"version\":1,"));
    std::size_t puts = 0;
    for (auto at = versions.out.find("\"origin\":\"put\""); at != std::string::npos;
         at = versions.out.find("\"origin\":\"put\"", at + 1)) {
        ++puts;
    }
    CHECK(puts == 3);
    CHECK(versions.out.find("\"version\":4") == std::string::npos);

    // Version 1's value counts as stored in 2020; its restore keeps that date.
    exec_sql(s,
             "UPDATE record_versions SET value_since = '2020-01-01T00:00:00Z' WHERE namespace "
             "= 'lc-ver' AND name = 'r' AND version = 1");
    CHECK(ok(s.kw.run({"restore", "lc-ver/r", "--version", "1"})).out ==
          "restored lc-ver/r version 1 as version 4\n");
    CHECK(ok(s.kw.run({"get", "lc-ver/r"})).out == "one");
    versions = ok(s.kw.run({"versions", "lc-ver/r", "--json"}));
    const std::string v4 = versions.out.substr(versions.out.find("{\"version\":4,"));
    CHECK(json_value(v4, "origin") == "\"restore:1\"");
    CHECK(json_value(v4, "value_since") == "\"2020-01-01T00:00:00Z\"");
    const auto show = ok(s.kw.run({"show", "lc-ver/r", "--json"}));
    CHECK(json_value(show.out, "latest") == "4");
    CHECK(json_value(show.out, "rotation") == kDefault90 + "2020-03-31T00:00:00Z\"}");

    const auto envelope = ok(s.kw.run({"get", "lc-ver/r", "--envelope", "--version", "4"}));
    CHECK_THAT(envelope.out, Catch::StartsWith("kwe1:"));
    CHECK(ok(s.kw.run({"open", "--context", "record:lc-ver/r#4"}, envelope.out)).out == "one");
    expect_refused(s.kw.run({"open", "--context", "record:lc-ver/r#1"}, envelope.out), 3,
                   "authentication");

    CHECK(ok(s.kw.run({"--json", "restore", "lc-ver/r", "--version", "2"})).out ==
          "{\"record\":\"lc-ver/r\",\"version\":5,\"restored_from\":2}\n");
    CHECK(ok(s.kw.run({"get", "lc-ver/r"})).out == "two");
    CHECK(ok(s.kw.run({"get", "lc-ver/r", "--version", "3"})).out == "three");
    expect_refused(s.kw.run({"restore", "lc-ver/r"}), 2, "restore needs --version N");
    expect_refused(s.kw.run({"restore", "lc-ver/r", "--version", "9"}), 4, "has no version 9");
    expect_refused(s.kw.run({"restore", "lc-ver/r", "--version", "0"}), 2, "--version");
}

// --- generated secrets ----------------------------------------------------------------------

TEST_CASE("put --generate stores random bytes from the token for the kinds keyward generates") {
    auto& s = CliSetup::shared();
    CHECK(ok(s.kw.run({"put", "lc-gen/w", "--generate", "32", "--kind", "webhook_secret"})).out ==
          "stored lc-gen/w version 1\n");
    ok(s.kw.run({"put", "lc-gen/w2", "--generate", "32", "--kind", "webhook_secret"}));
    const std::string w = ok(s.kw.run({"get", "lc-gen/w"})).out;
    CHECK(w.size() == 32);
    CHECK(ok(s.kw.run({"get", "lc-gen/w2"})).out.size() == 32);
    CHECK(ok(s.kw.run({"get", "lc-gen/w2"})).out != w);
    const auto show = ok(s.kw.run({"show", "lc-gen/w", "--json"}));
    CHECK_THAT(show.out, Catch::EndsWith(",\"generate_bytes\":32}\n"));
    CHECK(json_value(ok(s.kw.run({"versions", "lc-gen/w", "--json"})).out, "origin") ==
          "\"generate\"");

    const auto in = fresh_dir("cli-gen") / "value";
    std::ofstream(in) << "given";
    expect_refused(s.kw.run({"put", "lc-gen/x", "--generate", "8", "--kind", "webhook_secret"}), 2,
                   "from 16 to 4096");
    expect_refused(s.kw.run({"put", "lc-gen/x", "--generate", "32", "--kind", "wallet"}), 2,
                   "does not generate");
    expect_refused(
        s.kw.run({"put", "lc-gen/x", "--generate", "32", "--kind", "api_key", "--in", in.string()}),
        2, "not both");
    CHECK(listed(s.kw, {"lc-gen"}) == std::vector<std::string>{"lc-gen/w", "lc-gen/w2"});
}

TEST_CASE("rotate-secret stores a new generated version of the same or a given length") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-rot/w", "--generate", "24", "--kind", "webhook_secret"}));
    const std::string first = ok(s.kw.run({"get", "lc-rot/w"})).out;
    CHECK(ok(s.kw.run({"rotate-secret", "lc-rot/w"})).out == "rotated lc-rot/w: new version 2\n");
    const std::string second = ok(s.kw.run({"get", "lc-rot/w"})).out;
    CHECK(second.size() == 24);
    CHECK(second != first);
    CHECK(ok(s.kw.run({"get", "lc-rot/w", "--version", "1"})).out == first);
    const auto versions = ok(s.kw.run({"versions", "lc-rot/w", "--json"}));
    CHECK(json_value(versions.out.substr(versions.out.find("{\"version\":2,")), "origin") ==
          "\"rotate-secret\"");
    CHECK(ok(s.kw.run({"--json", "rotate-secret", "lc-rot/w", "--bytes", "48"})).out ==
          "{\"record\":\"lc-rot/w\",\"version\":3}\n");
    CHECK(ok(s.kw.run({"get", "lc-rot/w"})).out.size() == 48);
    CHECK_THAT(ok(s.kw.run({"show", "lc-rot/w", "--json"})).out,
               Catch::EndsWith(",\"generate_bytes\":48}\n"));

    // A value put by hand is replaced by 32 generated bytes; a wallet is its issuer's to rotate.
    ok(s.kw.run({"put", "lc-rot/api", "--kind", "api_key"}, "typed-in"));
    CHECK(ok(s.kw.run({"rotate-secret", "lc-rot/api"})).out ==
          "rotated lc-rot/api: new version 2\n");
    CHECK(ok(s.kw.run({"get", "lc-rot/api"})).out.size() == 32);
    ok(s.kw.run({"put", "lc-rot/wal", "--kind", "wallet"}, "w"));
    expect_refused(s.kw.run({"rotate-secret", "lc-rot/wal"}), 1, "which its issuer rotates");
    expect_refused(s.kw.run({"rotate-secret", "lc-rot/w", "--bytes", "8"}), 2, "from 16 to 4096");
    expect_refused(s.kw.run({"rotate-secret"}), 2, "needs NS/NAME, or --due");
    expect_refused(s.kw.run({"rotate-secret", "--due", "lc-rot/w"}), 2, "takes a namespace");
    expect_refused(s.kw.run({"rotate-secret", "--due", "--bytes", "32"}), 2, "not --due");
}

TEST_CASE("rotate-secret --due rotates exactly the auto-rotate records past their rotation date") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-due/old", "--generate", "32", "--kind", "webhook_secret"}));
    ok(s.kw.run({"put", "lc-due/new", "--generate", "32", "--kind", "webhook_secret"}));
    ok(s.kw.run({"put", "lc-due/manual", "--kind", "api_key"}, "by hand"));  // no auto-rotate
    make_old(s, "lc-due", "old");
    make_old(s, "lc-due", "manual");
    const std::string before = ok(s.kw.run({"get", "lc-due/old"})).out;

    CHECK(ok(s.kw.run({"rotate-secret", "--due", "lc-due", "--json"})).out ==
          "{\"rotated\":[{\"record\":\"lc-due/old\",\"version\":2}],\"failed\":0}\n");
    const std::string after = ok(s.kw.run({"get", "lc-due/old"})).out;
    CHECK(after.size() == 32);
    CHECK(after != before);
    CHECK(json_value(ok(s.kw.run({"show", "lc-due/new", "--json"})).out, "latest") == "1");
    CHECK(ok(s.kw.run({"get", "lc-due/manual"})).out == "by hand");
    // Rotated, the record is no longer due.
    CHECK(ok(s.kw.run({"rotate-secret", "--due", "lc-due"})).out == "0 rotated, 0 failed\n");
}

TEST_CASE("rotate-secret --due names each record it could not rotate and exits 1") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-duefail/w", "--kind", "wallet"}, "w"));
    // A wallet marked auto-rotate by another program (put and update refuse to do that).
    exec_sql(s,
             "UPDATE records SET rotate_after_days = 30, auto_rotate = 1, value_since = "
             "'2020-01-01T00:00:00Z' WHERE namespace = 'lc-duefail' AND name = 'w'");
    const auto r = s.kw.run({"rotate-secret", "--due", "lc-duefail", "--json"});
    CHECK(r.exit_code == 1);
    // One JSON document, the report, whose errors say what went wrong.
    CHECK_THAT(r.out, Catch::StartsWith("{\"rotated\":[{\"record\":\"lc-duefail/w\",\"error\":"
                                        "\"record lc-duefail/w is of kind wallet, which its "
                                        "issuer rotates"));
    CHECK_THAT(r.out, Catch::EndsWith("\"}],\"failed\":1}\n"));
    CHECK(r.out.find('\n') == r.out.size() - 1);
    CHECK_THAT(r.err, Catch::EndsWith("1 of 1 due secrets were not rotated (see above)\n"));
    CHECK(ok(s.kw.run({"get", "lc-duefail/w"})).out == "w");
}
