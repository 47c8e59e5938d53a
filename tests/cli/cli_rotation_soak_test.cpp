// SPDX-License-Identifier: Apache-2.0
// SIGKILL soaks through the real binary on a real SoftHSM token: rotations and rollbacks of
// 5,000 records killed at random points ($KEYWARD_SOAK_KILLS sets the count;
// tests/soak/rotation_kill_soak.sh runs it long), and kills during a process's start-up, login
// included. After each kill, the test's own view of the database and of every record decides.
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

#include "rotation_fixtures.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

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
            CHECK(report.at("state").get<std::string>() == "finished");
            CHECK(report.at("kind").get<std::string>() == action);
            CHECK(report.at("resumed").get<bool>() == job.has_value());
            if (job) {
                CHECK(report.at("id").get<std::int64_t>() == job->id);
                CHECK(report.at("runs").get<std::int64_t>() == job->runs + 1);
            }
            CHECK(report.at("total").get<std::int64_t>() == n);
            CHECK(report.at("done").get<std::int64_t>() == n);
            CHECK(report.at("skipped").get<std::int64_t>() == 0);
            CHECK(report.at("failed").get<std::int64_t>() == 0);
            CHECK(report.at("hsm_rewraps").get<std::int64_t>() == (action == "rotate" ? n : 0));
            target = static_cast<std::uint32_t>(report.at("to_version").get<std::int64_t>());
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
// kills are aimed at the login (once the child holds the guard's lock: half of those at the
// moment token.object reads 0 bytes, half within 30 ms), half are drawn over the first 20 ms
// of the process; $KEYWARD_LOGIN_KILLS sets their number.
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
            if (aimed % 2 == 0) {
                // At SoftHSM's truncation itself: the instant token.object reads 0 bytes.
                // (Aiming by delay alone missed it whenever start-up before C_Login got slower
                // or faster: from lock to rewrite takes 5-30 ms depending on the machine.)
                const auto held = Clock::now();
                std::error_code ec;
                while (lock_held() && !child.ended() && seconds_since(held) < 0.2 &&
                       fs::file_size(token_object, ec) != 0) {
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                }
            } else {
                std::this_thread::sleep_for(std::chrono::microseconds(uniform(0, 30000)));
            }
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
