// The records features end to end through the real binary, a real SoftHSM token and a real
// SQLite file: metadata and each kind's default rotation policy, certificates made by the real
// openssl, the lifecycle table, versions and restores, generated secrets and due rotation, list
// filters, stats, health, namespace maps, bad input, and no value ever in output or on disk.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

namespace {

// A failure: the exit code, one line on stderr saying `says`, nothing on stdout.
void expect_refused(const CliResult& r, int exit, const std::string& says) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == exit);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains(says));
    CHECK(r.out.empty());
}

// A success: exit 0 and nothing on stderr.
CliResult ok(const CliResult& r) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    return r;
}

// The same setup acting as another user (records name $USER as created_by / updated_by).
CliRunner as_user(const CliSetup& s, const std::string& user) {
    CliRunner kw = s.kw;
    kw.env["USER"] = user;
    return kw;
}

// t as "YYYY-MM-DD" (with_time false) or "YYYY-MM-DDTHH:MM:SSZ", in UTC.
std::string utc_text(std::time_t t, bool with_time) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    if (with_time) {
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
        std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    }
    return buf;
}

// The UTC date `days` from now, "YYYY-MM-DD" (its start in UTC when given as --expires).
std::string date_in(int days) {
    return utc_text(std::time(nullptr) + std::time_t{days} * 86400, false);
}

// "2030-01-01T00:00:00Z" plus `days`.
std::string plus_days(const std::string& stamp, int days) {
    std::tm tm{};
    REQUIRE(strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
    return utc_text(timegm(&tm) + std::time_t{days} * 86400, true);
}

// The JSON text of the first value of `key` in `doc`: a string with its quotes, an object or
// array with its brackets, or a scalar.
std::string json_value(const std::string& doc, const std::string& key) {
    const std::string k = "\"" + key + "\":";
    const auto at = doc.find(k);
    if (at == std::string::npos) return "<no " + key + ">";
    const std::size_t start = at + k.size();
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = start; i < doc.size(); ++i) {
        const char c = doc[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
                if (depth == 0) return doc.substr(start, i + 1 - start);
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return doc.substr(start, i - start);
            if (--depth == 0) return doc.substr(start, i + 1 - start);
        } else if (c == ',' && depth == 0) {
            return doc.substr(start, i - start);
        }
    }
    return doc.substr(start);
}

// A JSON string value without its quotes.
std::string json_string(const std::string& doc, const std::string& key) {
    const std::string v = json_value(doc, key);
    return v.size() >= 2 && v.front() == '"' ? v.substr(1, v.size() - 2) : v;
}

// The records `keyward list ARGS --json` names, in order.
std::vector<std::string> listed(const CliRunner& kw, const std::vector<std::string>& filters) {
    // Built front to back: GCC 12 at -O3 reports a false -Wnull-dereference for an insert at
    // begin() here.
    std::vector<std::string> args = {"list"};
    args.insert(args.end(), filters.begin(), filters.end());
    args.push_back("--json");
    const auto r = ok(kw.run(args));
    std::vector<std::string> names;
    const std::string key = "{\"record\":\"";
    for (auto at = r.out.find(key); at != std::string::npos; at = r.out.find(key, at + 1)) {
        const auto start = at + key.size();
        names.push_back(r.out.substr(start, r.out.find('"', start) - start));
    }
    return names;
}

// Test setup straight into the database file, as another program would: SQL that must change
// at least one row.
void exec_sql(const CliSetup& s, const std::string& sql) {
    sqlite3* db = nullptr;
    const std::string path = (s.dir / "keyward.db").string();
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const int changed = sqlite3_changes(db);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(sql << ": " << message);
    REQUIRE(rc == SQLITE_OK);
    REQUIRE(changed >= 1);
}

// NS/NAME's value counts as stored on 2020-01-01: every rotation policy finds it due.
void make_old(const CliSetup& s, const std::string& ns, const std::string& name) {
    exec_sql(s, "UPDATE records SET value_since = '2020-01-01T00:00:00Z' WHERE namespace = '" + ns +
                    "' AND name = '" + name + "'");
}

void run_shell(const std::string& command) {
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
}

// The notAfter of a certificate as `openssl x509 -enddate` reads it, in ISO 8601 UTC.
std::string openssl_not_after(const std::filesystem::path& cert) {
    const auto out = cert.parent_path() / "enddate.txt";
    run_shell("openssl x509 -enddate -noout -in '" + cert.string() + "' > '" + out.string() + "'");
    const std::string line = read_file(out);  // notAfter=Dec 27 15:51:51 2027 GMT
    REQUIRE(line.rfind("notAfter=", 0) == 0);
    std::tm tm{};
    REQUIRE(strptime(line.c_str() + 9, "%b %d %H:%M:%S %Y GMT", &tm) != nullptr);
    return utc_text(timegm(&tm), true);
}

const std::string kDefault90 =
    "{\"rotate_after_days\":90,\"warn_before_days\":14,\"auto_rotate\":false,\"due_at\":\"";

}  // namespace

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
                                         "within 30 days)\n- 1 record is past the rotation date"));
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
