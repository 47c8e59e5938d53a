// SPDX-License-Identifier: Apache-2.0
// Validation and database backups over the fake HSM and real SQLite files: paging through more
// versions than a page holds, the failure list's cap, restores that keep the handle working,
// and every refusal of a backup that does not belong here.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>

#include "services_fixture.hpp"
#include "store/schema.hpp"
#include "support/catch_errc.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::FakeHsm;
using keyward::test::ServicesFixture;
using keyward::test::str;
using keyward::test::text;

namespace {

/// n records named r0..r(n-1) in namespace ns, stored in one bulk put.
void bulk_put(Keyward& kw, const std::string& ns, int n) {
    std::vector<ImportItem> items;
    for (int i = 0; i < n; ++i) {
        ImportItem item;
        item.line = static_cast<std::size_t>(i + 1);
        item.name = "r" + std::to_string(i);
        item.options.kind = "custom_secret";
        const std::string value = "value-" + std::to_string(i);
        item.value.assign(value.begin(), value.end());
        items.push_back(std::move(item));
    }
    auto outcomes = kw.import_records(ns, items);
    REQUIRE(outcomes.ok());
    for (const auto& o : *outcomes) REQUIRE(o.version == 1);
}

/// Flips the last byte (inside the GCM tag) of one stored envelope.
void tamper(ServicesFixture& f, const std::string& ns, const std::string& name, int version) {
    auto db = store::Database::open(f.db_path, store::Database::Mode::open_existing);
    REQUIRE(db.ok());
    Bytes envelope;
    {
        auto s = db->prepare(
            "SELECT envelope FROM record_versions WHERE namespace = ?1 AND "
            "name = ?2 AND version = ?3");
        REQUIRE(s.ok());
        s->bind(1, ns).bind(2, name).bind(3, std::int64_t{version});
        REQUIRE(*s->step());
        envelope = s->column_blob(0);
    }
    envelope.back() ^= 0x01;
    auto s = db->prepare(
        "UPDATE record_versions SET envelope = ?4 WHERE namespace = ?1 AND "
        "name = ?2 AND version = ?3");
    REQUIRE(s.ok());
    s->bind(1, ns).bind(2, name).bind(3, std::int64_t{version}).bind(4, ByteView(envelope));
    REQUIRE(s->run().ok());
    REQUIRE(db->changes() == 1);
}

std::uint64_t checked_under(const ValidationReport& r, const std::string& keyring) {
    for (const auto& k : r.by_kek_version) {
        if (k.keyring == keyring) return k.records;
    }
    return 0;
}

}  // namespace

TEST_CASE("validate walks every stored version across pages, per keyring and by sample") {
    ServicesFixture f;
    bulk_put(*f.kw, "big", 1203);  // more than two pages of 500
    REQUIRE(*f.kw->put_record("small/a", "api_key", text("a1")) == 1);
    REQUIRE(*f.kw->put_record("small/a", "api_key", text("a2")) == 2);
    REQUIRE(f.kw->delete_record("small/a").ok());  // versions of a deleted record count too

    auto all = f.kw->validate();
    REQUIRE(all.ok());
    CHECK(all->checked == 1205);
    CHECK(all->opened == 1205);
    CHECK(all->failed == 0);
    CHECK(all->all_opened());
    REQUIRE(all->by_kek_version.size() == 2);
    CHECK(all->by_kek_version[0].keyring == "big");
    CHECK(all->by_kek_version[0].version == 1);
    CHECK(all->by_kek_version[0].records == 1203);
    CHECK(all->by_kek_version[1].keyring == "small");
    CHECK(all->by_kek_version[1].records == 2);

    auto small = f.kw->validate("small");
    REQUIRE(small.ok());
    CHECK(small->checked == 2);
    CHECK(checked_under(*small, "big") == 0);

    auto sample = f.kw->validate("", 50);
    REQUIRE(sample.ok());
    CHECK(sample->checked == 50);
    CHECK(sample->opened == 50);
    auto more_than_there = f.kw->validate("small", 10);
    REQUIRE(more_than_there.ok());
    CHECK(more_than_there->checked == 2);

    CHECK(f.kw->validate("nope").error().code() == Errc::not_found);
    CHECK(f.kw->validate("Bad Name").error().code() == Errc::usage);
    REQUIRE(f.kw->create_keyring("empty").ok());
    auto empty = f.kw->validate("empty");
    REQUIRE(empty.ok());
    CHECK(empty->checked == 0);
    CHECK(empty->by_kek_version.empty());
}

TEST_CASE("validate counts every failure and lists the first 20 with record and version") {
    ServicesFixture f;
    bulk_put(*f.kw, "ns", 30);
    for (int i = 0; i < 25; ++i) tamper(f, "ns", "r" + std::to_string(i + 5), 1);
    auto r = f.kw->validate();
    REQUIRE(r.ok());
    CHECK(r->checked == 30);
    CHECK(r->opened == 5);
    CHECK(r->failed == 25);
    CHECK_FALSE(r->all_opened());
    REQUIRE(r->failed_by_code.size() == 1);
    CHECK(r->failed_by_code[0] == std::pair<std::string, std::uint64_t>{"auth_failed", 25});
    REQUIRE(r->failures.size() == kMaxValidationFailures);
    // Pages are in (namespace, name) order: r10 sorts before r5.
    CHECK(r->failures[0].record == "ns/r10");
    CHECK(r->failures[0].version == 1);
    CHECK(r->failures[0].code == "auth_failed");
    CHECK(r->failures[0].error == "authentication failed");
    REQUIRE(r->by_kek_version.size() == 1);
    CHECK(r->by_kek_version[0].failed == 25);
}

TEST_CASE("a restored backup brings the database back and the handle keeps working") {
    ServicesFixture f;
    REQUIRE(*f.kw->put_record("ns/a", "api_key", text("a1")) == 1);
    REQUIRE(f.kw->create_keyring("g", Suite::gcm).ok());
    for (int i = 0; i < 3; ++i) REQUIRE(f.kw->seal("g", text("x"), {}).ok());
    const auto snapshot = f.dir / "snap.db";
    auto backup = f.kw->backup(snapshot.string());
    REQUIRE(backup.ok());
    CHECK(backup->records == 1);
    CHECK(backup->record_versions == 1);
    CHECK(backup->token_serial == "fake-serial-1");
    CHECK(backup->schema_version == store::latest_schema_version());
    REQUIRE(backup->kek_versions.size() == 2);
    CHECK(backup->kek_versions[0].keyring == "g");
    CHECK(backup->kek_versions[1].label == "keyward:ns:v1");
    struct stat st {};
    REQUIRE(::stat(snapshot.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(std::filesystem::exists(snapshot.string() + "-wal"));

    // Changes after the backup: a new version, a new record, more suite 2 wraps.
    REQUIRE(*f.kw->put_record("ns/a", "api_key", text("a2")) == 2);
    REQUIRE(*f.kw->put_record("ns/b", "api_key", text("b1")) == 1);
    for (int i = 0; i < 4; ++i) REQUIRE(f.kw->seal("g", text("x"), {}).ok());
    const auto wraps_before = f.kw->keyring("g")->versions[0].gcm_wraps;

    auto restored = f.kw->restore_backup(snapshot.string());
    REQUIRE(restored.ok());
    CHECK(restored->created_at == backup->created_at);
    CHECK(str(*f.kw->get_record("ns/a")) == "a1");
    CHECK(f.kw->record("ns/a")->latest == 1);
    CHECK(f.kw->get_record("ns/b").error().code() == Errc::not_found);
    // Wraps made after the backup still count against the GCM limit.
    CHECK(f.kw->keyring("g")->versions[0].gcm_wraps == wraps_before);
    // The same handle reads and writes the restored database.
    REQUIRE(*f.kw->put_record("ns/a", "api_key", text("a2-again")) == 2);
    CHECK(str(*f.kw->get_record("ns/a")) == "a2-again");
    CHECK(f.kw->validate()->opened == 2);
}

TEST_CASE("backup never overwrites a file, and restore refuses what does not belong here") {
    ServicesFixture f;
    REQUIRE(*f.kw->put_record("ns/a", "api_key", text("a1")) == 1);
    const auto snapshot = f.dir / "snap.db";
    { std::ofstream(snapshot) << "keep me"; }
    CHECK(f.kw->backup(snapshot.string()).error().code() == Errc::already_exists);
    CHECK(test::read_file(snapshot) == "keep me");
    std::filesystem::remove(snapshot);
    REQUIRE(f.kw->backup(snapshot.string()).ok());

    SECTION("a file that is not a backup") {
        const auto garbage = f.dir / "garbage";
        std::ofstream(garbage) << std::string(4096, 'x');
        auto r = f.kw->restore_backup(garbage.string());
        CHECK(r.error().code() == Errc::failed);
        CHECK_THAT(r.error().message(), Catch::Contains("is not a keyward backup"));
        CHECK(f.kw->restore_backup((f.dir / "missing").string()).error().code() == Errc::not_found);
        // The live database itself is not a backup: it has no backup_created_at.
        CHECK_THAT(f.kw->restore_backup(f.db_path.string()).error().message(),
                   Catch::Contains("backup_created_at"));
    }
    SECTION("a backup with a newer schema") {
        {
            auto db = store::Database::open_plain(snapshot, false);
            REQUIRE(db.ok());
            REQUIRE(db->exec("PRAGMA user_version = 99").ok());
        }
        auto r = f.kw->restore_backup(snapshot.string());
        CHECK(r.error().code() == Errc::failed);
        CHECK_THAT(r.error().message(), Catch::Contains("newer than this keyward"));
    }
    SECTION("while a rotation is unfinished or its lease is held") {
        REQUIRE(*f.kw->put_record("ns/b", "api_key", text("b1")) == 1);
        std::atomic<bool> stop{true};
        RotateOptions options;
        options.stop = &stop;
        auto interrupted = f.kw->rotate_keyring("ns", options);
        REQUIRE(interrupted.ok());
        REQUIRE(interrupted->interrupted);
        auto r = f.kw->restore_backup(snapshot.string());
        CHECK(r.error().code() == Errc::failed);
        CHECK_THAT(r.error().message(),
                   Catch::Contains("keyring ns: job 1 (rotate v1->v2) is unfinished"));
        stop = false;
        auto finished = f.kw->rotate_keyring("ns", options);
        REQUIRE(finished.ok());
        REQUIRE(finished->state == RotationState::finished);

        f.sql(
            "INSERT INTO rotation_leases VALUES ('ns', 'elsewhere', 4242, "
            "'2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z')");
        r = f.kw->restore_backup(snapshot.string());
        CHECK(r.error().code() == Errc::failed);
        CHECK_THAT(r.error().message(),
                   Catch::Contains("keyring ns: its lease is held by pid 4242 on elsewhere"));
        f.sql("DELETE FROM rotation_leases");

        // Back to before the rotation: version 1 is active again and ns/b is gone, while the
        // token keeps version 2 (a later rotation adopts it).
        REQUIRE(f.kw->restore_backup(snapshot.string()).ok());
        auto ring = f.kw->keyring("ns");
        REQUIRE(ring->versions.size() == 1);
        CHECK(ring->versions[0].state == KekState::active);
        CHECK(str(*f.kw->get_record("ns/a")) == "a1");
        CHECK(f.kw->get_record("ns/b").error().code() == Errc::not_found);
        auto again = f.kw->rotate_keyring("ns", RotateOptions{});
        REQUIRE(again.ok());
        CHECK(again->to_version == 2);
        CHECK(again->done == 1);
        CHECK(f.kw->validate()->opened == 1);
    }
    SECTION("a backup of another token's database") {
        ServicesFixture other;
        auto fake = std::make_unique<FakeHsm>();
        fake->set_identity({"other-token", "fake-serial-2", "keyward tests", "FakeHsm", "1.0"});
        other.kw.reset();
        std::filesystem::remove(other.db_path);
        std::filesystem::remove(other.db_path.string() + "-wal");
        std::filesystem::remove(other.db_path.string() + "-shm");
        other.kw = other.reopen(std::move(fake));
        REQUIRE(*other.kw->put_record("ns/a", "api_key", text("other")) == 1);
        const auto theirs = other.dir / "theirs.db";
        REQUIRE(other.kw->backup(theirs.string()).ok());
        auto r = f.kw->restore_backup(theirs.string());
        CHECK(r.error().code() == Errc::token_mismatch);
        CHECK_THAT(r.error().message(), Catch::Contains("fake-serial-2") &&
                                            Catch::Contains("fake-serial-1") &&
                                            Catch::Contains(theirs.string()));
        CHECK(str(*f.kw->get_record("ns/a")) == "a1");
    }
    SECTION("a backup whose KEK the token no longer holds") {
        // Same token identity, but a fake token of its own: keyring ns's KEK is not in ours.
        ServicesFixture other;
        REQUIRE(*other.kw->put_record("ns/a", "api_key", text("other")) == 1);
        const auto theirs = other.dir / "theirs.db";
        REQUIRE(other.kw->backup(theirs.string()).ok());
        auto r = f.kw->restore_backup(theirs.string());
        CHECK(r.error().code() == Errc::token_mismatch);
        CHECK_THAT(r.error().message(), Catch::Contains("keyward:ns:v1"));
        CHECK(str(*f.kw->get_record("ns/a")) == "a1");
    }
}
