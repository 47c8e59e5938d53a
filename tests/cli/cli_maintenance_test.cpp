// SPDX-License-Identifier: Apache-2.0
// validate, backup and restore FILE through the real binary on fresh SoftHSM tokens: exact
// counts, a tampered envelope named by record and version, snapshot files and their meta rows,
// and every refusal with its exit code and one-line message.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>

#include "cli_setup.hpp"
#include "store/sqlite.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::test;

namespace {

void put(CliSetup& s, const std::string& address, const std::string& value) {
    auto r = s.kw.run({"put", address, "--kind", "api_key"}, value);
    REQUIRE(r.exit_code == 0);
}

store::Database open_db(const std::filesystem::path& path) {
    auto db = store::Database::open_plain(path, false);
    REQUIRE(db.ok());
    return std::move(*db);
}

std::string meta(store::Database& db, const std::string& key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?1");
    REQUIRE(s.ok());
    s->bind(1, key);
    auto row = s->step();
    REQUIRE(row.ok());
    return *row ? s->column_text(0) : std::string("(none)");
}

std::int64_t count(store::Database& db, const char* sql) {
    auto s = db.prepare(sql);
    REQUIRE(s.ok());
    REQUIRE(*s->step());
    return s->column_int(0);
}

/// Flips one bit of the last byte (inside the GCM tag) of a stored envelope.
void tamper(const CliSetup& s, const std::string& ns, const std::string& name, int version) {
    auto db = open_db(s.dir / "keyward.db");
    Bytes envelope;
    {
        auto q = db.prepare(
            "SELECT envelope FROM record_versions WHERE namespace = ?1 AND "
            "name = ?2 AND version = ?3");
        REQUIRE(q.ok());
        q->bind(1, ns).bind(2, name).bind(3, std::int64_t{version});
        REQUIRE(*q->step());
        envelope = q->column_blob(0);
    }
    envelope.back() ^= 0x01;
    auto u = db.prepare(
        "UPDATE record_versions SET envelope = ?4 WHERE namespace = ?1 AND "
        "name = ?2 AND version = ?3");
    REQUIRE(u.ok());
    u->bind(1, ns).bind(2, name).bind(3, std::int64_t{version}).bind(4, ByteView(envelope));
    REQUIRE(u->run().ok());
    REQUIRE(db.changes() == 1);
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("validate opens every record version, per keyring and by sample, with exact counts") {
    auto s = CliSetup::fresh("cli-validate");
    put(s, "alpha/x", "x1");
    put(s, "alpha/x", "x2");
    put(s, "alpha/y", "y1");
    put(s, "beta/z", "z1");

    auto all = s.kw.run({"validate"});
    CHECK(all.exit_code == 0);
    CHECK(all.err.empty());
    CHECK(all.out ==
          "validated 4 record versions: 4 opened, 0 failed\n"
          "  alpha v1: 3 record versions\n"
          "  beta v1: 1 record version\n");

    auto beta = s.kw.run({"validate", "--keyring", "beta", "--json"});
    CHECK(beta.exit_code == 0);
    CHECK(beta.out ==
          "{\"checked\":1,\"opened\":1,\"failed\":0,\"failed_by_error\":{},"
          "\"by_kek_version\":[{\"keyring\":\"beta\",\"version\":1,\"records\":1,\"failed\":0}],"
          "\"kek_findings\":[],\"failures\":[]}\n");

    auto sample = s.kw.run({"--json", "validate", "--sample", "2"});
    CHECK(sample.exit_code == 0);
    CHECK_THAT(sample.out, Catch::StartsWith("{\"checked\":2,\"opened\":2,\"failed\":0,"));
    auto sample_alpha = s.kw.run({"validate", "--keyring", "alpha", "--sample", "10"});
    CHECK(sample_alpha.exit_code == 0);
    CHECK(sample_alpha.out ==
          "validated 3 record versions: 3 opened, 0 failed\n"
          "  alpha v1: 3 record versions\n");

    REQUIRE(s.kw.run({"keyring", "create", "empty"}).exit_code == 0);
    auto empty = s.kw.run({"validate", "--keyring", "empty"});
    CHECK(empty.exit_code == 0);
    CHECK(empty.out == "validated 0 record versions: 0 opened, 0 failed\n");

    auto unknown = s.kw.run({"validate", "--keyring", "nope"});
    CHECK(unknown.exit_code == 4);
    CHECK(unknown.one_line_error());
    CHECK_THAT(unknown.err, Catch::Contains("keyring \"nope\" does not exist"));
    CHECK(unknown.out.empty());
    auto bad_sample = s.kw.run({"validate", "--sample", "0"});
    CHECK(bad_sample.exit_code == 2);
    CHECK(bad_sample.one_line_error());
}

TEST_CASE("a tampered envelope makes validate exit 1 naming the record and its version") {
    auto s = CliSetup::fresh("cli-validate-tamper");
    put(s, "alpha/x", "x1");
    put(s, "alpha/x", "x2");
    put(s, "alpha/y", "y1");
    tamper(s, "alpha", "x", 2);

    auto r = s.kw.run({"validate"});
    CHECK(r.exit_code == 1);
    CHECK(r.out ==
          "validated 3 record versions: 2 opened, 1 failed\n"
          "  alpha v1: 3 record versions, 1 failed\n"
          "failed: alpha/x version 2: authentication failed (auth_failed)\n");
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::StartsWith("keyward: 1 record version of 3 did not open (first: "
                                        "alpha/x version 2, auth_failed)"));

    auto j = s.kw.run({"validate", "--json"});
    CHECK(j.exit_code == 1);
    CHECK(j.out ==
          "{\"checked\":3,\"opened\":2,\"failed\":1,\"failed_by_error\":{\"auth_failed\":1},"
          "\"by_kek_version\":[{\"keyring\":\"alpha\",\"version\":1,\"records\":3,\"failed\":1}],"
          "\"kek_findings\":[],\"failures\":[{\"record\":\"alpha/x\",\"version\":2,"
          "\"code\":\"auth_failed\",\"error\":\"authentication failed\"}]}\n");
    CHECK(j.one_line_error());
    // The untouched versions still open.
    CHECK(s.kw.run({"get", "alpha/x", "--version", "1"}).out == "x1");
}

TEST_CASE("backup writes a private, self-contained snapshot; restore --yes brings it back") {
    auto s = CliSetup::fresh("cli-backup");
    put(s, "alpha/x", "x1");
    put(s, "beta/z", "z1");
    const auto snapshot = s.dir / "before-rotation.kwbak";

    auto b = s.kw.run({"backup", "--out", snapshot.string()});
    REQUIRE(b.exit_code == 0);
    CHECK(b.err.empty());
    CHECK_THAT(b.out, Catch::StartsWith("backup written to " + snapshot.string() +
                                        " (2 records, 2 versions, KEK versions alpha v1, "
                                        "beta v1; token serial "));
    CHECK(mode_of(snapshot) == 0600);
    // One file: rollback-journal mode (header bytes 18 and 19 are 1), nothing beside it.
    const std::string bytes = read_file(snapshot);
    REQUIRE(bytes.size() > 100);
    CHECK(bytes.substr(0, 16) == std::string("SQLite format 3\0", 16));
    CHECK(bytes[18] == 1);
    CHECK(bytes[19] == 1);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        CHECK_FALSE(std::filesystem::exists(snapshot.string() + suffix));
    }
    {
        auto snap = open_db(snapshot);
        auto live = open_db(s.dir / "keyward.db");
        CHECK(meta(snap, "backup_token_serial") == meta(live, "token_serial"));
        CHECK(meta(snap, "backup_token_label") == "keyward");
        CHECK_THAT(meta(snap, "backup_created_at"), Catch::Matches("\\d{4}-\\d\\d-\\d\\dT.*Z"));
        CHECK(meta(snap, "backup_keks") ==
              "[{\"keyring\":\"alpha\",\"version\":1,\"state\":\"active\",\"label\":"
              "\"keyward:alpha:v1\"},{\"keyring\":\"beta\",\"version\":1,\"state\":\"active\","
              "\"label\":\"keyward:beta:v1\"}]");
        CHECK(count(snap, "SELECT count(*) FROM records") == 2);
        CHECK(count(snap, "SELECT count(*) FROM records") ==
              count(live, "SELECT count(*) FROM records"));
        CHECK(count(snap, "SELECT count(*) FROM record_versions") == 2);
        CHECK(meta(live, "backup_created_at") == "(none)");
    }

    // The live database goes on working after the backup.
    put(s, "alpha/x", "x2");
    put(s, "alpha/later", "later");
    CHECK(s.kw.run({"get", "alpha/x"}).out == "x2");

    auto no_yes = s.kw.run({"restore", snapshot.string()});
    CHECK(no_yes.exit_code == 2);
    CHECK(no_yes.one_line_error());
    CHECK_THAT(no_yes.err, Catch::Contains("restore replaces the whole database") &&
                               Catch::Contains("add --yes"));
    CHECK(s.kw.run({"get", "alpha/later"}).out == "later");

    auto r = s.kw.run({"--json", "restore", snapshot.string(), "--yes"});
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out,
               Catch::StartsWith("{\"restored\":\"" + snapshot.string() + "\",\"created_at\":\""));
    CHECK_THAT(r.out, Catch::Contains("\"records\":2,\"record_versions\":2,"));
    auto later = s.kw.run({"get", "alpha/later"});
    CHECK(later.exit_code == 4);
    CHECK(later.one_line_error());
    CHECK(s.kw.run({"get", "alpha/x"}).out == "x1");
    CHECK(s.kw.run({"get", "beta/z"}).out == "z1");
    CHECK(s.kw.run({"validate"}).out ==
          "validated 2 record versions: 2 opened, 0 failed\n"
          "  alpha v1: 1 record version\n"
          "  beta v1: 1 record version\n");
    // Writing goes on after the restore, from version 2 again.
    auto again = s.kw.run({"put", "alpha/x", "--kind", "api_key"}, "x2-again");
    CHECK(again.out == "stored alpha/x version 2\n");

    // Record restore keeps working beside backup restore.
    auto record = s.kw.run({"restore", "alpha/x", "--version", "1"});
    CHECK(record.exit_code == 0);
    CHECK(record.out == "restored alpha/x version 1 as version 3\n");
    auto forgot = s.kw.run({"restore", "alpha/x"});
    CHECK(forgot.exit_code == 2);
    CHECK(forgot.one_line_error());
    CHECK_THAT(forgot.err, Catch::Contains("--version N"));
}

TEST_CASE("backup and restore refuse an existing file, garbage and another token's backup") {
    auto s = CliSetup::fresh("cli-backup-refusals");
    put(s, "alpha/x", "x1");

    const auto existing = s.dir / "existing";
    { std::ofstream(existing) << "do not touch"; }
    auto over = s.kw.run({"backup", "--out", existing.string()});
    CHECK(over.exit_code == 1);
    CHECK(over.one_line_error());
    CHECK_THAT(over.err, Catch::Contains(existing.string() + " exists"));
    CHECK(read_file(existing) == "do not touch");
    // Nothing left behind beside it either.
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(s.dir)) {
        if (e.path().filename().string().rfind(".existing", 0) == 0) ++entries;
    }
    CHECK(entries == 0);

    auto no_out = s.kw.run({"backup"});
    CHECK(no_out.exit_code == 2);
    CHECK(no_out.one_line_error());
    CHECK_THAT(no_out.err, Catch::Contains("--out FILE"));

    const auto garbage = s.dir / "garbage";
    { std::ofstream(garbage) << std::string(8192, 'g'); }
    auto bad = s.kw.run({"restore", garbage.string(), "--yes"});
    CHECK(bad.exit_code == 1);
    CHECK(bad.one_line_error());
    CHECK_THAT(bad.err, Catch::Contains(garbage.string() + " is not a keyward backup"));
    auto missing = s.kw.run({"restore", (s.dir / "missing").string(), "--yes"});
    CHECK(missing.exit_code == 4);
    CHECK(missing.one_line_error());

    // Another setup has its own token: its backup must not land here.
    auto other = CliSetup::fresh("cli-backup-other");
    put(other, "alpha/x", "theirs");
    const auto theirs = other.dir / "theirs.kwbak";
    REQUIRE(other.kw.run({"backup", "--out", theirs.string()}).exit_code == 0);
    std::string our_serial, their_serial;
    {
        auto ours = open_db(s.dir / "keyward.db");
        auto snap = open_db(theirs);
        our_serial = meta(ours, "token_serial");
        their_serial = meta(snap, "token_serial");
    }
    REQUIRE(our_serial != their_serial);
    auto cross = s.kw.run({"restore", theirs.string(), "--yes"});
    CHECK(cross.exit_code == 6);
    CHECK(cross.one_line_error());
    CHECK_THAT(cross.err, Catch::Contains("serial " + our_serial) &&
                              Catch::Contains("serial " + their_serial));
    CHECK(s.kw.run({"get", "alpha/x"}).out == "x1");
}

TEST_CASE("the runbook's backup before a rotation restores, until the old KEK is retired") {
    auto s = CliSetup::fresh("cli-backup-rotation");
    put(s, "alpha/x", "x1");
    put(s, "alpha/y", "y1");
    const auto snapshot = s.dir / "pre-rotation.kwbak";
    REQUIRE(s.kw.run({"backup", "--out", snapshot.string()}).exit_code == 0);
    auto rotated = s.kw.run({"keyring", "rotate", "alpha"});
    REQUIRE(rotated.exit_code == 0);
    put(s, "alpha/z", "z1");

    // Back to before the rotation: v1 active again, every record under it opens.
    auto r = s.kw.run({"restore", snapshot.string(), "--yes"});
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("(2 records, 2 versions, KEK versions alpha v1)"));
    CHECK(s.kw.run({"validate"}).out ==
          "validated 2 record versions: 2 opened, 0 failed\n"
          "  alpha v1: 2 record versions\n");
    CHECK(s.kw.run({"get", "alpha/z"}).exit_code == 4);
    // The token still holds v2 from the undone rotation; rotating again adopts it.
    auto again = s.kw.run({"--json", "keyring", "rotate", "alpha"});
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("\"to_version\":2"));
    CHECK(s.kw.run({"get", "alpha/x"}).out == "x1");

    // Once v1 is destroyed in the token, the pre-rotation backup can no longer be restored.
    auto retired = s.kw.run({"keyring", "retire", "alpha", "--version", "1"});
    REQUIRE(retired.exit_code == 0);
    auto refused = s.kw.run({"restore", snapshot.string(), "--yes"});
    CHECK(refused.exit_code == 6);
    CHECK(refused.one_line_error());
    CHECK_THAT(refused.err, Catch::Contains("KEK keyward:alpha:v1") &&
                                Catch::Contains("is missing from the token"));
    CHECK(s.kw.run({"validate"}).out ==
          "validated 2 record versions: 2 opened, 0 failed\n"
          "  alpha v2: 2 record versions\n");
}
