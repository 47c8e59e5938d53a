// SQLite implementation of the keyring part of core::Store.
#include "store/sqlite_store.hpp"

#include "core/clock.hpp"
#include "store/schema.hpp"

namespace keyward::store {

namespace {

constexpr std::string_view kVersionColumns =
    "SELECT keyring, version, state, label, object_id, check_value, wrap_count, created_at "
    "FROM kek_versions ";

Result<core::KekVersionRow> read_version(const Statement& s) {
    core::KekVersionRow row;
    row.keyring = s.column_text(0);
    row.version = static_cast<std::uint32_t>(s.column_int(1));
    auto state = parse_kek_state(s.column_text(2));
    if (!state)
        return Error(Errc::database_error, "database: unknown key state " + s.column_text(2));
    row.state = *state;
    row.label = s.column_text(3);
    row.object_id = s.column_blob(4);
    row.check_value = s.column_blob(5);
    row.wrap_count = static_cast<std::uint64_t>(s.column_int(6));
    row.created_at = s.column_text(7);
    return row;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path,
                                                       Database::Mode mode) {
    KW_TRY(auto db, Database::open(path, mode));
    KW_TRY_STATUS(migrate(db));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
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

Result<std::vector<core::KekVersionRow>> SqliteStore::versions_of(const std::string& keyring) {
    KW_TRY(auto s, cached(std::string(kVersionColumns) + "WHERE keyring = ?1 ORDER BY version"));
    s->bind(1, keyring);
    std::vector<core::KekVersionRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        KW_TRY(auto v, read_version(*s));
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
    ring.cryptoperiod_days = static_cast<std::uint32_t>(s->column_int(3));
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
    KW_TRY(auto v, db_.prepare("INSERT INTO kek_versions(keyring, version, state, label, "
                               "object_id, check_value, wrap_count, created_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    for (const auto& version : ring.versions) {
        v.bind(1, ring.name)
            .bind(2, static_cast<std::int64_t>(version.version))
            .bind(3, kek_state_name(version.state))
            .bind(4, version.label)
            .bind(5, ByteView(version.object_id))
            .bind(6, ByteView(version.check_value))
            .bind(7, static_cast<std::int64_t>(version.wrap_count))
            .bind(8, version.created_at);
        KW_TRY_STATUS(v.run());
    }
    return tx.commit();
}

Result<std::optional<core::KekVersionRow>> SqliteStore::one_version(
    std::string_view where, const std::string& keyring, std::optional<std::uint32_t> version) {
    KW_TRY(auto s, db_.prepare(std::string(kVersionColumns) + std::string(where)));
    s.bind(1, keyring);
    if (version) s.bind(2, static_cast<std::int64_t>(*version));
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::KekVersionRow>{};
    KW_TRY(auto v, read_version(s));
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
    return row ? static_cast<std::uint64_t>(s->column_int(0)) : std::uint64_t{0};
}

namespace {

constexpr std::string_view kRecordColumns =
    "SELECT namespace, name, kind, state, latest, created_at, updated_at FROM records ";
constexpr std::string_view kRecordVersionColumns =
    "SELECT namespace, name, version, envelope, keyring, kek_version, created_at, created_by, "
    "expires_at FROM record_versions ";

core::RecordRow read_record(const Statement& s) {
    core::RecordRow r;
    r.ns = s.column_text(0);
    r.name = s.column_text(1);
    r.kind = s.column_text(2);
    r.state = s.column_text(3);
    r.latest = static_cast<std::uint32_t>(s.column_int(4));
    r.created_at = s.column_text(5);
    r.updated_at = s.column_text(6);
    return r;
}

core::RecordVersionRow read_record_version(const Statement& s) {
    core::RecordVersionRow v;
    v.ns = s.column_text(0);
    v.name = s.column_text(1);
    v.version = static_cast<std::uint32_t>(s.column_int(2));
    v.envelope = s.column_blob(3);
    v.keyring = s.column_text(4);
    v.kek_version = static_cast<std::uint32_t>(s.column_int(5));
    v.created_at = s.column_text(6);
    v.created_by = s.column_text(7);
    v.expires_at = s.column_optional_text(8);
    return v;
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

Status SqliteStore::put_record(const core::RecordPut& put) {
    std::lock_guard lock(mutex_);
    // BEGIN IMMEDIATE takes the write lock before the latest version is read, so the check
    // and the insert are one step for every other writer.
    KW_TRY(auto tx, Transaction::begin(db_));
    std::uint32_t next = 1;
    {
        KW_TRY(auto s, cached(std::string(kRecordColumns) + "WHERE namespace = ?1 AND name = ?2"));
        s->bind(1, put.ns).bind(2, put.name);
        KW_TRY(bool row, s->step());
        if (row) {
            auto existing = read_record(*s);
            if (existing.kind != put.kind) {
                return Error(Errc::usage, "record " + put.ns + "/" + put.name + " is a " +
                                              existing.kind + ", not a " + put.kind +
                                              "; a record keeps its kind");
            }
            if (existing.state != "active" && existing.state != "expired") {
                return Error(Errc::state_refused, "record " + put.ns + "/" + put.name + " is " +
                                                      existing.state +
                                                      "; new versions are refused");
            }
            next = existing.latest + 1;
        }
    }
    if (put.version != next) {
        return Error(Errc::conflict, "record " + put.ns + "/" + put.name + " gained version " +
                                         std::to_string(next - 1) +
                                         " from another writer meanwhile; retry");
    }
    const std::string now = core::utc_now_iso8601();
    KW_TRY(auto upsert, cached("INSERT INTO records(namespace, name, kind, latest, created_at, "
                               "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
                               "ON CONFLICT(namespace, name) DO UPDATE SET latest = ?4, "
                               "updated_at = ?5"));
    upsert->bind(1, put.ns)
        .bind(2, put.name)
        .bind(3, put.kind)
        .bind(4, static_cast<std::int64_t>(put.version))
        .bind(5, now);
    KW_TRY_STATUS(upsert->run());
    KW_TRY(auto ins, cached("INSERT INTO record_versions(namespace, name, version, envelope, "
                            "keyring, kek_version, created_at, created_by, expires_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    ins->bind(1, put.ns)
        .bind(2, put.name)
        .bind(3, static_cast<std::int64_t>(put.version))
        .bind(4, ByteView(put.envelope))
        .bind(5, put.keyring)
        .bind(6, static_cast<std::int64_t>(put.kek_version))
        .bind(7, now)
        .bind(8, put.created_by)
        .bind(9, put.expires_at);
    KW_TRY_STATUS(ins->run());
    return tx.commit();
}

Result<std::optional<core::RecordRow>> SqliteStore::find_record(const std::string& ns,
                                                                const std::string& name) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kRecordColumns) + "WHERE namespace = ?1 AND name = ?2"));
    s->bind(1, ns).bind(2, name);
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<core::RecordRow>{};
    return std::optional<core::RecordRow>{read_record(*s)};
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
                                                               const std::string& kind) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kRecordColumns) +
                          "WHERE (?1 = '' OR namespace = ?1) AND (?2 = '' OR kind = ?2) AND "
                          "state NOT IN ('deleted', 'purged') ORDER BY namespace, name"));
    s->bind(1, ns).bind(2, kind);
    std::vector<core::RecordRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(read_record(*s));
    }
    return out;
}

}  // namespace keyward::store
