// Forward-only migrations. Each entry moves the schema from version i to i+1; entries are never
// edited once released: a change is a new entry.
#include "store/schema.hpp"

#include <array>
#include <string>

namespace keyward::store {

namespace {

constexpr std::array kMigrations = {
    // 1: token binding and keyrings with their KEK versions.
    R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE keyrings (
    name              TEXT PRIMARY KEY,
    suite             INTEGER NOT NULL CHECK (suite IN (1, 2)),
    created_at        TEXT NOT NULL,
    cryptoperiod_days INTEGER NOT NULL DEFAULT 365
) STRICT;
CREATE TABLE kek_versions (
    keyring     TEXT NOT NULL REFERENCES keyrings(name),
    version     INTEGER NOT NULL CHECK (version >= 1),
    state       TEXT NOT NULL CHECK (state IN
                  ('pre-active', 'active', 'decrypt-only', 'compromised', 'destroyed')),
    label       TEXT NOT NULL UNIQUE,
    object_id   BLOB NOT NULL,
    check_value BLOB NOT NULL,
    wrap_count  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (keyring, version)
) STRICT;
CREATE UNIQUE INDEX one_active_version ON kek_versions(keyring) WHERE state = 'active';
)sql",
    // 2: wallets and credentials. A record is an address (namespace/name) with a kind and a
    // state; each put adds a version holding one envelope. keyring and kek_version repeat the
    // envelope's header so that "what does KEK v still protect" is an index lookup (rotation
    // updates both in the same statement).
    R"sql(
CREATE TABLE namespaces (
    name       TEXT PRIMARY KEY,
    keyring    TEXT NOT NULL REFERENCES keyrings(name),
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE records (
    namespace  TEXT NOT NULL REFERENCES namespaces(name),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'active'
               CHECK (state IN ('active', 'expired', 'revoked', 'deleted', 'purged')),
    latest     INTEGER NOT NULL CHECK (latest >= 1),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (namespace, name)
) STRICT;
CREATE TABLE record_versions (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    envelope    BLOB NOT NULL,
    keyring     TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  TEXT,
    PRIMARY KEY (namespace, name, version),
    FOREIGN KEY (namespace, name) REFERENCES records(namespace, name),
    FOREIGN KEY (keyring, kek_version) REFERENCES kek_versions(keyring, version)
) STRICT;
CREATE INDEX record_versions_by_kek ON record_versions(keyring, kek_version);
)sql",
};

}  // namespace

int latest_schema_version() noexcept {
    return static_cast<int>(kMigrations.size());
}

Result<int> schema_version(Database& db) {
    KW_TRY(auto stmt, db.prepare("PRAGMA user_version"));
    KW_TRY(bool row, stmt.step());
    if (!row) return Error(Errc::database_error, "database: cannot read user_version");
    return static_cast<int>(stmt.column_int(0));
}

Status migrate(Database& db) {
    KW_TRY(int current, schema_version(db));
    if (current > latest_schema_version()) {
        return Error(Errc::failed, "database schema version " + std::to_string(current) +
                                       " is newer than this keyward understands (" +
                                       std::to_string(latest_schema_version()) +
                                       "); upgrade keyward, the database was not touched");
    }
    for (int v = current; v < latest_schema_version(); ++v) {
        KW_TRY(auto tx, Transaction::begin(db));
        // Re-read inside the write lock: another process may have migrated meanwhile.
        KW_TRY(int now, schema_version(db));
        if (now > v) continue;
        KW_TRY_STATUS(db.exec(kMigrations[static_cast<std::size_t>(v)]));
        std::string pragma = "PRAGMA user_version = " + std::to_string(v + 1);
        KW_TRY_STATUS(db.exec(pragma.c_str()));
        KW_TRY_STATUS(tx.commit());
    }
    return {};
}

}  // namespace keyward::store
