// SPDX-License-Identifier: Apache-2.0
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
    // 3: record metadata. Rotation policy, description, who changed it, and the latest
    // version's expiry on the record itself so that list filters need no join. value_since is
    // when a value was first stored: a restored version keeps its original date, so restoring
    // an old value does not reset its rotation clock. Tags get their own table so that
    // "--tag K=V" is an index lookup and a tag never has to be parsed out of a blob.
    R"sql(
ALTER TABLE records ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN expires_at TEXT;
ALTER TABLE records ADD COLUMN value_since TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN rotate_after_days INTEGER NOT NULL DEFAULT 0
    CHECK (rotate_after_days >= 0);
ALTER TABLE records ADD COLUMN warn_before_days INTEGER NOT NULL DEFAULT 0
    CHECK (warn_before_days >= 0);
ALTER TABLE records ADD COLUMN auto_rotate INTEGER NOT NULL DEFAULT 0
    CHECK (auto_rotate IN (0, 1));
ALTER TABLE records ADD COLUMN generate_bytes INTEGER;
ALTER TABLE records ADD COLUMN state_before_delete TEXT NOT NULL DEFAULT '';
ALTER TABLE record_versions ADD COLUMN value_since TEXT NOT NULL DEFAULT '';
ALTER TABLE record_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'put';
UPDATE record_versions SET value_since = created_at;
UPDATE records SET
    value_since = (SELECT v.created_at FROM record_versions v WHERE v.namespace = records.namespace
                   AND v.name = records.name AND v.version = records.latest),
    expires_at = (SELECT v.expires_at FROM record_versions v WHERE v.namespace = records.namespace
                  AND v.name = records.name AND v.version = records.latest),
    created_by = (SELECT v.created_by FROM record_versions v WHERE v.namespace = records.namespace
                  AND v.name = records.name AND v.version = 1),
    updated_by = (SELECT v.created_by FROM record_versions v WHERE v.namespace = records.namespace
                  AND v.name = records.name AND v.version = records.latest);
CREATE TABLE record_tags (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (namespace, name, key),
    FOREIGN KEY (namespace, name) REFERENCES records(namespace, name)
) STRICT;
CREATE INDEX record_tags_by_tag ON record_tags(key, value);
CREATE INDEX records_by_expiry ON records(expires_at) WHERE expires_at IS NOT NULL;
)sql",
    // 4: rotation. A job is one rotation, re-encryption or rollback of a keyring, with a
    // cursor so that a crashed run resumes where its last committed batch ended. kept_wraps
    // holds, per record version, the wrapped DEK it had before the last rotation, so that a
    // rollback is a header swap without the HSM. The lease names the process running a job.
    R"sql(
CREATE TABLE rotation_jobs (
    id               INTEGER PRIMARY KEY,
    keyring          TEXT NOT NULL REFERENCES keyrings(name),
    kind             TEXT NOT NULL CHECK (kind IN ('rotate', 'reencrypt', 'rollback')),
    from_version     INTEGER NOT NULL,
    to_version       INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('running', 'finished', 'rolled-back')),
    started_at       TEXT NOT NULL,
    started_by       TEXT NOT NULL,
    finished_at      TEXT,
    cursor_namespace TEXT NOT NULL DEFAULT '',
    cursor_name      TEXT NOT NULL DEFAULT '',
    cursor_version   INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL DEFAULT 0,
    done             INTEGER NOT NULL DEFAULT 0,
    skipped          INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    hsm_rewraps      INTEGER NOT NULL DEFAULT 0,
    seconds          REAL NOT NULL DEFAULT 0,
    max_commit_ms    REAL NOT NULL DEFAULT 0,
    runs             INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE UNIQUE INDEX one_running_job ON rotation_jobs(keyring) WHERE state = 'running';
CREATE TABLE kept_wraps (
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    job_id      INTEGER NOT NULL REFERENCES rotation_jobs(id),
    keyring     TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped_dek BLOB NOT NULL,
    PRIMARY KEY (namespace, name, version),
    FOREIGN KEY (namespace, name, version) REFERENCES record_versions(namespace, name, version)
) STRICT;
CREATE INDEX kept_wraps_by_kek ON kept_wraps(keyring, kek_version);
CREATE TABLE rotation_leases (
    keyring      TEXT PRIMARY KEY REFERENCES keyrings(name),
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
) STRICT;
CREATE INDEX record_versions_by_keyring_key
    ON record_versions(keyring, namespace, name, version);
)sql",
    // 5: audit log and access control (docs/AUDIT.md, docs/ACCESS.md). Each audit row links to
    // the previous one by hash; a commit's last row carries the token's MAC of the chain head.
    // Grant and proposal rows carry a MAC made in the token: the database stores them but
    // cannot vouch for them. No CHECK constraints on their text: whoever can write the file
    // can bypass them, and keyward judges the rows by their MACs.
    R"sql(
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    principal      TEXT NOT NULL,
    actor          TEXT NOT NULL DEFAULT '',
    operation      TEXT NOT NULL,
    target         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    error          TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT '',
    client_address TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    request_id     TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL,
    mac            BLOB,
    key_version    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX audit_log_by_time ON audit_log(at);
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    principal   TEXT NOT NULL,
    role        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  TEXT NOT NULL DEFAULT '',
    break_glass INTEGER NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',
    key_version INTEGER NOT NULL,
    mac         BLOB NOT NULL
) STRICT;
CREATE INDEX grants_by_principal ON grants(principal, scope, role);
CREATE TABLE proposals (
    id          TEXT PRIMARY KEY,
    operation   TEXT NOT NULL,
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    state       TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL DEFAULT '',
    key_version INTEGER NOT NULL,
    mac         BLOB NOT NULL
) STRICT;
)sql",
    // 6: keywardd's service tokens (docs/SERVICE.md). Only an HMAC of each token is kept
    // (lookup, made in the token under audit key version lookup_key_version); the row's MAC
    // covers every other column, so a database writer can neither mint nor extend one.
    R"sql(
CREATE TABLE service_tokens (
    id                 TEXT PRIMARY KEY,
    principal          TEXT NOT NULL,
    lookup             BLOB NOT NULL,
    lookup_key_version INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    expires_at         TEXT NOT NULL DEFAULT '',
    ttl_seconds        INTEGER NOT NULL DEFAULT 0,
    renewable          INTEGER NOT NULL DEFAULT 0,
    max_expires_at     TEXT NOT NULL DEFAULT '',
    revoked_at         TEXT NOT NULL DEFAULT '',
    key_version        INTEGER NOT NULL,
    mac                BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX service_tokens_by_lookup ON service_tokens(lookup, lookup_key_version);
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
    return migrate_to(db, latest_schema_version());
}

Status migrate_to(Database& db, int target) {
    KW_TRY(int current, schema_version(db));
    if (current > latest_schema_version()) {
        return Error(Errc::failed, "database schema version " + std::to_string(current) +
                                       " is newer than this keyward understands (" +
                                       std::to_string(latest_schema_version()) +
                                       "); upgrade keyward, the database was not touched");
    }
    for (int v = current; v < target && v < latest_schema_version(); ++v) {
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
