// SPDX-License-Identifier: Apache-2.0
// SQLite store: file mode, schema versioning and refusal of newer databases.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "store/schema.hpp"
#include "store/sqlite_store.hpp"
#include "support/test_env.hpp"

using namespace keyward;

TEST_CASE("a new database file is mode 0600 and at the latest schema version") {
    auto dir = test::fresh_dir("store");
    auto store = store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing);
    REQUIRE(store.ok());
    struct stat st {};
    REQUIRE(::stat((dir / "k.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(*store::schema_version((*store)->database()) == store::latest_schema_version());
    REQUIRE(::stat((dir / "k.db-wal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a database readable by others is narrowed to 0600 when it is ours") {
    auto dir = test::fresh_dir("store");
    {
        REQUIRE(
            store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing).ok());
    }
    ::chmod((dir / "k.db").c_str(), 0644);
    REQUIRE(store::SqliteStore::open(dir / "k.db", store::Database::Mode::open_existing).ok());
    struct stat st {};
    ::stat((dir / "k.db").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a database newer than the binary is refused and left untouched") {
    auto dir = test::fresh_dir("store");
    {
        auto db = store::Database::open(dir / "k.db", store::Database::Mode::create_if_missing);
        REQUIRE(db.ok());
        REQUIRE(db->exec("PRAGMA user_version = 999").ok());
    }
    auto before = test::read_file(dir / "k.db");
    auto store = store::SqliteStore::open(dir / "k.db", store::Database::Mode::open_existing);
    REQUIRE_FALSE(store.ok());
    CHECK_THAT(store.error().message(), Catch::Contains("newer than this keyward"));
    CHECK(test::read_file(dir / "k.db") == before);
}

TEST_CASE("opening a database that does not exist says to run init") {
    auto dir = test::fresh_dir("store");
    auto store = store::SqliteStore::open(dir / "none.db", store::Database::Mode::open_existing);
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code() == Errc::bad_config);
    CHECK_THAT(store.error().message(), Catch::Contains("keyward init"));
}

TEST_CASE("only one version of a keyring can be active, enforced by the schema") {
    auto dir = test::fresh_dir("store");
    auto store = store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing);
    REQUIRE(store.ok());
    auto& db = (*store)->database();
    REQUIRE(db.exec("INSERT INTO keyrings VALUES ('r', 1, 't', 365)").ok());
    REQUIRE(db.exec("INSERT INTO kek_versions(keyring, version, state, label, object_id, "
                    "check_value, created_at) VALUES ('r', 1, 'active', 'a', x'01', x'02', 't')")
                .ok());
    CHECK_FALSE(
        db.exec("INSERT INTO kek_versions(keyring, version, state, label, object_id, "
                "check_value, created_at) VALUES ('r', 2, 'active', 'b', x'01', x'02', 't')")
            .ok());
}

TEST_CASE("a constraint the database refuses is said in keyward's words, never SQLite's") {
    auto dir = test::fresh_dir("store");
    auto store = store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing);
    REQUIRE(store.ok());
    // A namespace mapped to a keyring the database does not have: the services check first,
    // so only an edited database gets here.
    auto refused = (*store)->map_namespace("ns", "no-such-keyring");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::database_error);
    CHECK(refused.error().message() ==
          "database " + (dir / "k.db").string() +
              ": the change was refused because it refers to a keyring, namespace, record or KEK "
              "version the database does not have (the database may have been edited: run "
              "keyward validate and keyward health)");
    core::KeyringRow ring{"r", Suite::kwp, "2026-12-06T00:00:00Z", 365, {}};
    REQUIRE((*store)->create_keyring(ring).ok());
    auto twice = (*store)->create_keyring(ring);
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().code() == Errc::already_exists);
    CHECK(twice.error().message().find("constraint") == std::string::npos);
}
