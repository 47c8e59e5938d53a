// SPDX-License-Identifier: Apache-2.0
// SQLite implementation of the maintenance part of core::Store: walking every stored envelope
// in pages (validate), and backup snapshots (store/backup.hpp) under the connection's mutex.
#include "store/backup.hpp"
#include "store/sqlite_store.hpp"

namespace keyward::store {

Result<std::vector<core::RecordVersionRow>> SqliteStore::record_versions_page(
    const std::string& keyring, const std::optional<core::RecordVersionKey>& after,
    std::size_t limit, std::size_t max_bytes) {
    std::lock_guard lock(mutex_);
    // Keyset pagination on the primary key: each page is an index range scan, whatever the
    // table's size, and rows added or removed meanwhile never shift a page.
    // With a keyring, the (keyring, namespace, name, version) index serves the same order.
    KW_TRY(auto s, cached(std::string("SELECT namespace, name, version, envelope, keyring, "
                                      "kek_version, created_at, created_by, expires_at, "
                                      "value_since, origin FROM record_versions WHERE ") +
                          (keyring.empty() ? "?1 = '' AND " : "keyring = ?1 AND ") +
                          "(namespace, name, version) > (?2, ?3, ?4) "
                          "ORDER BY namespace, name, version LIMIT ?5"));
    // Namespaces are never empty, so ('', '', 0) sorts before every row. (An empty string,
    // not a null string_view: SQLite binds a null pointer as NULL, which compares to nothing.)
    const std::string none;
    s->bind(1, keyring)
        .bind(2, after ? after->ns : none)
        .bind(3, after ? after->name : none)
        .bind(4, static_cast<std::int64_t>(after ? after->version : 0))
        .bind(5, static_cast<std::int64_t>(limit));
    std::vector<core::RecordVersionRow> out;
    std::size_t bytes = 0;
    while (bytes < max_bytes) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        core::RecordVersionRow v;
        v.ns = s->column_text(0);
        v.name = s->column_text(1);
        v.version = s->column_u32(2);
        v.envelope = s->column_blob(3);
        v.keyring = s->column_text(4);
        v.kek_version = s->column_u32(5);
        v.created_at = s->column_text(6);
        v.created_by = s->column_text(7);
        v.expires_at = s->column_optional_text(8);
        v.value_since = s->column_text(9);
        v.origin = s->column_text(10);
        bytes += v.envelope.size();
        out.push_back(std::move(v));
    }
    return out;
}

Result<std::vector<core::RecordVersionKey>> SqliteStore::sample_record_versions(
    const std::string& keyring, std::size_t n) {
    std::lock_guard lock(mutex_);
    // Only the keys go through the sort; the envelopes are read one at a time afterwards.
    KW_TRY(auto s, cached("SELECT namespace, name, version FROM (SELECT namespace, name, version "
                          "FROM record_versions WHERE (?1 = '' OR keyring = ?1) "
                          "ORDER BY random() LIMIT ?2) ORDER BY namespace, name, version"));
    s->bind(1, keyring).bind(2, static_cast<std::int64_t>(n));
    std::vector<core::RecordVersionKey> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back({s->column_text(0), s->column_text(1), s->column_u32(2)});
    }
    return out;
}

Status SqliteStore::backup_to(const std::filesystem::path& out,
                              const core::BackupManifest& manifest) {
    std::lock_guard lock(mutex_);
    return backup_database(db_, out, manifest);
}

Result<core::SnapshotContents> SqliteStore::inspect_snapshot(const std::filesystem::path& path) {
    return read_snapshot(path);
}

Status SqliteStore::restore_from(const std::filesystem::path& snapshot) {
    std::lock_guard lock(mutex_);
    // Statements prepared against the old content are dropped; the next calls re-prepare them
    // against the restored (and migrated) schema.
    statements_.clear();
    return restore_database(db_, snapshot);
}

}  // namespace keyward::store
