// SPDX-License-Identifier: Apache-2.0
// Service token rows (schema 6). Stored and returned as they are: core::ServiceTokens judges
// them by their MACs.
#include "store/sqlite_store.hpp"

namespace keyward::store {

namespace {

constexpr const char* kColumns =
    "SELECT id, principal, lookup, lookup_key_version, created_at, created_by, expires_at, "
    "ttl_seconds, renewable, max_expires_at, revoked_at, key_version, mac FROM service_tokens ";

core::ServiceTokenRow read_row(const Statement& s) {
    core::ServiceTokenRow r;
    r.info.id = s.column_text(0);
    r.info.principal = s.column_text(1);
    r.lookup = s.column_blob(2);
    r.lookup_key_version = s.column_u32(3);
    r.info.created_at = s.column_text(4);
    r.info.created_by = s.column_text(5);
    r.info.expires_at = s.column_text(6);
    r.info.ttl_seconds = s.column_int(7);
    r.info.renewable = s.column_int(8) != 0;
    r.info.max_expires_at = s.column_text(9);
    r.info.revoked_at = s.column_text(10);
    r.key_version = s.column_u32(11);
    r.mac = s.column_blob(12);
    return r;
}

}  // namespace

Status SqliteStore::insert_service_token(const core::ServiceTokenRow& r) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare("INSERT INTO service_tokens(id, principal, lookup, "
                               "lookup_key_version, created_at, created_by, expires_at, "
                               "ttl_seconds, renewable, max_expires_at, revoked_at, key_version, "
                               "mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                               "?13)"));
    return s.bind(1, r.info.id)
        .bind(2, r.info.principal)
        .bind(3, ByteView(r.lookup))
        .bind(4, static_cast<std::int64_t>(r.lookup_key_version))
        .bind(5, r.info.created_at)
        .bind(6, r.info.created_by)
        .bind(7, r.info.expires_at)
        .bind(8, r.info.ttl_seconds)
        .bind(9, static_cast<std::int64_t>(r.info.renewable ? 1 : 0))
        .bind(10, r.info.max_expires_at)
        .bind(11, r.info.revoked_at)
        .bind(12, static_cast<std::int64_t>(r.key_version))
        .bind(13, ByteView(r.mac))
        .run();
}

Result<std::optional<core::ServiceTokenRow>> SqliteStore::service_token_by_lookup(
    ByteView lookup, std::uint32_t version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kColumns) + "WHERE lookup = ?1 AND lookup_key_version = ?2"));
    s->bind(1, lookup).bind(2, static_cast<std::int64_t>(version));
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<core::ServiceTokenRow>();
    return std::optional<core::ServiceTokenRow>(read_row(*s));
}

Result<std::optional<core::ServiceTokenRow>> SqliteStore::service_token(const std::string& id) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kColumns) + "WHERE id = ?1"));
    s.bind(1, id);
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::ServiceTokenRow>();
    return std::optional<core::ServiceTokenRow>(read_row(s));
}

Result<std::vector<core::ServiceTokenRow>> SqliteStore::service_tokens() {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kColumns) + "ORDER BY created_at DESC, id"));
    std::vector<core::ServiceTokenRow> out;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        out.push_back(read_row(s));
    }
    return out;
}

Result<std::vector<std::uint32_t>> SqliteStore::service_token_lookup_versions() {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s,
           cached("SELECT DISTINCT lookup_key_version FROM service_tokens ORDER BY 1 DESC"));
    std::vector<std::uint32_t> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(s->column_u32(0));
    }
    return out;
}

Status SqliteStore::update_service_token(const core::ServiceTokenRow& r, ByteView old_mac) {
    std::lock_guard lock(mutex_);
    // Compare-and-swap on the MAC the caller read: one statement, so no other writer can land
    // between the check and the write.
    KW_TRY(auto s, db_.prepare("UPDATE service_tokens SET expires_at = ?2, revoked_at = ?3, "
                               "key_version = ?4, mac = ?5 WHERE id = ?1 AND mac = ?6 AND "
                               "revoked_at = ''"));
    KW_TRY_STATUS(s.bind(1, r.info.id)
                      .bind(2, r.info.expires_at)
                      .bind(3, r.info.revoked_at)
                      .bind(4, static_cast<std::int64_t>(r.key_version))
                      .bind(5, ByteView(r.mac))
                      .bind(6, old_mac)
                      .run());
    if (db_.changes() == 0) {
        return Error(Errc::conflict, "service token " + r.info.id +
                                         " changed meanwhile (revoked or renewed elsewhere)");
    }
    return {};
}

}  // namespace keyward::store
