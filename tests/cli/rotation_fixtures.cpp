// SPDX-License-Identifier: Apache-2.0
// What the rotation tests share (see rotation_fixtures.hpp).
#include "rotation_fixtures.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "keyward/keyward.hpp"
#include "p11/p11_hsm.hpp"
#include "support/test_env.hpp"

namespace keyward::test {

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- The database, read directly -------------------------------------------------------------

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

std::int64_t kept_rows(const Db& db, const std::string& ring, std::int64_t kek_version) {
    std::string sql = "SELECT count(*) FROM kept_wraps WHERE keyring = " + quoted(ring);
    if (kek_version != 0) sql += " AND kek_version = " + std::to_string(kek_version);
    return db.integer(sql);
}

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

/// label -> CKA_IDs of the KEK objects with that label in the setup's token, read in this
/// process through the PKCS#11 layer.
std::map<std::string, std::vector<Bytes>> token_keks(const CliSetup& s,
                                                     const std::vector<std::string>& labels) {
    SofthsmConfRestore restore;
    auto config = load_config(s.dir / "keyward.conf");
    REQUIRE(config.ok());
    p11::ConnectOptions options;
    options.module_path = config->module;
    options.token = config->token;
    const auto pin = read_file(s.dir / "user.pin");
    REQUIRE(pin.size() > 1);
    options.pin.assign(pin.begin(), pin.end() - 1);
    options.softhsm2_conf = config->softhsm2_conf.string();
    auto hsm = p11::P11Hsm::connect(std::move(options));
    if (!hsm.ok()) FAIL("P11Hsm::connect: " << hsm.error().message());
    std::map<std::string, std::vector<Bytes>> out;
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
        auto config = load_config(s.dir / "keyward.conf");
        REQUIRE(config.ok());
        auto kw = Keyward::open(*config);
        if (!kw.ok()) FAIL("Keyward::open: " << kw.error().message());
        for (auto& row : rows) {
            const std::string context = "record:" + row.address;
            auto plain = (*kw)->open(
                ByteView(reinterpret_cast<const std::uint8_t*>(row.envelope.data()),
                         row.envelope.size()),
                ByteView(reinterpret_cast<const std::uint8_t*>(context.data()), context.size()));
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

nlohmann::json json_of(const CliResult& r) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
}

std::ostream& operator<<(std::ostream& os, const VersionState& v) {
    return os << v.state << "/" << v.records;
}

/// `keyring show NAME --json`: version -> (state, records).
std::map<std::uint32_t, VersionState> show(const CliSetup& s, const std::string& ring) {
    auto j = json_of(s.kw.run({"keyring", "show", ring, "--json"}));
    std::map<std::uint32_t, VersionState> out;
    for (const auto& v : j.at("versions")) {
        out[static_cast<std::uint32_t>(v.at("version").get<std::int64_t>())] = {
            v.at("state").get<std::string>(), v.at("records").get<std::int64_t>()};
    }
    return out;
}

std::vector<nlohmann::json> history(const CliSetup& s, const std::string& ring) {
    auto j = json_of(s.kw.run({"keyring", "history", ring, "--json"}));
    return j.at("jobs").get<std::vector<nlohmann::json>>();
}

/// `keyward validate --keyring NAME --json`: every stored version of the keyring opens,
/// through the binary. Returns its per-version counts (version -> records).
std::map<std::uint32_t, std::int64_t> validate(const CliSetup& s, const std::string& ring,
                                               std::int64_t expected) {
    auto r = s.kw.run({"validate", "--keyring", ring, "--json"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("checked").get<std::int64_t>() == expected);
    CHECK(j.at("opened").get<std::int64_t>() == expected);
    CHECK(j.at("failed").get<std::int64_t>() == 0);
    std::map<std::uint32_t, std::int64_t> out;
    for (const auto& v : j.at("by_kek_version")) {
        CHECK(v.at("keyring").get<std::string>() == ring);
        CHECK(v.at("failed").get<std::int64_t>() == 0);
        out[static_cast<std::uint32_t>(v.at("version").get<std::int64_t>())] =
            v.at("records").get<std::int64_t>();
    }
    return out;
}

// ---- Envelopes, as the CLI and the database hold them ------------------------------------

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

}  // namespace keyward::test
