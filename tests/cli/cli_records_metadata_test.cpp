// SPDX-License-Identifier: Apache-2.0
// What a record says about itself, end to end through the real binary, a real SoftHSM token and
// a real SQLite file: description, tags, who made it and each kind's default rotation policy,
// certificates made by the real openssl, namespace maps, and metadata or values refused as bad
// input. Lifecycle and versions are in cli_records_lifecycle_test.cpp, list, stats and health in
// cli_records_reports_test.cpp.
#include <catch2/catch.hpp>

#include <fstream>

#include "records_fixtures.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

// --- metadata -------------------------------------------------------------------------------

TEST_CASE("put stores description, tags, who made it, and the kind's default policy") {
    auto& s = CliSetup::shared();
    ok(as_user(s, "alice")
           .run({"put", "lc-meta/api", "--kind", "api_key", "--description", "Stripe live key",
                 "--tag", "env=prod", "--tag", "team=pay"},
                "v"));
    const auto show = ok(s.kw.run({"show", "lc-meta/api", "--json"}));
    CHECK_THAT(show.out,
               Catch::StartsWith("{\"record\":\"lc-meta/api\",\"namespace\":\"lc-meta\",\"name\":"
                                 "\"api\",\"kind\":\"api_key\",\"state\":\"active\",\"latest\":1,"
                                 "\"description\":\"Stripe live key\",\"tags\":{\"env\":\"prod\","
                                 "\"team\":\"pay\"},\"created_at\":\""));
    CHECK(json_value(show.out, "created_by") == "\"alice\"");
    CHECK(json_value(show.out, "updated_by") == "\"alice\"");
    CHECK(json_value(show.out, "expires_at") == "null");
    const std::string since = json_string(show.out, "value_since");
    CHECK(json_string(show.out, "created_at") == since);
    CHECK(json_value(show.out, "rotation") == kDefault90 + plus_days(since, 90) + "\"}");

    const auto text = ok(s.kw.run({"show", "lc-meta/api"}));
    CHECK_THAT(text.out, Catch::StartsWith("record:      lc-meta/api\nkind:        api_key\n"
                                           "state:       active\nlatest:      v1\n"
                                           "description: Stripe live key\n"
                                           "tag:         env=prod\ntag:         team=pay\n"));
    CHECK_THAT(text.out, Catch::Contains("by alice\n"));
    CHECK_THAT(text.out, Catch::EndsWith("expires:     never\nrotation:    every 90 days, warn 14 "
                                         "days before; due " +
                                         plus_days(since, 90) + "\n"));
}

TEST_CASE("each kind starts with its own default rotation policy") {
    auto& s = CliSetup::shared();
    struct Case {
        const char* kind;
        std::string rotation;  // the start of "rotation" in show --json
    };
    for (const auto& c : std::vector<Case>{
             {"api_key", kDefault90},
             {"oauth_refresh_token", kDefault90},
             {"basic_auth_password", kDefault90},
             {"client_certificate",
              "{\"rotate_after_days\":365,\"warn_before_days\":30,\"auto_rotate\":false,"},
             {"webhook_secret",
              "{\"rotate_after_days\":180,\"warn_before_days\":14,\"auto_rotate\":true,"},
             {"oauth_access_token", "null"},
             {"wallet", "null"},
         }) {
        INFO(c.kind);
        const std::string address = std::string("lc-kinds/") + c.kind;
        ok(s.kw.run({"put", address, "--kind", c.kind, "--expires", "2040-01-01"}, "v"));
        const auto show = ok(s.kw.run({"show", address, "--json"}));
        CHECK_THAT(json_value(show.out, "rotation"), Catch::StartsWith(c.rotation));
    }
}

TEST_CASE("update changes description, tags, policy and expiry, and adds no version") {
    auto& s = CliSetup::shared();
    ok(as_user(s, "alice")
           .run({"put", "lc-update/r", "--kind", "webhook_secret", "--expires", "2031-01-01",
                 "--description", "first", "--tag", "a=1", "--tag", "b=2"},
                "v"));
    auto bob = as_user(s, "bob");
    CHECK(ok(bob.run({"update", "lc-update/r", "--description", "second", "--untag", "a", "--tag",
                      "c=3"}))
              .out == "updated lc-update/r\n");
    auto show = ok(s.kw.run({"show", "lc-update/r", "--json"}));
    CHECK(json_value(show.out, "latest") == "1");
    CHECK(json_value(show.out, "description") == "\"second\"");
    CHECK(json_value(show.out, "tags") == "{\"b\":\"2\",\"c\":\"3\"}");
    CHECK(json_value(show.out, "created_by") == "\"alice\"");
    CHECK(json_value(show.out, "updated_by") == "\"bob\"");
    CHECK(json_value(show.out, "expires_at") == "\"2031-01-01T00:00:00Z\"");

    // The policy changes from the record's own: the warning period stays, auto-rotate goes.
    show = ok(
        s.kw.run({"update", "lc-update/r", "--rotate-after", "30", "--no-auto-rotate", "--json"}));
    CHECK_THAT(json_value(show.out, "rotation"),
               Catch::StartsWith("{\"rotate_after_days\":30,\"warn_before_days\":14,"
                                 "\"auto_rotate\":false,"));

    show = ok(s.kw.run(
        {"update", "lc-update/r", "--rotate-after", "none", "--expires", "none", "--json"}));
    CHECK(json_value(show.out, "rotation") == "null");
    CHECK(json_value(show.out, "expires_at") == "null");
    CHECK(json_value(show.out, "latest") == "1");
    // The latest version's expiry follows the record's.
    const auto versions = ok(s.kw.run({"versions", "lc-update/r", "--json"}));
    CHECK(json_value(versions.out, "expires_at") == "null");
    CHECK(versions.out.find("\"version\":2") == std::string::npos);
}

TEST_CASE("put's policy options change an existing record's policy, not its kind's default") {
    auto& s = CliSetup::shared();
    ok(s.kw.run({"put", "lc-policy/w", "--kind", "webhook_secret", "--rotate-after", "30"}, "a"));
    auto show = ok(s.kw.run({"show", "lc-policy/w", "--json"}));
    CHECK_THAT(json_value(show.out, "rotation"),
               Catch::StartsWith("{\"rotate_after_days\":30,\"warn_before_days\":14,"
                                 "\"auto_rotate\":true,"));
    ok(s.kw.run({"put", "lc-policy/w", "--kind", "webhook_secret", "--warn-before", "3"}, "b"));
    show = ok(s.kw.run({"show", "lc-policy/w", "--json"}));
    CHECK_THAT(json_value(show.out, "rotation"),
               Catch::StartsWith("{\"rotate_after_days\":30,\"warn_before_days\":3,"
                                 "\"auto_rotate\":true,"));
    // Without policy options a put keeps the policy as it is.
    ok(s.kw.run({"put", "lc-policy/w", "--kind", "webhook_secret"}, "c"));
    CHECK_THAT(json_value(ok(s.kw.run({"show", "lc-policy/w", "--json"})).out, "rotation"),
               Catch::StartsWith("{\"rotate_after_days\":30,\"warn_before_days\":3,"));
}

TEST_CASE("auto-rotate is refused for kinds keyward does not generate, on put as on update") {
    auto& s = CliSetup::shared();
    expect_refused(
        s.kw.run({"put", "lc-auto/w", "--kind", "wallet", "--rotate-after", "30", "--auto-rotate"},
                 "v"),
        2, "auto-rotate needs a kind keyward generates");
    CHECK(ok(s.kw.run({"list", "lc-auto"})).out == "no records\n");
    ok(s.kw.run({"put", "lc-auto/w", "--kind", "wallet"}, "v"));
    expect_refused(s.kw.run({"update", "lc-auto/w", "--rotate-after", "30", "--auto-rotate"}), 2,
                   "auto-rotate needs a kind keyward generates");
}

// --- client certificates --------------------------------------------------------------------

TEST_CASE("a client certificate expires at its notAfter as openssl reads it") {
    auto& s = CliSetup::shared();
    const auto dir = fresh_dir("cli-cert");
    const auto key = dir / "k.pem", pem = dir / "c.pem", der = dir / "c.der";
    run_shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '" +
              key.string() + "' -out '" + pem.string() + "' -days 400 -subj /CN=t 2>/dev/null");
    run_shell("openssl x509 -in '" + pem.string() + "' -outform DER -out '" + der.string() + "'");
    const std::string not_after = openssl_not_after(pem);
    CHECK(not_after > date_in(399));
    CHECK(not_after < date_in(402));

    CHECK(ok(s.kw.run({"--json", "put", "lc-cert/pem", "--kind", "client_certificate", "--in",
                       pem.string()}))
              .out ==
          "{\"record\":\"lc-cert/pem\",\"kind\":\"client_certificate\",\"version\":1,"
          "\"expires_at\":\"" +
              not_after + "\"}\n");
    CHECK(json_string(ok(s.kw.run({"show", "lc-cert/pem", "--json"})).out, "expires_at") ==
          not_after);
    ok(s.kw.run({"put", "lc-cert/der", "--kind", "client_certificate", "--in", der.string()}));
    CHECK(json_string(ok(s.kw.run({"show", "lc-cert/der", "--json"})).out, "expires_at") ==
          not_after);
    CHECK(ok(s.kw.run({"get", "lc-cert/pem"})).out == read_file(pem));

    // Not a certificate: refused unless --expires says when it expires.
    expect_refused(s.kw.run({"put", "lc-cert/bad", "--kind", "client_certificate"}, "not a cert"),
                   1, "not an X.509 certificate");
    expect_refused(
        s.kw.run({"put", "lc-cert/key", "--kind", "client_certificate", "--in", key.string()}), 1,
        "not an X.509 certificate");
    CHECK(listed(s.kw, {"lc-cert"}) == std::vector<std::string>{"lc-cert/der", "lc-cert/pem"});
    ok(s.kw.run({"put", "lc-cert/bad", "--kind", "client_certificate", "--expires", "2030-06-01"},
                "not a cert"));
    CHECK(json_string(ok(s.kw.run({"show", "lc-cert/bad", "--json"})).out, "expires_at") ==
          "2030-06-01T00:00:00Z");
    // An explicit --expires wins over the certificate's notAfter.
    ok(s.kw.run({"put", "lc-cert/early", "--kind", "client_certificate", "--in", pem.string(),
                 "--expires", "2027-01-01T12:00:00+02:00"}));
    CHECK(json_string(ok(s.kw.run({"show", "lc-cert/early", "--json"})).out, "expires_at") ==
          "2027-01-01T10:00:00Z");
}

// --- namespaces -----------------------------------------------------------------------------

TEST_CASE("namespace map seals a namespace's records under a chosen keyring, once") {
    auto s = CliSetup::fresh("cli-records-ns");
    ok(s.kw.run({"keyring", "create", "shared"}));
    CHECK(ok(s.kw.run({"namespace", "map", "tenant9", "--keyring", "shared"})).out ==
          "namespace tenant9 now seals its records under keyring shared\n");
    ok(s.kw.run({"put", "tenant9/x", "--kind", "wallet"}, "mapped"));
    const auto envelope = ok(s.kw.run({"get", "tenant9/x", "--envelope"}));
    CHECK(ok(s.kw.run({"open", "--context", "record:tenant9/x#1"}, envelope.out)).out == "mapped");
    CHECK(json_value(ok(s.kw.run({"versions", "tenant9/x", "--json"})).out, "keyring") ==
          "\"shared\"");
    // No keyring of the namespace's own name was made.
    expect_refused(s.kw.run({"keyring", "show", "tenant9"}), 4, "tenant9");

    expect_refused(s.kw.run({"namespace", "map", "tenant9", "--keyring", "shared"}), 1,
                   "already maps to keyring shared");
    expect_refused(s.kw.run({"namespace", "map", "tenant10", "--keyring", "missing"}), 4,
                   "no keyring missing");
    expect_refused(s.kw.run({"namespace", "map", "Tenant", "--keyring", "shared"}), 2,
                   "invalid namespace");
    expect_refused(s.kw.run({"namespace", "map", "tenant11"}), 2, "--keyring");

    // An unmapped namespace gets the keyring of its own name on first use, and keeps it.
    ok(s.kw.run({"put", "other/y", "--kind", "wallet"}, "v"));
    CHECK(json_value(ok(s.kw.run({"versions", "other/y", "--json"})).out, "keyring") ==
          "\"other\"");
    expect_refused(s.kw.run({"namespace", "map", "other", "--keyring", "shared"}), 1,
                   "already maps to keyring other");
    const auto list = ok(s.kw.run({"namespace", "list", "--json"}));
    CHECK_THAT(list.out, Catch::StartsWith("{\"namespaces\":[{\"name\":\"other\",\"keyring\":"
                                           "\"other\",\"created_at\":\""));
    CHECK_THAT(list.out, Catch::Contains("},{\"name\":\"tenant9\",\"keyring\":\"shared\","
                                         "\"created_at\":\""));
    CHECK_THAT(list.out, Catch::EndsWith("\"}]}\n"));
    CHECK(ok(s.kw.run({"namespace", "list"})).out ==
          "other -> keyring other\ntenant9 -> keyring shared\n");
}

// --- bad input ------------------------------------------------------------------------------

TEST_CASE("bad metadata is a one-line usage error and stores nothing") {
    auto& s = CliSetup::shared();
    std::vector<std::string> too_many = {"put", "lc-bad/r", "--kind", "api_key"};
    for (int i = 0; i < 33; ++i) {
        too_many.insert(too_many.end(), {"--tag", "k" + std::to_string(i) + "=v"});
    }
    struct Case {
        std::vector<std::string> args;
        const char* says;
    };
    for (const auto& c : std::vector<Case>{
             {{"put", "lc-bad/r", "--kind", "api_key", "--description", "two\nlines"},
              "invalid description"},
             {too_many, "at most 32 tags"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--tag", "a b=c"},
              "invalid tag key \"a b\""},
             {{"put", "lc-bad/r", "--kind", "api_key", "--tag", "k=a\tb"}, "invalid value for tag"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--rotate-after", "10", "--warn-before",
               "10"},
              "--warn-before must be shorter than --rotate-after"},
             {{"put", "lc-bad/r", "--kind", "oauth_access_token", "--warn-before", "5"},
              "needs --rotate-after"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--rotate-after", "none", "--warn-before",
               "3"},
              "--rotate-after none takes no"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--auto-rotate", "--no-auto-rotate"},
              "not both"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--rotate-after", "0"}, "--rotate-after"},
             {{"put", "lc-bad/r", "--kind", "api_key", "--expires", "tomorrow"}, "ISO 8601"},
         }) {
        INFO(c.says);
        expect_refused(s.kw.run(c.args, "v"), 2, c.says);
    }
    CHECK(ok(s.kw.run({"list", "lc-bad"})).out == "no records\n");

    // update checks the same rules, and the tag limit counts the tags the record has.
    std::vector<std::string> thirty = {"put", "lc-bad/ok", "--kind", "api_key"};
    for (int i = 0; i < 30; ++i) {
        thirty.insert(thirty.end(), {"--tag", "k" + std::to_string(i) + "=v"});
    }
    ok(s.kw.run(thirty, "v"));
    expect_refused(s.kw.run({"update", "lc-bad/ok", "--description", "tab\there"}), 2,
                   "invalid description");
    expect_refused(s.kw.run({"update", "lc-bad/ok", "--untag", "bad key"}), 2, "invalid tag key");
    expect_refused(
        s.kw.run({"update", "lc-bad/ok", "--tag", "x=1", "--tag", "y=2", "--tag", "z=3"}), 2,
        "at most 32 tags");
    CHECK(ok(s.kw.run({"update", "lc-bad/ok", "--tag", "x=1", "--tag", "y=2", "--untag", "k0",
                       "--tag", "z=3"}))
              .out == "updated lc-bad/ok\n");
    expect_refused(s.kw.run({"update", "lc-bad/ok", "--rotate-after", "10", "--warn-before", "10"}),
                   2, "--warn-before must be shorter");
    expect_refused(s.kw.run({"update", "lc-bad/ok", "--expires", "soon"}), 2, "ISO 8601");
}

TEST_CASE("a value over 64 MiB is refused and nothing is stored") {
    auto& s = CliSetup::shared();
    const auto big = fresh_dir("cli-records-big") / "value";
    {
        std::ofstream out(big, std::ios::binary);
        out.seekp(64 * 1024 * 1024);
        out.put('x');  // 64 MiB of zeros, then one byte more
    }
    REQUIRE(std::filesystem::file_size(big) == 64u * 1024u * 1024u + 1u);
    expect_refused(s.kw.run({"put", "lc-big/r", "--kind", "wallet", "--in", big.string()}), 1,
                   "64 MiB");
    std::filesystem::remove(big);
    CHECK(ok(s.kw.run({"list", "lc-big"})).out == "no records\n");
    expect_refused(s.kw.run({"show", "lc-big/r"}), 4, "no record lc-big/r");
}
