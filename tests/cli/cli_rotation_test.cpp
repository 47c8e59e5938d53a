// KEK rotation end to end through the real binary on a real SoftHSM token: a rotation changes
// only envelope headers, rollback (finished and interrupted), retire, compromise and
// re-encryption, the lease, writers during a rotation, and SIGKILL at random points (a soak
// whose count $KEYWARD_SOAK_KILLS sets; tests/soak/rotation_kill_soak.sh runs it long).
// The database is read directly with SQLite and every record opened in this process through
// the library: the test's own view of what keyward committed, not keyward's report of it.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

// Maps of versions print their pairs when a comparison fails.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli_setup.hpp"
#include "crypto/json_reader.hpp"
#include "keyward/keyward.hpp"
#include "p11/p11_hsm.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- The database, read directly -------------------------------------------------------------

using Db = SqliteFile;

std::string quoted(const std::string& s) {
    return "'" + s + "'";  // test-chosen names only: [a-z0-9]
}

/// Stored record versions per KEK version of a keyring.
std::map<std::uint32_t, std::int64_t> rows_per_kek(const Db& db, const std::string& ring) {
    std::map<std::uint32_t, std::int64_t> out;
    db.each("SELECT kek_version, count(*) FROM record_versions WHERE keyring = " + quoted(ring) +
                " GROUP BY kek_version",
            [&](sqlite3_stmt* st) {
                out[static_cast<std::uint32_t>(sqlite3_column_int64(st, 0))] =
                    sqlite3_column_int64(st, 1);
            });
    return out;
}

std::int64_t kept_rows(const Db& db, const std::string& ring, std::int64_t kek_version = 0) {
    std::string sql = "SELECT count(*) FROM kept_wraps WHERE keyring = " + quoted(ring);
    if (kek_version != 0) sql += " AND kek_version = " + std::to_string(kek_version);
    return db.integer(sql);
}

struct JobRow {
    std::int64_t id = 0;
    std::string kind, state;
    std::uint32_t from = 0, to = 0;
    std::int64_t total = 0, done = 0, skipped = 0, failed = 0, hsm_rewraps = 0, runs = 0;
};

std::vector<JobRow> job_rows(const Db& db, const std::string& ring, const std::string& where) {
    std::vector<JobRow> out;
    db.each(
        "SELECT id, kind, state, from_version, to_version, total, done, skipped, failed, "
        "hsm_rewraps, runs FROM rotation_jobs WHERE keyring = " +
            quoted(ring) + where + " ORDER BY id",
        [&](sqlite3_stmt* st) {
            JobRow j;
            j.id = sqlite3_column_int64(st, 0);
            j.kind = Db::column_text(st, 1);
            j.state = Db::column_text(st, 2);
            j.from = static_cast<std::uint32_t>(sqlite3_column_int64(st, 3));
            j.to = static_cast<std::uint32_t>(sqlite3_column_int64(st, 4));
            j.total = sqlite3_column_int64(st, 5);
            j.done = sqlite3_column_int64(st, 6);
            j.skipped = sqlite3_column_int64(st, 7);
            j.failed = sqlite3_column_int64(st, 8);
            j.hsm_rewraps = sqlite3_column_int64(st, 9);
            j.runs = sqlite3_column_int64(st, 10);
            out.push_back(j);
        });
    return out;
}

std::optional<JobRow> running_job(const Db& db, const std::string& ring) {
    auto jobs = job_rows(db, ring, " AND state = 'running'");
    if (jobs.empty()) return std::nullopt;
    return jobs.front();
}

// ---- Records, made and opened --------------------------------------------------------------

std::string record_name(int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "r%05d", i);
    return buf;
}

std::string imported_value(const std::string& ns, int i) {
    return "value of " + ns + "/" + record_name(i) + " #" + std::to_string(i * 7919);
}

/// n records NS/r00000.. (version 1, imported_value) in one `keyward import`.
void import_records(const CliSetup& s, const std::string& ns, int n) {
    const auto path = s.dir / (ns + ".jsonl");
    {
        std::ofstream f(path);
        for (int i = 0; i < n; ++i) {
            f << "{\"name\":\"" << record_name(i) << "\",\"kind\":\"custom_secret\",\"value\":\""
              << imported_value(ns, i) << "\"}\n";
        }
    }
    auto r = s.kw.run({"import", ns, "--jsonl", path.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out == "imported " + std::to_string(n) + " records into " + ns + ", refused 0\n");
}

/// SoftHSM reads SOFTHSM2_CONF once per C_Initialize and keyward sets it when it loads the
/// module in this process: put the environment back as it was for the next setup.
class SofthsmConfRestore {
  public:
    SofthsmConfRestore() {
        if (const char* v = std::getenv("SOFTHSM2_CONF")) saved_ = v;
    }
    ~SofthsmConfRestore() {
        if (saved_) {
            ::setenv("SOFTHSM2_CONF", saved_->c_str(), 1);
        } else {
            ::unsetenv("SOFTHSM2_CONF");
        }
    }
    SofthsmConfRestore(const SofthsmConfRestore&) = delete;
    SofthsmConfRestore& operator=(const SofthsmConfRestore&) = delete;

  private:
    std::optional<std::string> saved_;
};

/// label -> CKA_IDs of the KEK objects with that label in the setup's token, read in this
/// process through the PKCS#11 layer.
std::map<std::string, std::vector<keyward::Bytes>> token_keks(
    const CliSetup& s, const std::vector<std::string>& labels) {
    SofthsmConfRestore restore;
    auto config = keyward::load_config(s.dir / "keyward.conf");
    REQUIRE(config.ok());
    keyward::p11::ConnectOptions options;
    options.module_path = config->module;
    options.token = config->token;
    const auto pin = read_file(s.dir / "user.pin");
    REQUIRE(pin.size() > 1);
    options.pin.assign(pin.begin(), pin.end() - 1);
    options.softhsm2_conf = config->softhsm2_conf.string();
    auto hsm = keyward::p11::P11Hsm::connect(std::move(options));
    if (!hsm.ok()) FAIL("P11Hsm::connect: " << hsm.error().message());
    std::map<std::string, std::vector<keyward::Bytes>> out;
    for (const auto& label : labels) {
        auto found = (*hsm)->find_keks(label);
        REQUIRE(found.ok());
        auto& ids = out[label];
        for (const auto& k : *found) ids.push_back(k.id);
    }
    return out;
}

/// Every stored version of the keyring's records opened in this process through the library
/// (one login), each with its record context: "NS/NAME#V" -> plaintext. Any
/// failure fails the test.
std::map<std::string, std::string> open_all(const CliSetup& s, const std::string& ring) {
    struct Row {
        std::string address, envelope, plain, error;
    };
    std::vector<Row> rows;
    {
        Db db(s.dir / "keyward.db");
        db.each("SELECT namespace, name, version, envelope FROM record_versions WHERE keyring = " +
                    quoted(ring),
                [&](sqlite3_stmt* st) {
                    rows.push_back({Db::column_text(st, 0) + "/" + Db::column_text(st, 1) + "#" +
                                        std::to_string(sqlite3_column_int64(st, 2)),
                                    Db::column_blob(st, 3),
                                    {},
                                    {}});
                });
    }
    {
        SofthsmConfRestore restore;
        auto config = keyward::load_config(s.dir / "keyward.conf");
        REQUIRE(config.ok());
        auto kw = keyward::Keyward::open(*config);
        if (!kw.ok()) FAIL("Keyward::open: " << kw.error().message());
        for (auto& row : rows) {
            const std::string context = "record:" + row.address;
            auto plain = (*kw)->open(
                keyward::ByteView(reinterpret_cast<const std::uint8_t*>(row.envelope.data()),
                                  row.envelope.size()),
                keyward::ByteView(reinterpret_cast<const std::uint8_t*>(context.data()),
                                  context.size()));
            if (plain.ok()) {
                row.plain.assign(plain->begin(), plain->end());
            } else {
                row.error = plain.error().message();
            }
        }
    }
    std::map<std::string, std::string> out;
    std::size_t failed = 0;
    std::string first;
    for (auto& row : rows) {
        if (!row.error.empty()) {
            if (failed++ == 0) first = row.address + ": " + row.error;
            continue;
        }
        out.emplace(std::move(row.address), std::move(row.plain));
    }
    INFO(failed << " failed to open, first: " << first);
    REQUIRE(failed == 0);
    return out;
}

/// The n imported records of ns all open with their values (and nothing else is stored).
void check_imported(const std::map<std::string, std::string>& opened, const std::string& ns,
                    int n) {
    REQUIRE(opened.size() == static_cast<std::size_t>(n));
    int wrong = 0;
    std::string first;
    for (int i = 0; i < n; ++i) {
        auto it = opened.find(ns + "/" + record_name(i) + "#1");
        if (it == opened.end() || it->second != imported_value(ns, i)) {
            if (wrong++ == 0) first = record_name(i);
        }
    }
    INFO("first wrong: " << first);
    REQUIRE(wrong == 0);
}

// ---- The CLI's JSON ------------------------------------------------------------------------

Json json_of(const CliResult& r) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return Json::parse(r.out);
}

struct VersionState {
    std::string state;
    std::int64_t records = 0;
    friend bool operator==(const VersionState&, const VersionState&) = default;
};

std::ostream& operator<<(std::ostream& os, const VersionState& v) {
    return os << v.state << "/" << v.records;
}

/// `keyring show NAME --json`: version -> (state, records).
std::map<std::uint32_t, VersionState> show(const CliSetup& s, const std::string& ring) {
    auto j = json_of(s.kw.run({"keyring", "show", ring, "--json"}));
    std::map<std::uint32_t, VersionState> out;
    for (const auto& v : j["versions"].as_array()) {
        out[static_cast<std::uint32_t>(v["version"].as_int())] = {v["state"].as_string(),
                                                                  v["records"].as_int()};
    }
    return out;
}

std::vector<Json> history(const CliSetup& s, const std::string& ring) {
    auto j = json_of(s.kw.run({"keyring", "history", ring, "--json"}));
    return j["jobs"].as_array();
}

/// `keyward validate --keyring NAME --json`: every stored version of the keyring opens,
/// through the binary. Returns its per-version counts (version -> records).
std::map<std::uint32_t, std::int64_t> validate(const CliSetup& s, const std::string& ring,
                                               std::int64_t expected) {
    auto r = s.kw.run({"validate", "--keyring", ring, "--json"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    auto j = Json::parse(r.out);
    CHECK(j["checked"].as_int() == expected);
    CHECK(j["opened"].as_int() == expected);
    CHECK(j["failed"].as_int() == 0);
    std::map<std::uint32_t, std::int64_t> out;
    for (const auto& v : j["by_kek_version"].as_array()) {
        CHECK(v["keyring"].as_string() == ring);
        CHECK(v["failed"].as_int() == 0);
        out[static_cast<std::uint32_t>(v["version"].as_int())] = v["records"].as_int();
    }
    return out;
}

// ---- Envelopes per spec/ENVELOPE.md ------------------------------------------------------------

struct Envelope {
    std::string magic;  // 4 bytes
    int suite = 0;
    std::string keyring;
    std::uint32_t kek_version = 0;
    std::string wrapped_dek;
    std::string nonce;
    std::string payload;  // nonce || ciphertext || tag
};

Envelope parse_envelope(const std::string& b) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b.at(i)); };
    Envelope e;
    e.magic = b.substr(0, 4);
    e.suite = byte(4);
    const std::size_t n = byte(5);
    e.keyring = b.substr(6, n);
    std::size_t pos = 6 + n;
    e.kek_version = (std::uint32_t{byte(pos)} << 24) | (std::uint32_t{byte(pos + 1)} << 16) |
                    (std::uint32_t{byte(pos + 2)} << 8) | std::uint32_t{byte(pos + 3)};
    pos += 4;
    const std::size_t w = (std::size_t{byte(pos)} << 8) | byte(pos + 1);
    pos += 2;
    REQUIRE(b.size() >= pos + w + 12 + 16);
    e.wrapped_dek = b.substr(pos, w);
    e.payload = b.substr(pos + w);
    e.nonce = e.payload.substr(0, 12);
    return e;
}

Envelope parse_text_envelope(std::string text) {
    REQUIRE(text.rfind("kwe1:", 0) == 0);
    REQUIRE(text.back() == '\n');
    text.pop_back();
    return parse_envelope(unbase64(text.substr(5)));
}

Envelope cli_envelope(const CliSetup& s, const std::string& address) {
    auto r = s.kw.run({"get", address, "--envelope"});
    INFO(address << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return parse_text_envelope(r.out);
}

/// "NS/NAME#V" -> stored envelope bytes, for a keyring.
std::map<std::string, std::string> stored_envelopes(const Db& db, const std::string& ring) {
    std::map<std::string, std::string> out;
    db.each("SELECT namespace, name, version, envelope FROM record_versions WHERE keyring = " +
                quoted(ring),
            [&](sqlite3_stmt* st) {
                out.emplace(Db::column_text(st, 0) + "/" + Db::column_text(st, 1) + "#" +
                                std::to_string(sqlite3_column_int64(st, 2)),
                            Db::column_blob(st, 3));
            });
    return out;
}

// ---- Child processes ---------------------------------------------------------------------------

/// SIGKILL and reap; true when the kill ended it (false: it had exited on its own before).
bool kill_hard(CliChild& child) {
    child.kill(SIGKILL);
    return child.wait().exit_code == 128 + SIGKILL;
}

/// Waits until the keyring's running job has committed at least `done` record versions.
JobRow wait_for_progress(const Db& db, const std::string& ring, std::int64_t done,
                         CliChild& child) {
    const auto start = Clock::now();
    for (;;) {
        if (auto job = running_job(db, ring); job && job->done >= done) return *job;
        if (child.ended()) {
            auto r = child.wait();
            FAIL("the job ended (exit " << r.exit_code << ") before " << done
                                        << " record versions were moved: " << r.out << r.err);
        }
        if (seconds_since(start) > 120) FAIL("no progress to " << done << " within 120 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::int64_t env_number(const char* name, std::int64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::stoll(v) : fallback;
}

}  // namespace

TEST_CASE("a rotated envelope differs from the old one only in KEK version and wrapped DEK") {
    auto s = CliSetup::fresh("cli-rot-envelope");
    REQUIRE(s.kw.run({"keyring", "create", "gcmring", "--suite", "2"}).exit_code == 0);
    REQUIRE(s.kw.run({"namespace", "map", "gcm", "--keyring", "gcmring"}).exit_code == 0);
    struct Case {
        std::string ns, ring;
        int suite;
        std::size_t wrapped;
    };
    constexpr int n = 40;
    for (const auto& c : {Case{"kwp", "kwp", 1, 40}, Case{"gcm", "gcmring", 2, 60}}) {
        INFO("suite " << c.suite);
        import_records(s, c.ns, n);
        CHECK(show(s, c.ring) == std::map<std::uint32_t, VersionState>{{1, {"active", n}}});
        std::vector<Envelope> before;
        for (int i = 0; i < n; ++i) before.push_back(cli_envelope(s, c.ns + "/" + record_name(i)));
        const auto old_text = s.kw.run({"get", c.ns + "/" + record_name(3), "--envelope"}).out;

        auto report = json_of(s.kw.run({"keyring", "rotate", c.ring, "--json"}));
        CHECK(report["kind"].as_string() == "rotate");
        CHECK(report["state"].as_string() == "finished");
        CHECK(report["from_version"].as_int() == 1);
        CHECK(report["to_version"].as_int() == 2);
        CHECK(report["total"].as_int() == n);
        CHECK(report["done"].as_int() == n);
        CHECK(report["skipped"].as_int() == 0);
        CHECK(report["failed"].as_int() == 0);
        CHECK(report["hsm_rewraps"].as_int() == n);
        CHECK(report["runs"].as_int() == 1);
        CHECK_FALSE(report["resumed"].as_bool());
        CHECK(show(s, c.ring) ==
              std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", 0}}, {2, {"active", n}}});

        for (int i = 0; i < n; ++i) {
            const std::string address = c.ns + "/" + record_name(i);
            INFO(address);
            const auto after = cli_envelope(s, address);
            const auto& old = before[static_cast<std::size_t>(i)];
            CHECK(old.magic == std::string("KWE\x01", 4));
            CHECK(after.magic == old.magic);
            CHECK(old.suite == c.suite);
            CHECK(after.suite == old.suite);
            CHECK(after.keyring == c.ring);
            CHECK(old.keyring == c.ring);
            CHECK(old.kek_version == 1);
            CHECK(after.kek_version == 2);
            CHECK(old.wrapped_dek.size() == c.wrapped);
            CHECK(after.wrapped_dek.size() == c.wrapped);
            CHECK(after.wrapped_dek != old.wrapped_dek);
            CHECK(after.payload == old.payload);  // nonce, ciphertext and tag byte for byte
            auto get = s.kw.run({"get", address});
            CHECK(get.exit_code == 0);
            CHECK(get.out == imported_value(c.ns, i));
        }
        // A copy of the old envelope (a backup) still opens: v1 is decrypt-only, not gone.
        CHECK(s.kw.run({"open", "--context", "record:" + c.ns + "/" + record_name(3) + "#1"},
                       old_text)
                  .out == imported_value(c.ns, 3));
    }
}

TEST_CASE(
    "rollback after a finished rotation puts every record back under v1, re-wrapping in "
    "the token only what was sealed under v2") {
    auto s = CliSetup::fresh("cli-rot-rollback");
    Db db(s.dir / "keyward.db");
    constexpr int n = 200, late = 25, again = 25;
    import_records(s, "rb", n);
    REQUIRE(s.kw.run({"keyring", "rotate", "rb"}).exit_code == 0);
    CHECK(kept_rows(db, "rb", 1) == n);
    // Sealed under v2 after the rotation: new records and new versions of old ones.
    for (int i = 0; i < late; ++i) {
        REQUIRE(s.kw.run({"put", "rb/late" + std::to_string(i), "--kind", "custom_secret"},
                         "late value " + std::to_string(i))
                    .exit_code == 0);
    }
    for (int i = 0; i < again; ++i) {
        REQUIRE(s.kw.run({"put", "rb/" + record_name(i), "--kind", "custom_secret"},
                         "second value " + std::to_string(i))
                    .exit_code == 0);
    }
    const int total = n + late + again;
    CHECK(show(s, "rb") ==
          std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", 0}}, {2, {"active", total}}});

    auto report = json_of(s.kw.run({"keyring", "rollback", "rb", "--json"}));
    CHECK(report["kind"].as_string() == "rollback");
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["from_version"].as_int() == 2);
    CHECK(report["to_version"].as_int() == 1);
    CHECK(report["total"].as_int() == total);
    CHECK(report["done"].as_int() == total);
    CHECK(report["failed"].as_int() == 0);
    CHECK(report["hsm_rewraps"].as_int() == late + again);

    CHECK(show(s, "rb") ==
          std::map<std::uint32_t, VersionState>{{1, {"active", total}}, {2, {"decrypt-only", 0}}});
    auto jobs = history(s, "rb");
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0]["kind"].as_string() == "rotate");
    CHECK(jobs[0]["state"].as_string() == "rolled-back");
    CHECK(jobs[0]["done"].as_int() == n);
    CHECK(jobs[1]["kind"].as_string() == "rollback");
    CHECK(jobs[1]["state"].as_string() == "finished");
    CHECK(jobs[1]["hsm_rewraps"].as_int() == late + again);
    CHECK(jobs[1]["done"].as_int() == total);
    CHECK(kept_rows(db, "rb") == 0);
    CHECK(rows_per_kek(db, "rb") == std::map<std::uint32_t, std::int64_t>{{1, total}});

    auto opened = open_all(s, "rb");
    REQUIRE(opened.size() == static_cast<std::size_t>(total));
    for (int i = 0; i < n; ++i) {
        CHECK(opened["rb/" + record_name(i) + "#1"] == imported_value("rb", i));
    }
    for (int i = 0; i < again; ++i) {
        CHECK(opened["rb/" + record_name(i) + "#2"] == "second value " + std::to_string(i));
    }
    for (int i = 0; i < late; ++i) {
        CHECK(opened["rb/late" + std::to_string(i) + "#1"] == "late value " + std::to_string(i));
    }
    CHECK(s.kw.run({"get", "rb/" + record_name(0)}).out == "second value 0");
    CHECK(s.kw.run({"get", "rb/" + record_name(0), "--version", "1"}).out ==
          imported_value("rb", 0));
    CHECK(s.kw.run({"get", "rb/late7"}).out == "late value 7");
    // New seals use v1 again.
    REQUIRE(s.kw.run({"put", "rb/after", "--kind", "custom_secret"}, "after").exit_code == 0);
    CHECK(cli_envelope(s, "rb/after").kek_version == 1);
}

TEST_CASE("rollback after a rotation killed mid-way brings all 5,000 records back under v1") {
    auto s = CliSetup::fresh("cli-rot-int-rollback");
    Db db(s.dir / "keyward.db");
    constexpr int n = 5000;
    import_records(s, "intr", n);
    auto child = s.kw.start({"keyring", "rotate", "intr", "--batch", "10"});
    wait_for_progress(db, "intr", 200, child);
    REQUIRE(kill_hard(child));
    auto job = running_job(db, "intr");
    REQUIRE(job);
    const std::int64_t moved = job->done;
    std::cout << "interrupted rotation: killed after " << moved << " of " << n << " moved\n";
    REQUIRE(moved > 0);
    REQUIRE(moved < n);
    CHECK(rows_per_kek(db, "intr") ==
          std::map<std::uint32_t, std::int64_t>{{1, n - moved}, {2, moved}});
    CHECK(kept_rows(db, "intr", 1) == moved);
    // Killed mid-way, every record opens under the version its envelope names.
    CHECK(validate(s, "intr", n) ==
          std::map<std::uint32_t, std::int64_t>{{1, n - moved}, {2, moved}});

    auto report = json_of(s.kw.run({"keyring", "rollback", "intr", "--json"}));
    CHECK(report["kind"].as_string() == "rollback");
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["total"].as_int() == moved);
    CHECK(report["done"].as_int() == moved);
    CHECK(report["failed"].as_int() == 0);
    CHECK(report["hsm_rewraps"].as_int() == 0);
    CHECK(show(s, "intr") ==
          std::map<std::uint32_t, VersionState>{{1, {"active", n}}, {2, {"decrypt-only", 0}}});
    auto jobs = history(s, "intr");
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0]["kind"].as_string() == "rotate");
    CHECK(jobs[0]["state"].as_string() == "rolled-back");
    CHECK(jobs[0]["done"].as_int() == moved);
    CHECK(jobs[1]["kind"].as_string() == "rollback");
    CHECK(jobs[1]["state"].as_string() == "finished");
    CHECK(rows_per_kek(db, "intr") == std::map<std::uint32_t, std::int64_t>{{1, n}});
    CHECK(kept_rows(db, "intr") == 0);
    CHECK(validate(s, "intr", n) == std::map<std::uint32_t, std::int64_t>{{1, n}});
    check_imported(open_all(s, "intr"), "intr", n);
}

TEST_CASE(
    "retire is refused while records use the version, for the active version, and makes "
    "rollback impossible once done") {
    auto s = CliSetup::fresh("cli-rot-retire");
    Db db(s.dir / "keyward.db");
    constexpr int n = 2000;
    import_records(s, "ret", n);
    auto child = s.kw.start({"keyring", "rotate", "ret", "--batch", "10"});
    const auto started = wait_for_progress(db, "ret", 100, child);
    REQUIRE(kill_hard(child));
    const auto job = running_job(db, "ret");
    REQUIRE(job);
    REQUIRE(job->done < n);
    const std::int64_t left = db.integer(
        "SELECT count(*) FROM record_versions WHERE keyring = 'ret' AND kek_version = 1");
    REQUIRE(left == n - job->done);

    auto r = s.kw.run({"keyring", "retire", "ret", "--version", "1"});
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains(" " + std::to_string(left) + " record versions"));
    r = s.kw.run({"keyring", "retire", "ret", "--version", "2"});
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("active"));
    r = s.kw.run({"keyring", "retire", "ret", "--version", "9"});
    CHECK(r.exit_code == 4);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("no version 9"));
    r = s.kw.run({"keyring", "retire", "ret"});
    CHECK(r.exit_code == 2);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("--version"));
    // Nothing changed.
    CHECK(show(s, "ret") == std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", left}},
                                                                  {2, {"active", n - left}}});

    auto report = json_of(s.kw.run({"keyring", "rotate", "ret", "--json"}));
    CHECK(report["id"].as_int() == started.id);
    CHECK(report["resumed"].as_bool());
    CHECK(report["runs"].as_int() == 2);
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["done"].as_int() == n);
    CHECK(kept_rows(db, "ret", 1) == n);

    r = s.kw.run({"keyring", "retire", "ret", "--version", "1"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(show(s, "ret") ==
          std::map<std::uint32_t, VersionState>{{1, {"destroyed", 0}}, {2, {"active", n}}});
    CHECK(kept_rows(db, "ret") == 0);
    const auto keks = token_keks(s, {"keyward:ret:v1", "keyward:ret:v2"});
    CHECK(keks.at("keyward:ret:v1").empty());
    CHECK(keks.at("keyward:ret:v2").size() == 1);
    r = s.kw.run({"keyring", "rollback", "ret"});
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("destroyed"));
    CHECK(show(s, "ret") ==
          std::map<std::uint32_t, VersionState>{{1, {"destroyed", 0}}, {2, {"active", n}}});
    CHECK(validate(s, "ret", n) == std::map<std::uint32_t, std::int64_t>{{2, n}});
    check_imported(open_all(s, "ret"), "ret", n);
}

TEST_CASE(
    "a running rotation's lease refuses a second rotate and a rollback; after a SIGKILL "
    "rotate resumes the same job") {
    auto s = CliSetup::fresh("cli-rot-lease");
    Db db(s.dir / "keyward.db");
    constexpr int n = 5000;
    import_records(s, "lease", n);
    auto child = s.kw.start({"keyring", "rotate", "lease", "--batch", "5", "--threads", "1"});
    const auto job = wait_for_progress(db, "lease", 50, child);
    CHECK(db.integer("SELECT pid FROM rotation_leases WHERE keyring = 'lease'") == child.pid());
    const std::string holder = "pid " + std::to_string(child.pid());
    for (const char* command : {"rotate", "rollback"}) {
        auto r = s.kw.run({"keyring", command, "lease"});
        INFO(command << ": " << r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.one_line_error());
        CHECK_THAT(r.err, Catch::Contains(holder));
    }
    // The refusals happened while the holder was alive, not after it finished.
    REQUIRE_FALSE(child.ended());
    REQUIRE(kill_hard(child));
    const auto killed = running_job(db, "lease");
    REQUIRE(killed);
    REQUIRE(killed->done < n);

    auto report = json_of(s.kw.run({"keyring", "rotate", "lease", "--json"}));
    CHECK(report["id"].as_int() == job.id);
    CHECK(report["resumed"].as_bool());
    CHECK(report["runs"].as_int() == 2);
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["total"].as_int() == n);
    CHECK(report["done"].as_int() == n);
    CHECK(report["failed"].as_int() == 0);
    CHECK(show(s, "lease") ==
          std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", 0}}, {2, {"active", n}}});
    auto jobs = history(s, "lease");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0]["id"].as_int() == job.id);
    CHECK(jobs[0]["runs"].as_int() == 2);
    CHECK(db.integer("SELECT count(*) FROM rotation_leases") == 0);
}

TEST_CASE(
    "writers during a rotation of 5,000 records lose nothing and seal under the new "
    "version") {
    auto s = CliSetup::fresh("cli-rot-writers");
    Db db(s.dir / "keyward.db");
    constexpr int n = 5000, per_writer = 100;
    import_records(s, "conc", n);
    REQUIRE(s.kw.run({"put", "conc/shared", "--kind", "custom_secret"}, "seed").exit_code == 0);
    const auto started = Clock::now();
    // Batches of 1: 5,000 commits, each with its fsync, keep the rotation running for seconds
    // (the token work overlaps the commits), long enough for the writers, whose processes now
    // queue for SoftHSM's login lock, to meet it.
    auto rotation = s.kw.start({"keyring", "rotate", "conc", "--batch", "1", "--json"});
    // Writers start once v2 is active (the job exists), so every seal of theirs uses v2.
    wait_for_progress(db, "conc", 0, rotation);

    std::vector<std::string> errors(2);
    std::vector<std::vector<Clock::time_point>> put_times(2);
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            auto& err = errors[static_cast<std::size_t>(w)];
            auto& times = put_times[static_cast<std::size_t>(w)];
            for (int i = 0; i < per_writer; ++i) {
                const std::string tag = std::to_string(w) + "-" + std::to_string(i);
                auto r = s.kw.run({"put", "conc/shared", "--kind", "custom_secret"}, "w" + tag);
                if (r.exit_code != 0) err += "put shared " + tag + ": " + r.err;
                r = s.kw.run({"put", "conc/new-" + tag, "--kind", "custom_secret"}, "new " + tag);
                if (r.exit_code != 0) err += "put new " + tag + ": " + r.err;
                times.push_back(Clock::now());
                r = s.kw.run({"get", "conc/new-" + tag});
                if (r.exit_code != 0 || r.out != "new " + tag)
                    err += "get new " + tag + ": " + r.err;
            }
        });
    }
    auto rotated = rotation.wait();
    const auto rotation_end = Clock::now();
    for (auto& t : writers) t.join();
    std::size_t overlapped = 0;
    for (const auto& times : put_times) {
        for (auto t : times) overlapped += t < rotation_end ? 1 : 0;
    }
    std::cout << "writers during rotation: rotation "
              << std::chrono::duration<double>(rotation_end - started).count() << " s, writers "
              << seconds_since(started) << " s, " << overlapped << " of " << 2 * per_writer
              << " writer iterations finished while it ran\n";
    INFO(errors[0] << errors[1]);
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    // Not vacuous: a good part of the writing happened during the rotation.
    CHECK(overlapped >= 40);

    auto report = json_of(rotated);
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["failed"].as_int() == 0);
    CHECK(report["total"].as_int() == n + 1);
    CHECK(report["done"].as_int() + report["skipped"].as_int() == report["total"].as_int());

    const int total = n + 1 + 2 * per_writer + 2 * per_writer;
    CHECK(rows_per_kek(db, "conc") == std::map<std::uint32_t, std::int64_t>{{2, total}});
    CHECK(db.integer("SELECT count(*) FROM record_versions WHERE keyring = 'conc' AND "
                     "kek_version = 1") == 0);
    CHECK(db.integer("SELECT count(*) FROM record_versions WHERE namespace = 'conc' AND name = "
                     "'shared'") == 1 + 2 * per_writer);
    CHECK(db.integer("SELECT max(version) FROM record_versions WHERE namespace = 'conc' AND "
                     "name = 'shared'") == 1 + 2 * per_writer);
    CHECK(show(s, "conc") ==
          std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", 0}}, {2, {"active", total}}});

    CHECK(validate(s, "conc", total) == std::map<std::uint32_t, std::int64_t>{{2, total}});
    auto opened = open_all(s, "conc");
    REQUIRE(opened.size() == static_cast<std::size_t>(total));
    std::set<std::string> shared_values;
    for (int v = 2; v <= 1 + 2 * per_writer; ++v) {
        shared_values.insert(opened["conc/shared#" + std::to_string(v)]);
    }
    std::set<std::string> written;
    for (int w = 0; w < 2; ++w) {
        for (int i = 0; i < per_writer; ++i) {
            const std::string tag = std::to_string(w) + "-" + std::to_string(i);
            written.insert("w" + tag);
            CHECK(opened["conc/new-" + tag + "#1"] == "new " + tag);
        }
    }
    CHECK(shared_values == written);
    CHECK(opened["conc/shared#1"] == "seed");
    for (int i = 0; i < n; ++i) {
        if (opened["conc/" + record_name(i) + "#1"] != imported_value("conc", i)) {
            FAIL("conc/" << record_name(i) << " lost its value");
        }
    }
}

TEST_CASE(
    "compromise drops v1's kept copies, refuses rollback, and --reencrypt gives every "
    "record a new DEK and nonce") {
    auto s = CliSetup::fresh("cli-rot-compromise");
    Db db(s.dir / "keyward.db");
    constexpr int n = 300;
    import_records(s, "comp", n);
    REQUIRE(s.kw.run({"keyring", "rotate", "comp"}).exit_code == 0);
    CHECK(kept_rows(db, "comp", 1) == n);
    const auto before = stored_envelopes(db, "comp");
    REQUIRE(before.size() == static_cast<std::size_t>(n));

    auto r = s.kw.run({"keyring", "compromise", "comp", "--version", "1"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(kept_rows(db, "comp") == 0);
    CHECK(show(s, "comp") ==
          std::map<std::uint32_t, VersionState>{{1, {"compromised", 0}}, {2, {"active", n}}});
    r = s.kw.run({"keyring", "rollback", "comp"});
    CHECK(r.exit_code == 1);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains("compromised"));
    r = s.kw.run({"keyring", "compromise", "comp", "--version", "1"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("already compromised"));
    CHECK(s.kw.run({"keyring", "compromise", "comp", "--version", "7"}).exit_code == 4);
    CHECK(s.kw.run({"keyring", "compromise", "comp"}).exit_code == 2);

    auto report = json_of(s.kw.run({"keyring", "rotate", "comp", "--reencrypt", "--json"}));
    CHECK(report["kind"].as_string() == "reencrypt");
    CHECK(report["state"].as_string() == "finished");
    CHECK(report["from_version"].as_int() == 2);
    CHECK(report["to_version"].as_int() == 3);
    CHECK(report["total"].as_int() == n);
    CHECK(report["done"].as_int() == n);
    CHECK(report["failed"].as_int() == 0);
    CHECK(show(s, "comp") == std::map<std::uint32_t, VersionState>{{1, {"compromised", 0}},
                                                                   {2, {"decrypt-only", 0}},
                                                                   {3, {"active", n}}});
    CHECK(rows_per_kek(db, "comp") == std::map<std::uint32_t, std::int64_t>{{3, n}});
    CHECK(kept_rows(db, "comp") == 0);

    const auto after = stored_envelopes(db, "comp");
    REQUIRE(after.size() == before.size());
    std::set<std::string> nonces;
    int same_nonce = 0, same_dek = 0, same_payload = 0;
    for (const auto& [address, old_bytes] : before) {
        const auto old = parse_envelope(old_bytes);
        const auto now = parse_envelope(after.at(address));
        CHECK(now.kek_version == 3);
        same_nonce += now.nonce == old.nonce ? 1 : 0;
        same_dek += now.wrapped_dek == old.wrapped_dek ? 1 : 0;
        same_payload += now.payload.substr(12) == old.payload.substr(12) ? 1 : 0;
        nonces.insert(now.nonce);
    }
    CHECK(same_nonce == 0);
    CHECK(same_dek == 0);
    CHECK(same_payload == 0);
    CHECK(nonces.size() == static_cast<std::size_t>(n));
    CHECK(validate(s, "comp", n) == std::map<std::uint32_t, std::int64_t>{{3, n}});
    check_imported(open_all(s, "comp"), "comp", n);
    for (int i = 0; i < n; i += 37) {
        CHECK(s.kw.run({"get", "comp/" + record_name(i)}).out == imported_value("comp", i));
    }
    // Nothing uses the compromised version any more: it can go.
    r = s.kw.run({"keyring", "retire", "comp", "--version", "1"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(show(s, "comp").at(1) == VersionState{"destroyed", 0});
}

// Rotations and rollbacks of 5,000 records killed with SIGKILL at random instants: after a
// delay drawn from the job's measured duration or, every third kill, once a random number of
// records has been moved. After every kill the database passes integrity_check, the job's
// counters match the envelopes exactly (one transaction per batch) and records open; then the
// job is run to the end and every record must be under its target version and open.
TEST_CASE("SIGKILL at random points of rotations and rollbacks of 5,000 records loses nothing") {
    const auto kills = static_cast<int>(env_number("KEYWARD_SOAK_KILLS", 20));
    const auto seed = static_cast<std::uint64_t>(
        env_number("KEYWARD_SOAK_SEED", static_cast<std::int64_t>(std::random_device{}() >> 1)));
    std::printf(
        "rotation kill soak: %d kills, seed %llu (KEYWARD_SOAK_SEED=%llu draws the same "
        "delays)\n",
        kills, static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    auto uniform_real = [&](double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    const auto soak_started = Clock::now();

    auto s = CliSetup::fresh("cli-rot-soak");
    Db db(s.dir / "keyward.db");
    constexpr int n = 5000;
    const std::string ring = "soak";
    import_records(s, ring, n);

    // One uninterrupted rotation and rollback: kill delays are drawn from their durations.
    auto timed = [&](const std::string& action) {
        const auto t = Clock::now();
        auto r = s.kw.run({"keyring", action, ring, "--batch", "50"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return seconds_since(t);
    };
    std::map<std::string, double> span;
    span["rotate"] = timed("rotate");
    span["rollback"] = timed("rollback");
    REQUIRE(s.kw.run({"keyring", "retire", ring, "--version", "2"}).exit_code == 0);
    std::printf("calibration: rotate %.3f s, rollback %.3f s (batch 50)\n", span["rotate"],
                span["rollback"]);

    struct Tally {
        int midway = 0;      // a running job with batches committed
        int at_start = 0;    // a running job without any batch
        int before_job = 0;  // no job yet (KEK being made, or made but not recorded)
        int after_end = 0;   // the job had finished (killed on the way out, or exited)
        int resume_kills = 0, resume_midway = 0;
        int early = 0, early_midway = 0, orphan_keks = 0;
        int startup = 0, startup_midway = 0;
        int full_checks = 0, gets = 0;
        double kill_phase_s = 0, finish_s = 0, check_s = 0, open_s = 0;
    } tally;

    auto full_open = [&] {
        const auto t = Clock::now();
        check_imported(open_all(s, ring), ring, n);
        tally.open_s += seconds_since(t);
        ++tally.full_checks;
    };

    // Checks after a kill; returns the keyring's running job, if any.
    auto after_kill = [&](bool full, int sample_size) -> std::optional<JobRow> {
        const auto t = Clock::now();
        REQUIRE(db.text("PRAGMA integrity_check") == "ok\n");
        const auto per_kek = rows_per_kek(db, ring);
        std::int64_t sum = 0;
        for (const auto& [v, count] : per_kek) sum += count;
        CHECK(sum == n);
        // No record is under a version that cannot open it.
        CHECK(db.integer("SELECT count(*) FROM record_versions r JOIN kek_versions k ON "
                         "k.keyring = r.keyring AND k.version = r.kek_version WHERE r.keyring "
                         "= 'soak' AND k.state IN ('destroyed', 'pre-active')") == 0);
        auto job = running_job(db, ring);
        if (job) {
            // A batch's envelopes, kept copies and counters are one transaction.
            INFO(job->kind << " v" << job->from << "->v" << job->to << " done " << job->done);
            CHECK(job->skipped == 0);
            CHECK(job->failed == 0);
            std::map<std::uint32_t, std::int64_t> expected{{job->to, job->done},
                                                           {job->from, n - job->done}};
            if (job->done == 0) expected.erase(job->to);
            if (job->done == n) expected.erase(job->from);
            CHECK(per_kek == expected);
            CHECK(kept_rows(db, ring) == (job->kind == "rollback" ? n - job->done : job->done));
        } else {
            CHECK(per_kek.size() == 1);
        }
        // Through the binary: every record opens (validate), and a random sample has its value,
        // one process at a time (concurrent logins race in SoftHSM's file store; the writers
        // test covers concurrency).
        CHECK(validate(s, ring, n) == per_kek);
        std::string wrong;
        for (int j = 0; j < sample_size; ++j) {
            const int i = uniform(0, n - 1);
            auto r = s.kw.run({"get", ring + "/" + record_name(i)});
            if (r.out != imported_value(ring, i)) wrong += record_name(i) + ": " + r.err;
        }
        tally.gets += sample_size;
        CHECK(wrong == "");
        if (full) full_open();
        tally.check_s += seconds_since(t);
        return job;
    };

    // Most time-drawn kills come once the child holds the rotation lease, so that they land in
    // rotation work. Every fifth comes 0-40 ms after the start instead: module load, SoftHSM's
    // C_Login (which rewrites token.object in place; the login guard keeps a copy), database
    // open. "[softhsm-login-kill]" aims 200 kills at the login itself.
    auto wait_for_lease = [&](CliChild& c) {
        const auto t = Clock::now();
        const std::string mine = std::to_string(c.pid()) + "\n";
        while (db.text("SELECT pid FROM rotation_leases WHERE keyring = 'soak'") != mine) {
            if (c.ended() || seconds_since(t) > 60) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    };

    std::string action = "rotate";
    for (int k = 0; k < kills; ++k) {
        INFO("kill " << k << " during " << action);
        const auto last_id = db.integer("SELECT coalesce(max(id), 0) FROM rotation_jobs");
        const int batch = uniform(25, 75);
        const bool by_progress = k % 3 == 2;
        // Some rotations are killed right after the lease: while the new KEK is made and
        // recorded, so that the next run has to adopt a KEK the database does not know.
        const bool early = !by_progress && action == "rotate" && k % 4 == 0;
        const bool startup = !by_progress && !early && k % 5 == 1;
        const auto newest = db.integer(
            "SELECT max(version) FROM kek_versions WHERE keyring = "
            "'soak'");
        const auto t = Clock::now();
        auto child = s.kw.start({"keyring", action, ring, "--batch", std::to_string(batch)});
        char when[96];
        if (by_progress) {
            const int target = uniform(1, n * 9 / 10);
            const int extra_ms = uniform(0, 15);
            for (;;) {
                if (auto job = running_job(db, ring); job && job->done >= target) break;
                if (child.ended() || seconds_since(t) > 120) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
            std::snprintf(when, sizeof when, "once %d were moved, + %d ms", target, extra_ms);
        } else if (startup) {
            const double delay = uniform_real(0, 0.04);
            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
            std::snprintf(when, sizeof when, "%.3f s after the start (start-up)", delay);
        } else {
            const double delay = uniform_real(0, early ? 0.02 : 0.7 * span[action]);
            wait_for_lease(child);
            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
            std::snprintf(when, sizeof when, "%.3f s after taking the lease", delay);
        }
        const bool killed = kill_hard(child);
        tally.kill_phase_s += seconds_since(t);
        auto job = after_kill(k % 5 == 4, 20);
        const auto made = job_rows(db, ring, " AND id > " + std::to_string(last_id));
        std::string outcome;
        if (job && job->done > 0) {
            ++tally.midway;
            outcome = "mid-way, " + std::to_string(job->done) + " moved";
        } else if (job) {
            ++tally.at_start;
            outcome = "job made, no batch yet";
        } else if (made.empty()) {
            ++tally.before_job;
            outcome = "before the job existed";
            if (action == "rotate") {
                const std::string label = "keyward:soak:v" + std::to_string(newest + 1);
                const auto orphans = token_keks(s, {label}).at(label).size();
                CHECK(orphans <= 1);
                if (orphans == 1) {
                    ++tally.orphan_keks;
                    outcome += ", " + label + " made in the token but not recorded";
                }
            }
        } else {
            ++tally.after_end;
            outcome = killed ? "after the job finished" : "it had exited";
            CHECK(made.back().state == "finished");
            // This machine is faster than the calibration said: aim earlier.
            if (!by_progress && !early && !startup) span[action] *= 0.8;
        }
        std::printf("kill %d: %s --batch %d %s%s: %s\n", k, action.c_str(), batch, when,
                    early ? " (early)" : "", outcome.c_str());
        tally.early += early ? 1 : 0;
        tally.early_midway += early && job && job->done > 0 ? 1 : 0;
        tally.startup += startup ? 1 : 0;
        tally.startup_midway += startup && job && job->done > 0 ? 1 : 0;
        if (!killed) CHECK(child.wait().exit_code == 0);

        // Every other time, kill the resumed run too.
        if (job && k % 2 == 1) {
            const double left = static_cast<double>(n - job->done) / n;
            const double delay = uniform_real(0, 0.8) * span[action] * left;
            auto resumed = s.kw.start({"keyring", action, ring, "--batch", "40"});
            wait_for_lease(resumed);
            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
            kill_hard(resumed);
            ++tally.resume_kills;
            job = after_kill(false, 10);
            if (job && job->done > 0) ++tally.resume_midway;
            std::printf("  and its resumed run %.3f s after taking the lease: %s\n", delay,
                        job ? ("mid-way, " + std::to_string(job->done) + " moved").c_str()
                            : "it had finished");
        }

        // Run it to the end: resume the job, or start it again if the kill came before it
        // existed. A job that had finished is left alone.
        std::uint32_t target = 0;
        if (job || made.empty()) {
            const auto ft = Clock::now();
            auto report = json_of(s.kw.run({"keyring", action, ring, "--batch", "100", "--json"}));
            tally.finish_s += seconds_since(ft);
            CHECK(report["state"].as_string() == "finished");
            CHECK(report["kind"].as_string() == action);
            CHECK(report["resumed"].as_bool() == job.has_value());
            if (job) {
                CHECK(report["id"].as_int() == job->id);
                CHECK(report["runs"].as_int() == job->runs + 1);
            }
            CHECK(report["total"].as_int() == n);
            CHECK(report["done"].as_int() == n);
            CHECK(report["skipped"].as_int() == 0);
            CHECK(report["failed"].as_int() == 0);
            CHECK(report["hsm_rewraps"].as_int() == (action == "rotate" ? n : 0));
            target = static_cast<std::uint32_t>(report["to_version"].as_int());
        } else {
            target = made.back().to;
        }
        CHECK_FALSE(running_job(db, ring).has_value());
        CHECK(db.integer("SELECT count(*) FROM rotation_leases") == 0);
        CHECK(rows_per_kek(db, ring) == std::map<std::uint32_t, std::int64_t>{{target, n}});
        CHECK(show(s, ring).at(target) == VersionState{"active", n});
        CHECK(kept_rows(db, ring) == (action == "rotate" ? n : 0));
        const auto ct = Clock::now();
        full_open();
        tally.check_s += seconds_since(ct);
        if (action == "rollback") {
            // The rolled-back version protects nothing now: retire it (keeps the token small).
            const auto rolled = job_rows(db, ring, " AND kind = 'rollback'").back();
            auto r =
                s.kw.run({"keyring", "retire", ring, "--version", std::to_string(rolled.from)});
            INFO(r.err);
            CHECK(r.exit_code == 0);
        }
        action = action == "rotate" ? "rollback" : "rotate";
    }

    // The token holds exactly one object per live version, with the CKA_ID the database
    // recorded (an adopted orphan included), and none for a destroyed one.
    std::map<std::string, std::pair<std::string, keyward::Bytes>> versions;
    db.each("SELECT label, state, object_id FROM kek_versions WHERE keyring = 'soak'",
            [&](sqlite3_stmt* st) {
                const auto id = Db::column_blob(st, 2);
                versions[Db::column_text(st, 0)] = {Db::column_text(st, 1),
                                                    keyward::Bytes(id.begin(), id.end())};
            });
    std::vector<std::string> labels;
    for (const auto& [label, v] : versions) labels.push_back(label);
    const auto keks = token_keks(s, labels);
    for (const auto& [label, v] : versions) {
        INFO(label << " " << v.first);
        if (v.first == "destroyed") {
            CHECK(keks.at(label).empty());
        } else {
            REQUIRE(keks.at(label).size() == 1);
            CHECK(keks.at(label).front() == v.second);
        }
    }

    std::printf(
        "kills: %d, mid-way %d, job made but no batch yet %d, before the job existed %d, after "
        "it had finished %d; %d of them early (%d mid-way, %d left a KEK in the token that the "
        "database did not know), %d in start-up (%d mid-way); plus %d kills of resumed runs, %d "
        "of them mid-way\n"
        "time: kill phases %.1f s, finishing runs %.1f s, checks %.1f s (%d gets, %d in-process "
        "opens of all %d records in %.1f s), total %.1f s\n",
        kills, tally.midway, tally.at_start, tally.before_job, tally.after_end, tally.early,
        tally.early_midway, tally.orphan_keks, tally.startup, tally.startup_midway,
        tally.resume_kills, tally.resume_midway, tally.kill_phase_s, tally.finish_s, tally.check_s,
        tally.gets, tally.full_checks, n, tally.open_s, seconds_since(soak_started));
    std::fflush(stdout);
    // Not vacuous: most kills aimed at a running job must land while it was half done.
    CHECK((tally.midway - tally.early_midway - tally.startup_midway) * 4 >=
          (kills - tally.early - tally.startup) * 3);
}

// SoftHSM 2.6.1's file store rewrites token.object in place on every C_Login (truncate, then
// write through a stdio buffer), so a keyward process killed during its start-up used to leave
// it empty: the token and every KEK in it were gone. keyward's SoftHSM login guard restores it
// from the copy kept beside the token directory (src/p11/softhsm_login_guard.hpp). Half of the
// kills are aimed at the login itself (once the child holds the guard's lock), half are drawn
// over the first 20 ms of the process; $KEYWARD_LOGIN_KILLS sets their number.
TEST_CASE("a SIGKILL during a keyward process's start-up leaves the token usable",
          "[softhsm-login-kill]") {
    const auto started = Clock::now();
    auto s = CliSetup::fresh("cli-login-kill");
    // Two keyrings, one per suite, each with a record: each KEK must still open its record.
    REQUIRE(s.kw.run({"keyring", "create", "b", "--suite", "2"}).exit_code == 0);
    const std::map<std::string, std::string> values{{"a/r", "value of a/r"},
                                                    {"b/r", "value of b/r"}};
    for (const auto& [address, value] : values) {
        REQUIRE(s.kw.run({"put", address, "--kind", "custom_secret"}, value).exit_code == 0);
    }
    fs::path token_object;
    for (const auto& e : fs::recursive_directory_iterator(s.dir / "tokens")) {
        if (e.path().filename() == "token.object") token_object = e.path();
    }
    REQUIRE(!token_object.empty());
    const fs::path tokens = s.dir / "tokens";
    const fs::path copy = tokens / ("keyward-" + token_object.parent_path().filename().string() +
                                    ".token.object.copy");
    const fs::path lock = tokens / "keyward-login.lock";
    REQUIRE(fs::exists(copy));
    REQUIRE(fs::exists(lock));
    // Permission bits as octal, 0600 for owner read and write only.
    auto mode = [](const fs::path& p) {
        return static_cast<int>(fs::status(p).permissions() & fs::perms::all);
    };
    CHECK(mode(copy) == 0600);
    CHECK(mode(lock) == 0600);

    // True while a keyward process holds the guard's lock, i.e. is between C_Initialize and
    // the end of C_Login. Probing takes the lock for an instant when it is free.
    const int probe = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(probe >= 0);
    auto lock_held = [&] {
        if (::flock(probe, LOCK_EX | LOCK_NB) == 0) {
            ::flock(probe, LOCK_UN);
            return false;
        }
        return true;
    };

    const auto kills = static_cast<int>(env_number("KEYWARD_LOGIN_KILLS", 200));
    std::mt19937 rng(static_cast<std::uint32_t>(env_number("KEYWARD_SOAK_SEED", 1)));
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int emptied = 0, emptied_aimed = 0, aimed = 0, landed_in_lock = 0;
    for (int i = 0; i < kills; ++i) {
        const std::string address = i % 2 == 0 ? "a/r" : "b/r";
        auto child = s.kw.start({"get", address});
        const bool aim = i % 2 == 1;
        if (aim) {
            ++aimed;
            const auto t = Clock::now();
            while (!lock_held() && !child.ended() && seconds_since(t) < 5) {
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            std::this_thread::sleep_for(std::chrono::microseconds(uniform(0, 6000)));
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(uniform(0, 20000)));
        }
        landed_in_lock += lock_held() ? 1 : 0;
        kill_hard(child);
        if (fs::file_size(token_object) == 0) {
            ++emptied;
            emptied_aimed += aim ? 1 : 0;
        }
        auto r = s.kw.run({"get", address});
        if (r.exit_code != 0 || r.out != values.at(address)) {
            FAIL("after " << i + 1 << " kills (" << emptied
                          << " of them left token.object empty) token.object has "
                          << fs::file_size(token_object) << " bytes and keyward get " << address
                          << " says: " << r.err);
        }
        CHECK(fs::file_size(token_object) > 0);
    }
    ::close(probe);
    std::printf(
        "login kills: %d (%d aimed at the login lock, %d landed while it was held); %d left "
        "token.object empty (%d of them aimed) and were restored from the copy; %.1f s\n",
        kills, aimed, landed_in_lock, emptied, emptied_aimed, seconds_since(started));
    std::fflush(stdout);
    // Not vacuous: the kills did hit SoftHSM's rewrite of token.object.
    if (kills >= 100) CHECK(emptied >= 1);

    // Every KEK still opens its records, and the copy is the token's file again.
    for (const auto& [address, value] : values) {
        auto r = s.kw.run({"get", address});
        INFO(address << ": " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == value);
    }
    CHECK(validate(s, "a", 1) == std::map<std::uint32_t, std::int64_t>{{1, 1}});
    CHECK(validate(s, "b", 1) == std::map<std::uint32_t, std::int64_t>{{1, 1}});
    CHECK(read_file(copy) == read_file(token_object));
    CHECK(mode(copy) == 0600);
    CHECK(mode(token_object) == 0600);
}
