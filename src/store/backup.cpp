// SPDX-License-Identifier: Apache-2.0
// Backup snapshots of the database (see backup.hpp). SQLite's backup API copies pages inside
// one read transaction of the source, so the snapshot is consistent even while other
// processes write, and it reads committed WAL frames that a file copy would miss.
#include "store/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "keyward/json.hpp"
#include "keyward/unique_fd.hpp"
#include "store/kek_version_rows.hpp"
#include "store/schema.hpp"

namespace keyward::store {

namespace fs = std::filesystem;

namespace {

Error not_a_backup(const fs::path& path, const std::string& why) {
    return Error(Errc::failed, path.string() + " is not a keyward backup (" + why +
                                   "); make backups with keyward backup --out FILE");
}

/// Removes a temporary snapshot and whatever journal SQLite left beside it, unless kept.
class TempFile {
  public:
    explicit TempFile(std::string path) : path_(std::move(path)) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
            ::unlink((path_ + suffix).c_str());
        }
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

/// Every page of `from` into `to` in one step: one read transaction on `from`, one write
/// transaction on `to`.
Status copy_pages(Database& from, Database& to, const std::string& what) {
    sqlite3_backup* backup = sqlite3_backup_init(to.handle(), "main", from.handle(), "main");
    if (backup == nullptr) return to.error(what);
    const int rc = sqlite3_backup_step(backup, -1);
    const int finished = sqlite3_backup_finish(backup);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        return Error(Errc::database_locked,
                     what + ": another keyward process holds the database; retry when it is done");
    }
    // sqlite3_backup_finish leaves the failure on the destination connection, whose error
    // names its file (and a full disk as such).
    if (rc != SQLITE_DONE || finished != SQLITE_OK) return to.error(what);
    return {};
}

Result<std::string> one_text(Database& db, const char* sql) {
    KW_TRY(auto s, db.prepare(sql));
    KW_TRY(bool row, s.step());
    if (!row) return std::string();
    return s.column_text(0);
}

Result<std::int64_t> one_int(Database& db, const char* sql) {
    KW_TRY(auto s, db.prepare(sql));
    KW_TRY(bool row, s.step());
    return row ? s.column_int(0) : std::int64_t{0};
}

Status sync_path(const fs::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (fd.get() < 0) return io_error("cannot open", path.native(), errno);
    // fsync's errno is kept before the descriptor closes: close() may overwrite it.
    if (::fsync(fd.get()) != 0) return io_error("cannot sync", path.native(), errno);
    return {};
}

/// The KEK versions a snapshot needs, as a JSON array, read from the snapshot itself so the
/// list and the copied keyrings cannot disagree.
Result<std::string> needed_keks(Database& snap) {
    KW_TRY(auto s, snap.prepare("SELECT keyring, version, state, label FROM kek_versions "
                                "WHERE state <> 'destroyed' ORDER BY keyring, version"));
    Json j;
    j.begin_array();
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        j.begin_object()
            .field("keyring", s.column_text(0))
            .field("version", s.column_int(1))
            .field("state", s.column_text(2))
            .field("label", s.column_text(3))
            .end_object();
    }
    j.end_array();
    return std::string(j.str());
}

Status write_manifest(Database& snap, const core::BackupManifest& manifest) {
    KW_TRY(auto keks, needed_keks(snap));
    KW_TRY(auto tx, Transaction::begin(snap));
    KW_TRY(auto s, snap.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    const std::pair<std::string_view, const std::string*> rows[] = {
        {"backup_created_at", &manifest.created_at},
        {"backup_token_serial", &manifest.token.serial},
        {"backup_token_label", &manifest.token.label},
        {"backup_keks", &keks},
    };
    for (const auto& [key, value] : rows) KW_TRY_STATUS(s.bind(1, key).bind(2, *value).run());
    return tx.commit();
}

/// Rotations a restore must not pull the ground from: jobs still running (in progress, or
/// interrupted and waiting to be resumed) and held leases. None before the schema has them.
Result<std::vector<std::string>> unfinished_rotations(Database& live) {
    std::vector<std::string> out;
    KW_TRY(auto tables, one_int(live,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                "AND name IN ('rotation_jobs', 'rotation_leases')"));
    if (tables < 2) return out;
    KW_TRY(auto s, live.prepare("SELECT keyring, 'job ' || id || ' (' || kind || ' v' || "
                                "from_version || '->v' || to_version || ') is unfinished' "
                                "FROM rotation_jobs WHERE state = 'running' UNION ALL "
                                "SELECT keyring, 'its lease is held by pid ' || pid || ' on ' || "
                                "host FROM rotation_leases ORDER BY 1, 2"));
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        out.push_back("keyring " + s.column_text(0) + ": " + s.column_text(1));
    }
    return out;
}

struct WrapCounter {
    std::string keyring, label;
    std::int64_t version = 0, wraps = 0;
};

Result<std::vector<WrapCounter>> wrap_counters(Database& db) {
    KW_TRY(auto s, db.prepare("SELECT keyring, version, label, wrap_count FROM kek_versions "
                              "WHERE wrap_count > 0"));
    std::vector<WrapCounter> out;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        out.push_back({s.column_text(0), s.column_text(2), s.column_int(1), s.column_int(3)});
    }
    return out;
}

/// After the copy: wraps done since the backup still count against the suite 2 limit (NIST
/// SP 800-38D), and meta says a restore happened instead of carrying the backup's rows.
Status after_restore(Database& live, const std::vector<WrapCounter>& counters,
                     const std::string& backup_created_at) {
    KW_TRY(auto tx, Transaction::begin(live));
    KW_TRY(auto up, live.prepare("UPDATE kek_versions SET wrap_count = max(wrap_count, ?4) "
                                 "WHERE keyring = ?1 AND version = ?2 AND label = ?3"));
    for (const auto& c : counters) {
        KW_TRY_STATUS(
            up.bind(1, c.keyring).bind(2, c.version).bind(3, c.label).bind(4, c.wraps).run());
    }
    KW_TRY_STATUS(
        live.exec("DELETE FROM meta WHERE key IN ('backup_created_at', "
                  "'backup_token_serial', 'backup_token_label', 'backup_keks')"));
    KW_TRY(auto meta, live.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    KW_TRY_STATUS(
        meta.bind(1, std::string_view("restored_at")).bind(2, core::utc_now_iso8601()).run());
    KW_TRY_STATUS(meta.bind(1, std::string_view("restored_backup_created_at"))
                      .bind(2, backup_created_at)
                      .run());
    return tx.commit();
}

Result<std::vector<core::KeyringRow>> read_keyrings(Database& snap) {
    std::vector<core::KeyringRow> rings;
    std::map<std::string, std::size_t> index;
    KW_TRY(auto k, snap.prepare("SELECT name, suite, created_at, cryptoperiod_days FROM keyrings "
                                "ORDER BY name"));
    for (;;) {
        KW_TRY(bool row, k.step());
        if (!row) break;
        core::KeyringRow ring;
        ring.name = k.column_text(0);
        ring.suite = static_cast<Suite>(k.column_int(1));
        ring.created_at = k.column_text(2);
        ring.cryptoperiod_days = k.column_u32(3);
        index[ring.name] = rings.size();
        rings.push_back(std::move(ring));
    }
    KW_TRY(auto v, snap.prepare(std::string(kKekVersionSelect) + "ORDER BY keyring, version"));
    for (;;) {
        KW_TRY(bool row, v.step());
        if (!row) break;
        auto version = read_kek_version(v);
        auto ring = version.ok() ? index.find(version->keyring) : index.end();
        if (ring == index.end()) {
            return Error(Errc::failed, "its KEK version " + v.column_text(0) + " v" +
                                           std::to_string(v.column_int(1)) + " is damaged");
        }
        rings[ring->second].versions.push_back(std::move(version).value());
    }
    return rings;
}

}  // namespace

Status backup_database(Database& live, const fs::path& out, const core::BackupManifest& manifest) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(out, ec))) {
        return Error(Errc::already_exists,
                     out.string() +
                         " exists; keyward never overwrites a file with a backup "
                         "(choose a new name)");
    }
    const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    std::string tmp = (dir / ("." + out.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600; SQLite's journal copies it
    if (fd < 0) return io_error("cannot create a file in", dir.native(), errno);
    ::close(fd);
    TempFile temp(tmp);
    {
        KW_TRY(auto snap, Database::open_plain(temp.path(), false));
        KW_TRY_STATUS(copy_pages(live, snap, "copying the database"));
        // The copy carries the live file's WAL header; make it one self-contained file.
        KW_TRY(auto mode, one_text(snap, "PRAGMA journal_mode=DELETE"));
        if (mode != "delete") {
            return Error(Errc::database_error,
                         "the snapshot stayed in journal mode " + mode + "; nothing was written");
        }
        KW_TRY_STATUS(write_manifest(snap, manifest));
        KW_TRY(auto check, one_text(snap, "PRAGMA quick_check(1)"));
        if (check != "ok") {
            return Error(Errc::database_error,
                         "the snapshot failed SQLite's check (" + check + "); nothing was written");
        }
    }  // closed: every page is in the file, and the journal is gone
    KW_TRY_STATUS(sync_path(temp.path(), O_RDONLY));
    if (::link(temp.path().c_str(), out.c_str()) != 0) {
        if (errno == EEXIST) {
            return Error(Errc::already_exists,
                         out.string() +
                             " exists; keyward never overwrites a file with a backup "
                             "(choose a new name)");
        }
        return io_error("cannot create", out.native(), errno);
    }
    // The name is durable only once the directory is synced (best effort, as in cli/io.cpp:
    // the snapshot itself is complete and synced already).
    (void)sync_path(dir, O_RDONLY | O_DIRECTORY);
    return {};
}

Result<core::SnapshotContents> read_snapshot(const fs::path& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) {
        return Error(Errc::not_found, "backup " + path.string() + " does not exist");
    }
    if (!fs::is_regular_file(status)) return not_a_backup(path, "not a regular file");
    auto opened = Database::open_plain(path, true);
    if (!opened.ok()) return not_a_backup(path, opened.error().message());
    Database& snap = *opened;

    core::SnapshotContents contents;
    auto version = schema_version(snap);
    if (!version.ok()) return not_a_backup(path, sqlite3_errmsg(snap.handle()));
    contents.schema_version = *version;
    if (contents.schema_version > latest_schema_version()) {
        return Error(Errc::failed, "backup " + path.string() + " has schema version " +
                                       std::to_string(contents.schema_version) +
                                       ", newer than this keyward understands (" +
                                       std::to_string(latest_schema_version()) +
                                       "); restore it with the keyward release that made it");
    }
    if (contents.schema_version < 1) return not_a_backup(path, "it has no keyward schema");

    auto meta = snap.prepare(
        "SELECT key, value FROM meta WHERE key IN "
        "('backup_created_at', 'token_serial', 'token_label')");
    if (!meta.ok()) return not_a_backup(path, meta.error().message());
    core::TokenBinding binding;
    bool bound = false;
    for (;;) {
        auto row = meta->step();
        if (!row.ok()) return not_a_backup(path, row.error().message());
        if (!*row) break;
        const std::string key = meta->column_text(0);
        if (key == "backup_created_at") {
            contents.created_at = meta->column_text(1);
        } else {
            (key == "token_serial" ? binding.serial : binding.label) = meta->column_text(1);
            bound = true;
        }
    }
    if (contents.created_at.empty()) {
        return not_a_backup(path,
                            "its meta table has no backup_created_at: a database file copied "
                            "by hand can miss what its WAL held");
    }
    if (bound) contents.binding = binding;

    auto rings = read_keyrings(snap);
    if (!rings.ok()) return not_a_backup(path, rings.error().message());
    contents.keyrings = std::move(*rings);
    if (contents.schema_version >= 2) {
        auto records = one_int(snap, "SELECT count(*) FROM records WHERE state <> 'purged'");
        auto versions = one_int(snap, "SELECT count(*) FROM record_versions");
        if (!records.ok()) return not_a_backup(path, records.error().message());
        if (!versions.ok()) return not_a_backup(path, versions.error().message());
        contents.records = static_cast<std::uint64_t>(*records);
        contents.record_versions = static_cast<std::uint64_t>(*versions);
    }
    return contents;
}

Status restore_database(Database& live, const fs::path& snapshot) {
    KW_TRY(auto rotations, unfinished_rotations(live));
    if (!rotations.empty()) {
        std::string which;
        for (const auto& r : rotations) which += (which.empty() ? "" : "; ") + r;
        return Error(Errc::failed,
                     "a rotation is running or unfinished (" + which +
                         "); let it finish, complete it with keyward keyring rotate NAME or undo "
                         "it with keyward keyring rollback NAME, then restore");
    }
    KW_TRY(auto counters, wrap_counters(live));
    KW_TRY(auto snap, Database::open_plain(snapshot, true));
    KW_TRY(auto created_at,
           one_text(snap, "SELECT value FROM meta WHERE key = 'backup_created_at'"));
    KW_TRY_STATUS(copy_pages(snap, live, "restoring " + snapshot.string()));
    KW_TRY_STATUS(migrate(live));
    return after_restore(live, counters, created_at);
}

}  // namespace keyward::store
