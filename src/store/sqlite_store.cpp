// SPDX-License-Identifier: Apache-2.0
// SQLite implementation of the keyring part of core::Store.
#include "store/sqlite_store.hpp"

#include "core/clock.hpp"
#include "store/kek_version_rows.hpp"
#include "store/schema.hpp"

namespace keyward::store {

namespace {

// SQLite takes an empty file for a new, empty database: opened as one, it would be bound to
// whatever token is configured and adopt the KEKs left there. A keyward database is never
// empty once init has made it (its schema and binding are in the file or in its WAL), so an
// empty file is refused like a missing one.
Status refuse_empty_database(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size != 0) return {};
    const auto wal = std::filesystem::file_size(path.string() + "-wal", ec);
    if (!ec && wal != 0) return {};
    return Error(Errc::bad_config, "database " + path.string() +
                                       " is an empty file, not a keyward database; run keyward "
                                       "init first, or restore the database from a backup");
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path,
                                                       Database::Mode mode,
                                                       const Database::Options& options) {
    if (mode == Database::Mode::open_existing) KW_TRY_STATUS(refuse_empty_database(path));
    KW_TRY(auto db, Database::open(path, mode, options));
    KW_TRY_STATUS(migrate(db));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), path));
}

Result<SqliteStore::CachedStatement> SqliteStore::cached(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        KW_TRY(auto stmt, db_.prepare(sql));
        it = statements_.emplace(sql, std::make_unique<Statement>(std::move(stmt))).first;
    }
    return CachedStatement(it->second.get());
}

Result<std::optional<core::TokenBinding>> SqliteStore::token_binding() {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare("SELECT key, value FROM meta WHERE key IN "
                               "('token_serial', 'token_label')"));
    core::TokenBinding binding;
    int found = 0;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        (s.column_text(0) == "token_serial" ? binding.serial : binding.label) = s.column_text(1);
        ++found;
    }
    if (found == 0) return std::optional<core::TokenBinding>{};
    return std::optional<core::TokenBinding>{binding};
}

Status SqliteStore::bind_token(const core::TokenBinding& binding) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2)"));
    KW_TRY_STATUS(s.bind(1, std::string_view("token_serial")).bind(2, binding.serial).run());
    KW_TRY_STATUS(s.bind(1, std::string_view("token_label")).bind(2, binding.label).run());
    KW_TRY_STATUS(s.bind(1, std::string_view("bound_at")).bind(2, core::utc_now_iso8601()).run());
    return tx.commit();
}

Result<std::optional<std::string>> SqliteStore::meta_value(const std::string& key) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("SELECT value FROM meta WHERE key = ?1"));
    s->bind(1, key);
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<std::string>{};
    return std::optional<std::string>{s->column_text(0)};
}

Status SqliteStore::set_meta_value(const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    KW_TRY_STATUS(s.bind(1, key).bind(2, value).run());
    return tx.commit();
}

Result<std::vector<core::KekVersionRow>> SqliteStore::versions_of(const std::string& keyring) {
    KW_TRY(auto s, cached(std::string(kKekVersionSelect) + "WHERE keyring = ?1 ORDER BY version"));
    s->bind(1, keyring);
    std::vector<core::KekVersionRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        KW_TRY(auto v, read_kek_version(*s));
        out.push_back(std::move(v));
    }
    return out;
}

Result<std::optional<core::KeyringRow>> SqliteStore::find_keyring(const std::string& name) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("SELECT name, suite, created_at, cryptoperiod_days FROM keyrings "
                          "WHERE name = ?1"));
    s->bind(1, name);
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<core::KeyringRow>{};
    core::KeyringRow ring;
    ring.name = s->column_text(0);
    ring.suite = static_cast<Suite>(s->column_int(1));
    ring.created_at = s->column_text(2);
    ring.cryptoperiod_days = s->column_u32(3);
    KW_TRY(ring.versions, versions_of(ring.name));
    return std::optional<core::KeyringRow>{std::move(ring)};
}

Result<std::vector<core::KeyringRow>> SqliteStore::list_keyrings() {
    std::vector<std::string> names;
    {
        std::lock_guard lock(mutex_);
        KW_TRY(auto s, db_.prepare("SELECT name FROM keyrings ORDER BY name"));
        for (;;) {
            KW_TRY(bool row, s.step());
            if (!row) break;
            names.push_back(s.column_text(0));
        }
    }
    std::vector<core::KeyringRow> out;
    for (const auto& name : names) {
        KW_TRY(auto ring, find_keyring(name));
        if (ring) out.push_back(std::move(*ring));
    }
    return out;
}

Status SqliteStore::create_keyring(const core::KeyringRow& ring) {
    return create_keyring_locked(ring, nullptr);
}

Status SqliteStore::create_keyring_locked(
    const core::KeyringRow& ring, const std::function<Result<core::KekVersionRow>()>& make_first) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto k, db_.prepare("INSERT INTO keyrings(name, suite, created_at, cryptoperiod_days) "
                               "VALUES (?1, ?2, ?3, ?4)"));
    k.bind(1, ring.name)
        .bind(2, static_cast<std::int64_t>(ring.suite))
        .bind(3, ring.created_at)
        .bind(4, static_cast<std::int64_t>(ring.cryptoperiod_days));
    if (auto st = k.run(); !st.ok()) {
        if (st.error().code() == Errc::already_exists) {
            return Error(Errc::already_exists, "keyring \"" + ring.name + "\" already exists");
        }
        return st;
    }
    for (const auto& version : ring.versions) KW_TRY_STATUS(insert_version_row(version));
    if (make_first) {
        KW_TRY(auto first, make_first());
        KW_TRY_STATUS(insert_version_row(first));
    }
    return tx.commit();
}

// Caller holds mutex_ and a transaction.
Status SqliteStore::insert_version_row(const core::KekVersionRow& version) {
    KW_TRY(auto v, db_.prepare("INSERT INTO kek_versions(keyring, version, state, label, "
                               "object_id, check_value, wrap_count, created_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    v.bind(1, version.keyring)
        .bind(2, static_cast<std::int64_t>(version.version))
        .bind(3, kek_state_name(version.state))
        .bind(4, version.label)
        .bind(5, ByteView(version.object_id))
        .bind(6, ByteView(version.check_value))
        .bind(7, static_cast<std::int64_t>(version.wrap_count))
        .bind(8, version.created_at);
    return v.run();
}

Result<std::optional<core::KekVersionRow>> SqliteStore::one_version(
    std::string_view where, const std::string& keyring, std::optional<std::uint32_t> version) {
    KW_TRY(auto s, db_.prepare(std::string(kKekVersionSelect) + std::string(where)));
    s.bind(1, keyring);
    if (version) s.bind(2, static_cast<std::int64_t>(*version));
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::KekVersionRow>{};
    KW_TRY(auto v, read_kek_version(s));
    return std::optional<core::KekVersionRow>{std::move(v)};
}

Result<std::optional<core::KekVersionRow>> SqliteStore::find_version(const std::string& keyring,
                                                                     std::uint32_t version) {
    std::lock_guard lock(mutex_);
    return one_version("WHERE keyring = ?1 AND version = ?2", keyring, version);
}

Result<std::optional<core::KekVersionRow>> SqliteStore::active_version(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    return one_version("WHERE keyring = ?1 AND state = 'active'", keyring, std::nullopt);
}

Result<std::uint64_t> SqliteStore::reserve_wraps(const std::string& keyring, std::uint32_t version,
                                                 std::uint64_t n, std::uint64_t limit) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto current, one_version("WHERE keyring = ?1 AND version = ?2", keyring, version));
    if (!current) {
        return Error(Errc::not_found,
                     "keyring \"" + keyring + "\" has no version " + std::to_string(version));
    }
    if (current->wrap_count + n > limit) {
        return Error(Errc::limit_reached,
                     "KEK " + current->label + " has reached its wrap limit (" +
                         std::to_string(current->wrap_count) + " of " + std::to_string(limit) +
                         " GCM wraps, NIST SP 800-38D); rotate keyring \"" + keyring + "\"");
    }
    KW_TRY(auto s, db_.prepare("UPDATE kek_versions SET wrap_count = wrap_count + ?3 "
                               "WHERE keyring = ?1 AND version = ?2"));
    s.bind(1, keyring)
        .bind(2, static_cast<std::int64_t>(version))
        .bind(3, static_cast<std::int64_t>(n));
    KW_TRY_STATUS(s.run());
    KW_TRY_STATUS(tx.commit());
    return current->wrap_count + n;
}

Result<std::uint64_t> SqliteStore::records_under(const std::string& keyring,
                                                 std::uint32_t version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("SELECT count(*) FROM record_versions WHERE keyring = ?1 AND "
                          "kek_version = ?2"));
    s->bind(1, keyring).bind(2, static_cast<std::int64_t>(version));
    KW_TRY(bool row, s->step());
    return row ? s->column_u64(0) : std::uint64_t{0};
}

}  // namespace keyward::store
