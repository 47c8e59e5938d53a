// SPDX-License-Identifier: Apache-2.0
// Database faults planted behind keyward's back, over the fake HSM: another process holding
// the write lock (a second SQLite connection in BEGIN IMMEDIATE), and a full disk (FullDiskVfs,
// registered as SQLite's default VFS for the length of a test).

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/assemble.hpp"
#include "core/busy_budget.hpp"
#include "fake_hsm.hpp"
#include "full_disk_vfs.hpp"
#include "keyward/keyward.hpp"
#include "store/sqlite_store.hpp"
#include "support/catch_errc.hpp"
#include "support/secret_text.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace std::chrono_literals;
using keyward::test::FakeHsm;
using keyward::test::FullDiskVfs;
using keyward::test::SqliteFile;
using keyward::test::str;
using keyward::test::text;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A keyward handle over the fake HSM whose store waits `busy` for other processes' locks.
struct Handle {
    std::filesystem::path dir = test::fresh_dir("db-faults");
    std::filesystem::path db_path = dir / "keyward.db";
    FakeHsm* hsm = nullptr;  // owned by kw
    std::unique_ptr<Keyward> kw;

    explicit Handle(std::chrono::milliseconds busy = 10s) {
        store::Database::Options options;
        options.busy_timeout = busy;
        auto store =
            store::SqliteStore::open(db_path, store::Database::Mode::create_if_missing, options);
        if (!store.ok()) throw std::runtime_error(store.error().message());
        auto fake = std::make_unique<FakeHsm>();
        hsm = fake.get();
        auto handle = core::assemble(std::move(fake), std::move(*store), Config{});
        if (!handle.ok()) throw std::runtime_error(handle.error().message());
        kw = std::move(*handle);
    }

    std::uint32_t latest(const std::string& address) {
        auto row = kw->record_version(address);
        if (!row.ok()) throw std::runtime_error(row.error().message());
        return row->version;
    }
};

std::string locked_message(const std::filesystem::path& db, int ms) {
    return "database " + db.string() + " is locked by another process (gave up after waiting " +
           std::to_string(ms) + " ms, busy_timeout_ms = " + std::to_string(ms) +
           "); retry once it has finished, or raise busy_timeout_ms in the configuration";
}

std::string full_message(const std::filesystem::path& db, const char* code) {
    return "database " + db.string() + ": no space left on device (" + code +
           "); free space on its file system, then retry";
}

}  // namespace

TEST_CASE(
    "a put behind another process's write lock fails once, within one budget, unsealed again") {
    Handle h(300ms);
    REQUIRE(h.kw->put_record("ns/a", "custom_secret", text("one")).ok());
    SqliteFile other(h.db_path);
    other.exec("BEGIN IMMEDIATE");
    const int wraps = h.hsm->wrap_calls();
    const auto start = Clock::now();
    auto put = h.kw->put_record("ns/a", "custom_secret", text("two"));
    const double took = seconds_since(start);
    REQUIRE_FALSE(put.ok());
    CHECK(put.error().code() == Errc::database_locked);
    CHECK(put.error().exit_code() == 1);
    CHECK(put.error().message() == locked_message(h.db_path, 300));
    // Before: SQLITE_BUSY was taken for a lost version race, sealed again 16 times, each
    // waiting out the busy timeout (160 s at the default 10 s).
    CHECK(took >= 0.29);
    CHECK(took < 3.0);
    CHECK(h.hsm->wrap_calls() == wraps + 1);
    // A read is audited strictly (docs/AUDIT.md): behind another writer's lock its entry
    // cannot be written within the budget, so the value is withheld, not handed out unlogged.
    auto get = h.kw->get_record("ns/a");
    REQUIRE_FALSE(get.ok());
    CHECK(get.error().code() == Errc::failed);
    CHECK_THAT(get.error().message(),
               Catch::StartsWith("record.get could not be audited, so its result is withheld: "
                                 "writing the audit log: "));
    other.exec("ROLLBACK");
    CHECK(str(*h.kw->get_record("ns/a")) == "one");
    CHECK(h.latest("ns/a") == 1);
    CHECK(*h.kw->put_record("ns/a", "custom_secret", text("two")) == 2);
}

TEST_CASE("a put that must write before its insert fails within one budget behind a lock") {
    Handle h(300ms);
    // A suite 2 keyring reserves GCM wraps in its own transaction before the insert.
    REQUIRE(h.kw->create_keyring("g2", Suite::gcm).ok());
    REQUIRE(h.kw->map_namespace("gcm", "g2").ok());
    SqliteFile other(h.db_path);
    other.exec("BEGIN IMMEDIATE");
    // "new" makes its keyring (a transaction) and maps its namespace (another) first.
    for (const char* address : {"new/a", "gcm/a"}) {
        INFO(address);
        const auto start = Clock::now();
        auto put = h.kw->put_record(address, "custom_secret", text("v"));
        REQUIRE_FALSE(put.ok());
        CHECK(put.error().code() == Errc::database_locked);
        CHECK(seconds_since(start) < 3.0);
    }
    other.exec("ROLLBACK");
    CHECK(*h.kw->put_record("new/a", "custom_secret", text("v")) == 1);
    CHECK(*h.kw->put_record("gcm/a", "custom_secret", text("v")) == 1);
}

TEST_CASE("a lock released within the budget lets the put through") {
    Handle h(5000ms);
    REQUIRE(h.kw->put_record("ns/a", "custom_secret", text("one")).ok());
    SqliteFile other(h.db_path);
    other.exec("BEGIN IMMEDIATE");
    std::thread release([&other] {
        std::this_thread::sleep_for(400ms);
        other.exec("COMMIT");
    });
    const auto start = Clock::now();
    auto put = h.kw->put_record("ns/a", "custom_secret", text("two"));
    const double took = seconds_since(start);
    release.join();
    INFO((put.ok() ? std::string("ok") : put.error().message()));
    REQUIRE(put.ok());
    CHECK(*put == 2);
    CHECK(took >= 0.35);
    CHECK(took < 4.0);
}

TEST_CASE("one budget covers every statement of an operation; without one, each statement waits") {
    Handle h(400ms);
    SqliteFile other(h.db_path);
    other.exec("BEGIN IMMEDIATE");
    auto db = store::Database::open(h.db_path, store::Database::Mode::open_existing,
                                    store::Database::Options{400ms});
    REQUIRE(db.ok());

    SECTION("an operation's budget is spent once") {
        core::BusyBudget budget;
        core::BusyBudget::Scope scope(budget);
        auto start = Clock::now();
        auto first = db->exec("BEGIN IMMEDIATE");
        REQUIRE_FALSE(first.ok());
        CHECK(first.error().code() == Errc::database_locked);
        CHECK(seconds_since(start) >= 0.39);
        start = Clock::now();
        auto second = db->exec("BEGIN IMMEDIATE");
        REQUIRE_FALSE(second.ok());
        CHECK(second.error().code() == Errc::database_locked);
        CHECK(seconds_since(start) < 0.2);
        CHECK(budget.spent() >= 390ms);
        CHECK(budget.spent() < 600ms);
    }
    SECTION("nested scopes share the outermost budget; a door may choose its own total") {
        core::BusyBudget outer(150ms);
        core::BusyBudget::Scope scope(outer);
        core::BusyBudget inner(5000ms);
        core::BusyBudget::Scope nested(inner);
        const auto start = Clock::now();
        REQUIRE_FALSE(db->exec("BEGIN IMMEDIATE").ok());
        CHECK(seconds_since(start) < 0.39);
        CHECK(outer.spent() >= 140ms);
        CHECK(inner.spent() == 0ms);
    }
    SECTION("outside an operation, every statement has the whole timeout") {
        for (int i = 0; i < 2; ++i) {
            const auto start = Clock::now();
            auto r = db->exec("BEGIN IMMEDIATE");
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code() == Errc::database_locked);
            CHECK(seconds_since(start) >= 0.39);
            CHECK(seconds_since(start) < 2.0);
        }
    }
    other.exec("ROLLBACK");
}

TEST_CASE("a real version race is still sealed again for the next version") {
    Handle h(300ms);
    REQUIRE(h.kw->put_record("race/r", "custom_secret", text("one")).ok());
    // Between this put's seal and its insert, another writer stores version 2.
    h.hsm->after_next_wrap = [&h] {
        REQUIRE(*h.kw->put_record("race/r", "custom_secret", text("other")) == 2);
    };
    const int wraps = h.hsm->wrap_calls();
    auto put = h.kw->put_record("race/r", "custom_secret", text("mine"));
    REQUIRE(put.ok());
    CHECK(*put == 3);
    CHECK(h.hsm->wrap_calls() == wraps + 3);  // mine, the other's, mine sealed again for #3
    CHECK(str(*h.kw->get_record("race/r", 2)) == "other");
    CHECK(str(*h.kw->get_record("race/r", 3)) == "mine");
}

TEST_CASE(
    "a full disk: writes name the file and the lack of space; reads go on; nothing half-written") {
    FullDiskVfs vfs;
    std::filesystem::path db_path;
    {
        Handle h;
        db_path = h.db_path;
        REQUIRE(h.kw->put_record("ns/a", "custom_secret", text("one")).ok());
        const int generated = h.hsm->generate_calls();

        SECTION("full at the first byte") {
            vfs.fill_after(0);
        }
        SECTION("full part way through the transaction's WAL frames") {
            vfs.fill_after(6000);
        }

        auto put = h.kw->put_record("ns/a", "custom_secret", text("two"));
        REQUIRE_FALSE(put.ok());
        CHECK(put.error().code() == Errc::database_error);
        CHECK(put.error().exit_code() == 1);
        CHECK(put.error().message() == full_message(h.db_path, "SQLITE_FULL"));
        CHECK(vfs.failed_writes() >= 1);

        // A first put into a new namespace makes its keyring's KEK in the token, then cannot
        // record it: the KEK stays in the token without a row (adopted below).
        vfs.fill_after(0);
        auto fresh = h.kw->put_record("fresh/x", "custom_secret", text("x"));
        REQUIRE_FALSE(fresh.ok());
        CHECK(fresh.error().message() == full_message(h.db_path, "SQLITE_FULL"));
        CHECK(h.hsm->generate_calls() == generated + 1);

        // Every call is audited, reads strictly: with the disk full their entries cannot be
        // written, so the values are withheld (docs/AUDIT.md). The data itself is intact.
        auto get = h.kw->get_record("ns/a");
        REQUIRE_FALSE(get.ok());
        CHECK_THAT(get.error().message(),
                   Catch::StartsWith("record.get could not be audited, so its result is withheld"));
        CHECK_THAT(get.error().message(), Catch::EndsWith(full_message(h.db_path, "SQLITE_FULL")));
        CHECK_FALSE(h.kw->records(std::string("ns")).ok());
        {
            // Nor does a new process's start-up: open, pragmas, the schema version check.
            auto again = store::SqliteStore::open(h.db_path, store::Database::Mode::open_existing);
            REQUIRE(again.ok());
            auto row = (*again)->find_record("ns", "a");
            REQUIRE(row.ok());
            REQUIRE(row->has_value());
            CHECK((*row)->latest == 1);
            auto health = (*again)->check_database();
            REQUIRE(health.ok());
            CHECK(health->integrity == "ok");
        }

        vfs.free_space();
        CHECK(h.latest("ns/a") == 1);
        CHECK(*h.kw->put_record("ns/a", "custom_secret", text("two")) == 2);
        CHECK(str(*h.kw->get_record("ns/a")) == "two");
        CHECK(str(*h.kw->get_record("ns/a", 1)) == "one");
        // The KEK made for the failed transaction is adopted, not made a second time.
        REQUIRE(*h.kw->put_record("fresh/x", "custom_secret", text("x")) == 1);
        CHECK(h.hsm->generate_calls() == generated + 1);
        CHECK(str(*h.kw->get_record("fresh/x")) == "x");
    }
    SqliteFile after(db_path);
    CHECK(after.text("PRAGMA integrity_check") == "ok\n");
    CHECK(after.integer("SELECT count(*) FROM record_versions") == 3);
}

TEST_CASE("keyward keeps its -shm file, so that a full disk does not stop the next start-up") {
    FullDiskVfs vfs;
    Handle h;
    REQUIRE(h.kw->put_record("ns/a", "custom_secret", text("one")).ok());
    const std::filesystem::path db_path = h.db_path;
    h.kw.reset();
    // SQLite removes both files when the last connection closes, unless told to keep them:
    // making a -shm file again takes 32 KiB, which a full disk does not have.
    const std::string wal = db_path.string() + "-wal", shm = db_path.string() + "-shm";
    REQUIRE(std::filesystem::exists(shm));
    CHECK(std::filesystem::file_size(shm) == 32768);
    REQUIRE(std::filesystem::exists(wal));
    CHECK(std::filesystem::file_size(wal) == 0);  // emptied at close: no old page images

    vfs.fill_after(0);
    auto open = [&] {
        return store::SqliteStore::open(db_path, store::Database::Mode::open_existing);
    };
    {
        auto again = open();
        REQUIRE(again.ok());
        auto row = (*again)->find_record("ns", "a");
        REQUIRE(row.ok());
        CHECK((*row)->latest == 1);
    }
    CHECK(vfs.failed_writes() == 0);

    // Another SQLite program that closed the database last removed the -shm file: on a full
    // disk nothing can open it then, and the message says why.
    std::filesystem::remove(shm);
    auto refused = open();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::database_error);
    CHECK(refused.error().message() == full_message(db_path, "SQLITE_IOERR_SHMSIZE"));
    CHECK(vfs.failed_writes() >= 1);

    vfs.free_space();
    auto after = open();
    REQUIRE(after.ok());
    CHECK((*after)->find_record("ns", "a")->has_value());
}
