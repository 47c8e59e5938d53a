// SPDX-License-Identifier: Apache-2.0
// SQLite implementation of the records part of core::Store (core/record_store.hpp).
#include <sys/stat.h>

#include "core/clock.hpp"
#include "store/sqlite_store.hpp"

namespace keyward::store {

namespace {

constexpr std::string_view kRecordColumns =
    "SELECT namespace, name, kind, state, latest, description, created_at, created_by, "
    "updated_at, updated_by, expires_at, value_since, rotate_after_days, warn_before_days, "
    "auto_rotate, generate_bytes, state_before_delete FROM records ";
constexpr std::string_view kRecordVersionColumns =
    "SELECT namespace, name, version, envelope, keyring, kek_version, created_at, created_by, "
    "expires_at, value_since, origin FROM record_versions ";

Result<core::RecordRow> read_record(const Statement& s) {
    core::RecordRow r;
    r.ns = s.column_text(0);
    r.name = s.column_text(1);
    r.kind = s.column_text(2);
    const std::string state = s.column_text(3);
    const auto parsed = parse_record_state(state);
    if (!parsed) return Error(Errc::database_error, "database: unknown record state " + state);
    r.state = *parsed;
    r.latest = s.column_u32(4);
    r.description = s.column_text(5);
    r.created_at = s.column_text(6);
    r.created_by = s.column_text(7);
    r.updated_at = s.column_text(8);
    r.updated_by = s.column_text(9);
    r.expires_at = s.column_optional_text(10);
    r.value_since = s.column_text(11);
    r.policy.rotate_after_days = s.column_u32(12);
    r.policy.warn_before_days = s.column_u32(13);
    r.policy.auto_rotate = s.column_int(14) != 0;
    if (!s.column_is_null(15)) r.generate_bytes = s.column_u32(15);
    r.state_before_delete = parse_record_state(s.column_text(16));  // '' when not deleted
    return r;
}

core::RecordVersionRow read_record_version(const Statement& s) {
    core::RecordVersionRow v;
    v.ns = s.column_text(0);
    v.name = s.column_text(1);
    v.version = s.column_u32(2);
    v.envelope = s.column_blob(3);
    v.keyring = s.column_text(4);
    v.kek_version = s.column_u32(5);
    v.created_at = s.column_text(6);
    v.created_by = s.column_text(7);
    v.expires_at = s.column_optional_text(8);
    v.value_since = s.column_text(9);
    v.origin = s.column_text(10);
    return v;
}

std::string address(const std::string& ns, const std::string& name) {
    return ns + "/" + name;
}

std::uint64_t bytes_on_disk(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

Result<std::string> SqliteStore::namespace_keyring(const std::string& ns,
                                                   const std::string& keyring_if_new) {
    std::lock_guard lock(mutex_);
    {
        KW_TRY(auto s, cached("SELECT keyring FROM namespaces WHERE name = ?1"));
        s->bind(1, ns);
        KW_TRY(bool row, s->step());
        if (row) return s->column_text(0);
    }
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto ins, db_.prepare("INSERT INTO namespaces(name, keyring, created_at) VALUES "
                                 "(?1, ?2, ?3) ON CONFLICT(name) DO NOTHING"));
    ins.bind(1, ns).bind(2, keyring_if_new).bind(3, core::utc_now_iso8601());
    KW_TRY_STATUS(ins.run());
    KW_TRY(auto sel, db_.prepare("SELECT keyring FROM namespaces WHERE name = ?1"));
    sel.bind(1, ns);
    KW_TRY(bool row, sel.step());
    std::string keyring = row ? sel.column_text(0) : keyring_if_new;
    KW_TRY_STATUS(tx.commit());
    return keyring;
}

Result<std::optional<std::string>> SqliteStore::find_namespace(const std::string& ns) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("SELECT keyring FROM namespaces WHERE name = ?1"));
    s->bind(1, ns);
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<std::string>{};
    return std::optional<std::string>{s->column_text(0)};
}

Status SqliteStore::map_namespace(const std::string& ns, const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto sel, db_.prepare("SELECT keyring FROM namespaces WHERE name = ?1"));
    sel.bind(1, ns);
    KW_TRY(bool row, sel.step());
    if (row) {
        return Error(Errc::already_exists, "namespace " + ns + " already maps to keyring " +
                                               sel.column_text(0) +
                                               "; a namespace keeps its keyring");
    }
    KW_TRY(auto ins,
           db_.prepare("INSERT INTO namespaces(name, keyring, created_at) VALUES (?1, ?2, ?3)"));
    ins.bind(1, ns).bind(2, keyring).bind(3, core::utc_now_iso8601());
    KW_TRY_STATUS(ins.run());
    return tx.commit();
}

Result<std::vector<core::NamespaceRow>> SqliteStore::list_namespaces() {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare("SELECT name, keyring, created_at FROM namespaces ORDER BY name"));
    std::vector<core::NamespaceRow> out;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        out.push_back({s.column_text(0), s.column_text(1), s.column_text(2)});
    }
    return out;
}

Status SqliteStore::put_record(const core::RecordPut& put) {
    std::lock_guard lock(mutex_);
    // BEGIN IMMEDIATE takes the write lock before the latest version is read, so the check
    // and the insert are one step for every other writer.
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY_STATUS(insert_version(put));
    return tx.commit();
}

Result<std::vector<Status>> SqliteStore::put_records(std::span<const core::RecordPut> puts) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    std::vector<Status> outcomes;
    outcomes.reserve(puts.size());
    for (const auto& put : puts) {
        // A refused put has written nothing: every check precedes the first write.
        auto outcome = insert_version(put);
        if (!outcome.ok() && (outcome.error().code() == Errc::database_error ||
                              outcome.error().code() == Errc::database_locked)) {
            return outcome.error();
        }
        outcomes.push_back(std::move(outcome));
    }
    KW_TRY_STATUS(tx.commit());
    return outcomes;
}

// Caller holds mutex_ and a write transaction.
Status SqliteStore::insert_version(const core::RecordPut& put) {
    const std::string where = "record " + address(put.ns, put.name);
    std::uint32_t next = 1;
    bool exists = false;
    {
        KW_TRY(auto s, cached(std::string(kRecordColumns) + "WHERE namespace = ?1 AND name = ?2"));
        s->bind(1, put.ns).bind(2, put.name);
        KW_TRY(bool row, s->step());
        if (row) {
            KW_TRY(auto existing, read_record(*s));
            exists = true;
            if (existing.kind != put.kind && existing.state != RecordState::purged) {
                return Error(Errc::usage, where + " is of kind " + existing.kind + ", not " +
                                              put.kind + "; a record keeps its kind");
            }
            if (existing.state == RecordState::revoked || existing.state == RecordState::deleted) {
                const bool deleted = existing.state == RecordState::deleted;
                return Error(
                    Errc::state_refused,
                    where + " is " + std::string(record_state_name(existing.state)) +
                        "; new versions are refused" +
                        (deleted ? " (keyward recover brings it back)" : " (revocation is final)"));
            }
            next = existing.latest + 1;
        }
    }
    if (put.version != next) {
        return Error(Errc::conflict, where + " gained version " + std::to_string(next - 1) +
                                         " from another writer meanwhile; retry");
    }
    if (!exists && !put.policy) {
        return Error(Errc::failed, where + ": a new record needs a rotation policy");
    }
    {
        // Sealed before this write lock: a rotation may have begun and run past this record's
        // place meanwhile (its cursor only moves forward), which would leave the new version
        // under the old KEK for good. Such a put is refused as a conflict and sealed again.
        KW_TRY(auto s,
               cached("SELECT state FROM kek_versions WHERE keyring = ?1 AND version = ?2"));
        s->bind(1, put.keyring).bind(2, static_cast<std::int64_t>(put.kek_version));
        KW_TRY(bool row, s->step());
        if (!row || parse_kek_state(s->column_text(0)) != KekState::active) {
            return Error(Errc::conflict, where + ": keyring " + put.keyring +
                                             " was rotated while the value was being sealed; "
                                             "retry");
        }
    }
    const std::string now = core::utc_now_iso8601();
    const std::string value_since = put.value_since.value_or(now);
    // A purged record starts a new life under the same name: fresh metadata, next version.
    KW_TRY(auto upsert,
           cached("INSERT INTO records(namespace, name, kind, latest, created_at, created_by, "
                  "updated_at, updated_by, expires_at, value_since, description, "
                  "rotate_after_days, warn_before_days, auto_rotate, generate_bytes) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?6, ?7, ?8, coalesce(?9, ''), ?10, ?11, "
                  "?12, ?13) ON CONFLICT(namespace, name) DO UPDATE SET "
                  "state = 'active', kind = ?3, latest = ?4, updated_at = ?5, updated_by = ?6, "
                  "expires_at = ?7, value_since = ?8, "
                  "created_at = iif(state = 'purged', ?5, created_at), "
                  "created_by = iif(state = 'purged', ?6, created_by), "
                  "description = coalesce(?9, description), "
                  "rotate_after_days = iif(?14, ?10, rotate_after_days), "
                  "warn_before_days = iif(?14, ?11, warn_before_days), "
                  "auto_rotate = iif(?14, ?12, auto_rotate), "
                  "generate_bytes = coalesce(?13, generate_bytes)"));
    const auto policy = put.policy.value_or(RotationPolicy{});
    upsert->bind(1, put.ns)
        .bind(2, put.name)
        .bind(3, put.kind)
        .bind(4, static_cast<std::int64_t>(put.version))
        .bind(5, now)
        .bind(6, put.created_by)
        .bind(7, put.expires_at)
        .bind(8, value_since)
        .bind(9, put.description)
        .bind(10, static_cast<std::int64_t>(policy.rotate_after_days))
        .bind(11, static_cast<std::int64_t>(policy.warn_before_days))
        .bind(12, std::int64_t{policy.auto_rotate ? 1 : 0})
        .bind(14, std::int64_t{put.policy ? 1 : 0});
    if (put.generate_bytes) {
        upsert->bind(13, static_cast<std::int64_t>(*put.generate_bytes));
    } else {
        upsert->bind_null(13);
    }
    KW_TRY_STATUS(upsert->run());
    KW_TRY(auto ins, cached("INSERT INTO record_versions(namespace, name, version, envelope, "
                            "keyring, kek_version, created_at, created_by, expires_at, "
                            "value_since, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                            "?10, ?11)"));
    ins->bind(1, put.ns)
        .bind(2, put.name)
        .bind(3, static_cast<std::int64_t>(put.version))
        .bind(4, ByteView(put.envelope))
        .bind(5, put.keyring)
        .bind(6, static_cast<std::int64_t>(put.kek_version))
        .bind(7, now)
        .bind(8, put.created_by)
        .bind(9, put.expires_at)
        .bind(10, value_since)
        .bind(11, put.origin);
    KW_TRY_STATUS(ins->run());
    return write_tags(put.ns, put.name, put.tags, {});
}

// Caller holds mutex_ and a write transaction.
Status SqliteStore::write_tags(const std::string& ns, const std::string& name,
                               const std::vector<Tag>& set,
                               const std::vector<std::string>& remove) {
    for (const auto& [key, value] : set) {
        KW_TRY(auto s, cached("INSERT INTO record_tags(namespace, name, key, value) VALUES "
                              "(?1, ?2, ?3, ?4) ON CONFLICT(namespace, name, key) DO UPDATE "
                              "SET value = ?4"));
        s->bind(1, ns).bind(2, name).bind(3, key).bind(4, value);
        KW_TRY_STATUS(s->run());
    }
    for (const auto& key : remove) {
        KW_TRY(auto s, cached("DELETE FROM record_tags WHERE namespace = ?1 AND name = ?2 AND "
                              "key = ?3"));
        s->bind(1, ns).bind(2, name).bind(3, key);
        KW_TRY_STATUS(s->run());
    }
    return {};
}

// Caller holds mutex_.
Status SqliteStore::read_tags(std::vector<core::RecordRow>& rows, const std::string& ns) {
    if (rows.empty()) return {};
    KW_TRY(auto s, cached("SELECT namespace, name, key, value FROM record_tags WHERE "
                          "(?1 = '' OR namespace = ?1) ORDER BY namespace, name, key"));
    s->bind(1, ns);
    // rows are in (namespace, name) order too: one merge pass.
    std::size_t i = 0;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        const std::string tag_ns = s->column_text(0), tag_name = s->column_text(1);
        while (i < rows.size() && std::tie(rows[i].ns, rows[i].name) < std::tie(tag_ns, tag_name)) {
            ++i;
        }
        if (i == rows.size()) break;
        if (rows[i].ns == tag_ns && rows[i].name == tag_name) {
            rows[i].tags.emplace_back(s->column_text(2), s->column_text(3));
        }
    }
    return {};
}

Result<std::optional<core::RecordRow>> SqliteStore::find_record(const std::string& ns,
                                                                const std::string& name) {
    std::lock_guard lock(mutex_);
    std::vector<core::RecordRow> rows;
    {
        KW_TRY(auto s, cached(std::string(kRecordColumns) + "WHERE namespace = ?1 AND name = ?2"));
        s->bind(1, ns).bind(2, name);
        KW_TRY(bool row, s->step());
        if (!row) return std::optional<core::RecordRow>{};
        KW_TRY(auto found, read_record(*s));
        rows.push_back(std::move(found));
    }
    KW_TRY(auto t, cached("SELECT key, value FROM record_tags WHERE namespace = ?1 AND name = ?2 "
                          "ORDER BY key"));
    t->bind(1, ns).bind(2, name);
    for (;;) {
        KW_TRY(bool row, t->step());
        if (!row) break;
        rows[0].tags.emplace_back(t->column_text(0), t->column_text(1));
    }
    return std::optional<core::RecordRow>{std::move(rows[0])};
}

Result<std::optional<core::RecordVersionRow>> SqliteStore::record_version(
    const std::string& ns, const std::string& name, std::optional<std::uint32_t> version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kRecordVersionColumns) +
                          "WHERE namespace = ?1 AND name = ?2 AND version = coalesce(?3, "
                          "(SELECT latest FROM records WHERE namespace = ?1 AND name = ?2))"));
    s->bind(1, ns).bind(2, name);
    if (version) {
        s->bind(3, static_cast<std::int64_t>(*version));
    } else {
        s->bind_null(3);
    }
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<core::RecordVersionRow>{};
    return std::optional<core::RecordVersionRow>{read_record_version(*s)};
}

Result<std::vector<core::RecordVersionRow>> SqliteStore::record_versions(const std::string& ns,
                                                                         const std::string& name) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kRecordVersionColumns) +
                          "WHERE namespace = ?1 AND name = ?2 ORDER BY version"));
    s->bind(1, ns).bind(2, name);
    std::vector<core::RecordVersionRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(read_record_version(*s));
    }
    return out;
}

Result<std::vector<core::RecordRow>> SqliteStore::list_records(const std::string& ns,
                                                               const std::string& kind,
                                                               bool include_hidden) {
    std::lock_guard lock(mutex_);
    std::vector<core::RecordRow> out;
    {
        KW_TRY(auto s, cached(std::string(kRecordColumns) +
                              "WHERE (?1 = '' OR namespace = ?1) AND (?2 = '' OR kind = ?2) AND "
                              "(?3 OR state NOT IN ('deleted', 'purged')) ORDER BY namespace, "
                              "name"));
        s->bind(1, ns).bind(2, kind).bind(3, std::int64_t{include_hidden ? 1 : 0});
        for (;;) {
            KW_TRY(bool row, s->step());
            if (!row) break;
            KW_TRY(auto record, read_record(*s));
            out.push_back(std::move(record));
        }
    }
    KW_TRY_STATUS(read_tags(out, ns));
    return out;
}

Status SqliteStore::change_record(const std::string& ns, const std::string& name,
                                  RecordState expected_state, const core::RecordChange& change,
                                  const std::string& actor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    const std::string now = core::utc_now_iso8601();
    KW_TRY(auto s, cached("UPDATE records SET updated_at = ?3, updated_by = ?4, "
                          "description = coalesce(?5, description), "
                          "rotate_after_days = iif(?6, ?7, rotate_after_days), "
                          "warn_before_days = iif(?6, ?8, warn_before_days), "
                          "auto_rotate = iif(?6, ?9, auto_rotate), "
                          "expires_at = iif(?10, ?11, expires_at), "
                          "generate_bytes = coalesce(?12, generate_bytes) "
                          "WHERE namespace = ?1 AND name = ?2 AND state = ?13"));
    const auto policy = change.policy.value_or(RotationPolicy{});
    s->bind(1, ns)
        .bind(2, name)
        .bind(3, now)
        .bind(4, actor)
        .bind(5, change.description)
        .bind(6, std::int64_t{change.policy ? 1 : 0})
        .bind(7, static_cast<std::int64_t>(policy.rotate_after_days))
        .bind(8, static_cast<std::int64_t>(policy.warn_before_days))
        .bind(9, std::int64_t{policy.auto_rotate ? 1 : 0})
        .bind(10, std::int64_t{change.expires_at ? 1 : 0})
        .bind(11, change.expires_at.value_or(std::nullopt))
        .bind(13, record_state_name(expected_state));
    if (change.generate_bytes) {
        s->bind(12, static_cast<std::int64_t>(*change.generate_bytes));
    } else {
        s->bind_null(12);
    }
    KW_TRY_STATUS(s->run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "record " + address(ns, name) +
                                         " changed state meanwhile; look again and retry");
    }
    if (change.expires_at) {
        // The expiry belongs to the latest version's value; keep the version row in step.
        KW_TRY(auto v, cached("UPDATE record_versions SET expires_at = ?3 WHERE namespace = ?1 "
                              "AND name = ?2 AND version = (SELECT latest FROM records WHERE "
                              "namespace = ?1 AND name = ?2)"));
        v->bind(1, ns).bind(2, name).bind(3, *change.expires_at);
        KW_TRY_STATUS(v->run());
    }
    KW_TRY_STATUS(write_tags(ns, name, change.set_tags, change.remove_tags));
    return tx.commit();
}

Status SqliteStore::set_record_state(const std::string& ns, const std::string& name,
                                     RecordState from, RecordState to, const std::string& actor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("UPDATE records SET state = ?4, updated_at = ?5, updated_by = ?6, "
                          "state_before_delete = iif(?4 = 'deleted', ?3, '') "
                          "WHERE namespace = ?1 AND name = ?2 AND state = ?3"));
    s->bind(1, ns)
        .bind(2, name)
        .bind(3, record_state_name(from))
        .bind(4, record_state_name(to))
        .bind(5, core::utc_now_iso8601())
        .bind(6, actor);
    KW_TRY_STATUS(s->run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "record " + address(ns, name) + " is no longer " +
                                         std::string(record_state_name(from)) +
                                         "; another writer changed it meanwhile, look again");
    }
    return {};
}

Status SqliteStore::purge_record(const std::string& ns, const std::string& name,
                                 const std::string& actor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("UPDATE records SET state = 'purged', description = '', "
                               "expires_at = NULL, generate_bytes = NULL, value_since = '', "
                               "rotate_after_days = 0, warn_before_days = 0, auto_rotate = 0, "
                               "state_before_delete = '', updated_at = ?3, updated_by = ?4 "
                               "WHERE namespace = ?1 AND name = ?2 AND state = 'deleted'"));
    s.bind(1, ns).bind(2, name).bind(3, core::utc_now_iso8601()).bind(4, actor);
    KW_TRY_STATUS(s.run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "record " + address(ns, name) +
                                         " is no longer deleted; another writer changed it "
                                         "meanwhile, look again");
    }
    // secure_delete is on, so SQLite overwrites the freed envelope bytes in the file.
    for (const char* sql : {"DELETE FROM kept_wraps WHERE namespace = ?1 AND name = ?2",
                            "DELETE FROM record_versions WHERE namespace = ?1 AND name = ?2",
                            "DELETE FROM record_tags WHERE namespace = ?1 AND name = ?2"}) {
        KW_TRY(auto d, db_.prepare(sql));
        d.bind(1, ns).bind(2, name);
        KW_TRY_STATUS(d.run());
    }
    return tx.commit();
}

Result<core::DatabaseHealth> SqliteStore::check_database() {
    std::lock_guard lock(mutex_);
    core::DatabaseHealth health;
    KW_TRY(auto s, db_.prepare("PRAGMA quick_check(1)"));
    KW_TRY(bool row, s.step());
    health.integrity = row ? s.column_text(0) : "quick_check returned nothing";
    health.bytes = bytes_on_disk(path_);
    health.wal_bytes = bytes_on_disk(path_.string() + "-wal");
    return health;
}

}  // namespace keyward::store
