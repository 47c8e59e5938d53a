// SPDX-License-Identifier: Apache-2.0
// KEK rotation end to end through the real binary on a real SoftHSM token: a rotation changes
// only envelope headers, rollback (finished and interrupted), retire, compromise and
// re-encryption, the lease, and writers during a rotation. The SIGKILL soaks are in
// cli_rotation_soak_test.cpp.
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

#include "rotation_fixtures.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

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
        CHECK(report.at("kind").get<std::string>() == "rotate");
        CHECK(report.at("state").get<std::string>() == "finished");
        CHECK(report.at("from_version").get<std::int64_t>() == 1);
        CHECK(report.at("to_version").get<std::int64_t>() == 2);
        CHECK(report.at("total").get<std::int64_t>() == n);
        CHECK(report.at("done").get<std::int64_t>() == n);
        CHECK(report.at("skipped").get<std::int64_t>() == 0);
        CHECK(report.at("failed").get<std::int64_t>() == 0);
        CHECK(report.at("hsm_rewraps").get<std::int64_t>() == n);
        CHECK(report.at("runs").get<std::int64_t>() == 1);
        CHECK_FALSE(report.at("resumed").get<bool>());
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
    CHECK(report.at("kind").get<std::string>() == "rollback");
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("from_version").get<std::int64_t>() == 2);
    CHECK(report.at("to_version").get<std::int64_t>() == 1);
    CHECK(report.at("total").get<std::int64_t>() == total);
    CHECK(report.at("done").get<std::int64_t>() == total);
    CHECK(report.at("failed").get<std::int64_t>() == 0);
    CHECK(report.at("hsm_rewraps").get<std::int64_t>() == late + again);

    CHECK(show(s, "rb") ==
          std::map<std::uint32_t, VersionState>{{1, {"active", total}}, {2, {"decrypt-only", 0}}});
    auto jobs = history(s, "rb");
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].at("kind").get<std::string>() == "rotate");
    CHECK(jobs[0].at("state").get<std::string>() == "rolled-back");
    CHECK(jobs[0].at("done").get<std::int64_t>() == n);
    CHECK(jobs[1].at("kind").get<std::string>() == "rollback");
    CHECK(jobs[1].at("state").get<std::string>() == "finished");
    CHECK(jobs[1].at("hsm_rewraps").get<std::int64_t>() == late + again);
    CHECK(jobs[1].at("done").get<std::int64_t>() == total);
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
    CHECK(report.at("kind").get<std::string>() == "rollback");
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("total").get<std::int64_t>() == moved);
    CHECK(report.at("done").get<std::int64_t>() == moved);
    CHECK(report.at("failed").get<std::int64_t>() == 0);
    CHECK(report.at("hsm_rewraps").get<std::int64_t>() == 0);
    CHECK(show(s, "intr") ==
          std::map<std::uint32_t, VersionState>{{1, {"active", n}}, {2, {"decrypt-only", 0}}});
    auto jobs = history(s, "intr");
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].at("kind").get<std::string>() == "rotate");
    CHECK(jobs[0].at("state").get<std::string>() == "rolled-back");
    CHECK(jobs[0].at("done").get<std::int64_t>() == moved);
    CHECK(jobs[1].at("kind").get<std::string>() == "rollback");
    CHECK(jobs[1].at("state").get<std::string>() == "finished");
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
    CHECK(report.at("id").get<std::int64_t>() == started.id);
    CHECK(report.at("resumed").get<bool>());
    CHECK(report.at("runs").get<std::int64_t>() == 2);
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("done").get<std::int64_t>() == n);
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
    CHECK(report.at("id").get<std::int64_t>() == job.id);
    CHECK(report.at("resumed").get<bool>());
    CHECK(report.at("runs").get<std::int64_t>() == 2);
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("total").get<std::int64_t>() == n);
    CHECK(report.at("done").get<std::int64_t>() == n);
    CHECK(report.at("failed").get<std::int64_t>() == 0);
    CHECK(show(s, "lease") ==
          std::map<std::uint32_t, VersionState>{{1, {"decrypt-only", 0}}, {2, {"active", n}}});
    auto jobs = history(s, "lease");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].at("id").get<std::int64_t>() == job.id);
    CHECK(jobs[0].at("runs").get<std::int64_t>() == 2);
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
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("failed").get<std::int64_t>() == 0);
    CHECK(report.at("total").get<std::int64_t>() == n + 1);
    CHECK(report.at("done").get<std::int64_t>() + report.at("skipped").get<std::int64_t>() ==
          report.at("total").get<std::int64_t>());

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

TEST_CASE("compromise and retire --json print one document naming the version's new state") {
    auto s = CliSetup::fresh("cli-rot-json-states");
    REQUIRE(s.kw.run({"keyring", "create", "js"}).exit_code == 0);
    REQUIRE(s.kw.run({"keyring", "rotate", "js"}).exit_code == 0);
    auto r = s.kw.run({"--json", "keyring", "compromise", "js", "--version", "1"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "{\"keyring\":\"js\",\"version\":1,\"state\":\"compromised\"}\n");
    r = s.kw.run({"--json", "keyring", "retire", "js", "--version", "1"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "{\"keyring\":\"js\",\"version\":1,\"state\":\"destroyed\"}\n");
    CHECK(show(s, "js") ==
          std::map<std::uint32_t, VersionState>{{1, {"destroyed", 0}}, {2, {"active", 0}}});
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
    CHECK(report.at("kind").get<std::string>() == "reencrypt");
    CHECK(report.at("state").get<std::string>() == "finished");
    CHECK(report.at("from_version").get<std::int64_t>() == 2);
    CHECK(report.at("to_version").get<std::int64_t>() == 3);
    CHECK(report.at("total").get<std::int64_t>() == n);
    CHECK(report.at("done").get<std::int64_t>() == n);
    CHECK(report.at("failed").get<std::int64_t>() == 0);
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
