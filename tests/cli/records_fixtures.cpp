// SPDX-License-Identifier: Apache-2.0
// Helpers of the records test files; see records_fixtures.hpp.
#include "records_fixtures.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <stdexcept>

#include "support/test_env.hpp"

namespace keyward::test {

// A success: exit 0 and nothing on stderr.
CliResult ok(const CliResult& r) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    return r;
}

// The same setup acting as another user (records name $USER as created_by / updated_by).
CliRunner as_user(const CliSetup& s, const std::string& user) {
    // Principals, not OS users, are who made a change (docs/ACCESS.md): the owner grants the
    // name admin of everything, then acts as it.
    auto granted = s.kw.run({"access", "grant", user, "admin", "--on", "*"});
    if (granted.exit_code != 0) throw std::runtime_error("access grant: " + granted.err);
    CliRunner kw = s.kw;
    kw.prefix = {"--principal", user};
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

}  // namespace keyward::test
