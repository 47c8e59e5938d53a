// SPDX-License-Identifier: Apache-2.0
// SQLite implementation of the rotation part of core::Store (core/rotation_store.hpp).
#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "store/sqlite_store.hpp"

namespace keyward::store {

namespace {

constexpr std::string_view kJobColumns =
    "SELECT id, keyring, kind, state, from_version, to_version, started_at, started_by, "
    "coalesce(finished_at, ''), cursor_namespace, cursor_name, cursor_version, total, done, "
    "skipped, failed, hsm_rewraps, seconds, max_commit_ms, runs FROM rotation_jobs ";

std::int64_t i64(std::uint64_t v) {
    return static_cast<std::int64_t>(v);
}

Result<core::RotationJob> read_job(const Statement& s) {
    core::RotationJob j;
    j.id = s.column_int(0);
    j.keyring = s.column_text(1);
    const auto kind = parse_rotation_kind(s.column_text(2));
    if (!kind) {
        return Error(Errc::database_error,
                     "database: unknown rotation job kind " + s.column_text(2));
    }
    j.kind = *kind;
    const auto state = parse_rotation_state(s.column_text(3));
    if (!state) {
        return Error(Errc::database_error,
                     "database: unknown rotation job state " + s.column_text(3));
    }
    j.state = *state;
    j.from_version = s.column_u32(4);
    j.to_version = s.column_u32(5);
    j.started_at = s.column_text(6);
    j.started_by = s.column_text(7);
    j.finished_at = s.column_text(8);
    j.cursor = {s.column_text(9), s.column_text(10), s.column_u32(11)};
    j.total = s.column_u64(12);
    j.done = s.column_u64(13);
    j.skipped = s.column_u64(14);
    j.failed = s.column_u64(15);
    j.hsm_rewraps = s.column_u64(16);
    j.seconds = s.column_double(17);
    j.max_commit_ms = s.column_double(18);
    j.runs = s.column_u32(19);
    return j;
}

}  // namespace

Result<std::optional<core::Lease>> SqliteStore::take_lease(
    const std::string& keyring, const core::Lease& me,
    bool (*is_dead)(const core::Lease&, const std::string& now)) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    const std::string now = core::utc_now_iso8601();
    {
        KW_TRY(auto s, db_.prepare("SELECT host, pid, acquired_at, heartbeat_at FROM "
                                   "rotation_leases WHERE keyring = ?1"));
        s.bind(1, keyring);
        KW_TRY(bool row, s.step());
        if (row) {
            core::Lease holder{s.column_text(0), s.column_int(1), s.column_text(2),
                               s.column_text(3)};
            const bool mine = holder.host == me.host && holder.pid == me.pid;
            if (!mine && !is_dead(holder, now)) return std::optional<core::Lease>{holder};
        }
    }
    KW_TRY(auto up, db_.prepare("INSERT INTO rotation_leases(keyring, host, pid, acquired_at, "
                                "heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(keyring) "
                                "DO UPDATE SET host = ?2, pid = ?3, acquired_at = ?4, "
                                "heartbeat_at = ?4"));
    up.bind(1, keyring).bind(2, me.host).bind(3, me.pid).bind(4, now);
    KW_TRY_STATUS(up.run());
    KW_TRY_STATUS(tx.commit());
    return std::optional<core::Lease>{};
}

Status SqliteStore::release_lease(const std::string& keyring, const core::Lease& me) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare("DELETE FROM rotation_leases WHERE keyring = ?1 AND host = ?2 AND "
                               "pid = ?3"));
    s.bind(1, keyring).bind(2, me.host).bind(3, me.pid);
    return s.run();
}

Result<std::optional<core::RotationJob>> SqliteStore::running_job(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s,
           db_.prepare(std::string(kJobColumns) + "WHERE keyring = ?1 AND state = 'running'"));
    s.bind(1, keyring);
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::RotationJob>{};
    KW_TRY(auto job, read_job(s));
    return std::optional<core::RotationJob>{std::move(job)};
}

Result<std::optional<core::RotationJob>> SqliteStore::last_rotation(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kJobColumns) +
                               "WHERE keyring = ?1 AND kind IN ('rotate', 'reencrypt') AND "
                               "state <> 'rolled-back' ORDER BY id DESC LIMIT 1"));
    s.bind(1, keyring);
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::RotationJob>{};
    KW_TRY(auto job, read_job(s));
    return std::optional<core::RotationJob>{std::move(job)};
}

Result<std::vector<core::RotationJob>> SqliteStore::jobs(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kJobColumns) + "WHERE keyring = ?1 ORDER BY id"));
    s.bind(1, keyring);
    std::vector<core::RotationJob> out;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        KW_TRY(auto job, read_job(s));
        out.push_back(std::move(job));
    }
    return out;
}

// Caller holds mutex_ and a transaction.
Result<core::RotationJob> SqliteStore::insert_job(const std::string& keyring, RotationKind kind,
                                                  std::uint32_t from, std::uint32_t to,
                                                  const std::string& actor) {
    KW_TRY(auto ins, db_.prepare("INSERT INTO rotation_jobs(keyring, kind, from_version, "
                                 "to_version, state, started_at, started_by) VALUES (?1, ?2, ?3, "
                                 "?4, 'running', ?5, ?6)"));
    ins.bind(1, keyring)
        .bind(2, rotation_kind_name(kind))
        .bind(3, std::int64_t{from})
        .bind(4, std::int64_t{to})
        .bind(5, core::utc_now_iso8601())
        .bind(6, actor);
    KW_TRY_STATUS(ins.run());
    const std::int64_t id = db_.last_insert_rowid();
    // Total: what the job will have to move, counted now (a resumed run counts again).
    KW_TRY(auto s, db_.prepare(std::string(kJobColumns) + "WHERE id = ?1"));
    s.bind(1, id);
    KW_TRY(bool row, s.step());
    if (!row) return Error(Errc::database_error, "database: the new rotation job vanished");
    return read_job(s);
}

Result<core::RotationJob> SqliteStore::begin_rotation(const std::string& keyring, RotationKind kind,
                                                      std::uint32_t from_version,
                                                      const core::KekVersionRow& next,
                                                      const std::string& actor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    {
        KW_TRY(auto demote, db_.prepare("UPDATE kek_versions SET state = 'decrypt-only' WHERE "
                                        "keyring = ?1 AND state = 'active'"));
        demote.bind(1, keyring);
        KW_TRY_STATUS(demote.run());
    }
    KW_TRY_STATUS(insert_version_row(next));
    KW_TRY(auto job, insert_job(keyring, kind, from_version, next.version, actor));
    KW_TRY_STATUS(set_job_total(job));
    KW_TRY_STATUS(tx.commit());
    return job;
}

Result<core::RotationJob> SqliteStore::begin_rollback(const core::RotationJob& rotation,
                                                      const std::string& actor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    for (const char* sql :
         {"UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = ?1 AND version = ?2 "
          "AND state = 'active'",
          "UPDATE kek_versions SET state = 'active' WHERE keyring = ?1 AND version = ?3",
          "UPDATE rotation_jobs SET state = 'rolled-back', finished_at = coalesce(finished_at, "
          "?4) WHERE id = ?5"}) {
        KW_TRY(auto s, db_.prepare(sql));
        s.bind(1, rotation.keyring)
            .bind(2, std::int64_t{rotation.to_version})
            .bind(3, std::int64_t{rotation.from_version})
            .bind(4, core::utc_now_iso8601())
            .bind(5, rotation.id);
        KW_TRY_STATUS(s.run());
    }
    KW_TRY(auto job, insert_job(rotation.keyring, RotationKind::rollback, rotation.to_version,
                                rotation.from_version, actor));
    KW_TRY_STATUS(set_job_total(job));
    KW_TRY_STATUS(tx.commit());
    return job;
}

// The candidates of a job: what rotate and rollback still have to move.
std::string SqliteStore::job_filter(const core::RotationJob& job) {
    return job.kind == RotationKind::rollback ? "v.keyring = ?1 AND v.kek_version = ?2"
                                              : "v.keyring = ?1 AND v.kek_version <> ?2";
}

// Caller holds mutex_.
Status SqliteStore::set_job_total(core::RotationJob& job) {
    KW_TRY(auto n, count_remaining_locked(job));
    KW_TRY(auto s, db_.prepare("UPDATE rotation_jobs SET total = done + skipped + failed + ?2 "
                               "WHERE id = ?1"));
    s.bind(1, job.id).bind(2, i64(n));
    KW_TRY_STATUS(s.run());
    job.total = job.done + job.skipped + job.failed + n;
    return {};
}

Result<std::uint64_t> SqliteStore::count_remaining_locked(const core::RotationJob& job) {
    const std::uint32_t version =
        job.kind == RotationKind::rollback ? job.from_version : job.to_version;
    KW_TRY(auto s, cached("SELECT count(*) FROM record_versions v WHERE " + job_filter(job) +
                          " AND (v.namespace, v.name, v.version) > (?3, ?4, ?5)"));
    s->bind(1, job.keyring)
        .bind(2, std::int64_t{version})
        .bind(3, job.cursor.ns)
        .bind(4, job.cursor.name)
        .bind(5, std::int64_t{job.cursor.version});
    KW_TRY(bool row, s->step());
    return row ? s->column_u64(0) : 0;
}

Result<std::uint64_t> SqliteStore::count_remaining(const core::RotationJob& job) {
    std::lock_guard lock(mutex_);
    return count_remaining_locked(job);
}

Result<std::vector<core::RewrapCandidate>> SqliteStore::next_batch(const core::RotationJob& job,
                                                                   std::size_t limit,
                                                                   Selection selection) {
    std::lock_guard lock(mutex_);
    const std::uint32_t version =
        job.kind == RotationKind::rollback ? job.from_version : job.to_version;
    // "?2 = ?2" keeps the version parameter in the statement, so both selections bind alike.
    const std::string filter =
        selection == Selection::by_column ? job_filter(job) : "v.keyring = ?1 AND ?2 = ?2";
    KW_TRY(auto s, cached("SELECT v.namespace, v.name, v.version, v.envelope, k.kek_version, "
                          "k.wrapped_dek FROM record_versions v LEFT JOIN kept_wraps k ON "
                          "k.namespace = v.namespace AND k.name = v.name AND k.version = "
                          "v.version WHERE " +
                          filter +
                          " AND (v.namespace, v.name, v.version) > (?3, ?4, ?5) ORDER BY "
                          "v.namespace, v.name, v.version LIMIT ?6"));
    s->bind(1, job.keyring)
        .bind(2, std::int64_t{version})
        .bind(3, job.cursor.ns)
        .bind(4, job.cursor.name)
        .bind(5, std::int64_t{job.cursor.version})
        .bind(6, static_cast<std::int64_t>(limit));
    std::vector<core::RewrapCandidate> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        core::RewrapCandidate c{s->column_text(0), s->column_text(1), s->column_u32(2),
                                s->column_blob(3), std::nullopt};
        if (!s->column_is_null(4)) c.kept = core::KeptWrap{s->column_u32(4), s->column_blob(5)};
        out.push_back(std::move(c));
    }
    return out;
}

Result<core::RotationJob> SqliteStore::commit_batch(const core::RotationJob& job,
                                                    const std::vector<core::RewrapUpdate>& updates,
                                                    const core::BatchTally& tally,
                                                    const core::Lease& lease) {
    std::lock_guard lock(mutex_);
    // What a writer may wait for: from the write lock to the commit.
    const auto started = std::chrono::steady_clock::now();
    KW_TRY(auto tx, Transaction::begin(db_));
    std::uint64_t done = 0, skipped = 0;
    for (const auto& u : updates) {
        // Conditional: a version somebody else changed (purged, or moved by another path)
        // meanwhile is left as it is and counted skipped.
        KW_TRY(auto up, cached("UPDATE record_versions SET envelope = ?4, kek_version = ?5 "
                               "WHERE namespace = ?1 AND name = ?2 AND version = ?3 AND "
                               "envelope = ?6"));
        up->bind(1, u.ns)
            .bind(2, u.name)
            .bind(3, std::int64_t{u.version})
            .bind(4, ByteView(u.after))
            .bind(5, std::int64_t{u.after_kek_version})
            .bind(6, ByteView(u.before));
        KW_TRY_STATUS(up->run());
        if (db_.changes() != 1) {
            ++skipped;
            continue;
        }
        ++done;
        if (u.keep) {
            KW_TRY(auto keep, cached("INSERT INTO kept_wraps(namespace, name, version, job_id, "
                                     "keyring, kek_version, wrapped_dek) VALUES (?1, ?2, ?3, "
                                     "?4, ?5, ?6, ?7) ON CONFLICT(namespace, name, version) DO "
                                     "UPDATE SET job_id = ?4, keyring = ?5, kek_version = ?6, "
                                     "wrapped_dek = ?7"));
            keep->bind(1, u.ns)
                .bind(2, u.name)
                .bind(3, std::int64_t{u.version})
                .bind(4, job.id)
                .bind(5, job.keyring)
                .bind(6, std::int64_t{u.keep->kek_version})
                .bind(7, ByteView(u.keep->wrapped_dek));
            KW_TRY_STATUS(keep->run());
        } else if (u.drop_kept || job.kind == RotationKind::reencrypt) {
            // A used copy goes; a re-encrypted version's old copy protects nothing any more.
            KW_TRY(auto drop, cached("DELETE FROM kept_wraps WHERE namespace = ?1 AND name = "
                                     "?2 AND version = ?3"));
            drop->bind(1, u.ns).bind(2, u.name).bind(3, std::int64_t{u.version});
            KW_TRY_STATUS(drop->run());
        }
    }
    KW_TRY(auto j, cached("UPDATE rotation_jobs SET cursor_namespace = ?2, cursor_name = ?3, "
                          "cursor_version = ?4, done = done + ?5, skipped = skipped + ?6, "
                          "failed = failed + ?7, hsm_rewraps = hsm_rewraps + ?8, seconds = "
                          "seconds + ?9, max_commit_ms = max(max_commit_ms, ?10) WHERE id = ?1 "
                          "AND state = 'running'"));
    const double held_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    j->bind(1, job.id)
        .bind(2, tally.cursor.ns)
        .bind(3, tally.cursor.name)
        .bind(4, std::int64_t{tally.cursor.version})
        .bind(5, i64(done))
        .bind(6, i64(skipped))
        .bind(7, i64(tally.failed))
        .bind(8, i64(tally.hsm_rewraps))
        .bind(9, tally.seconds)
        .bind(10, held_ms);
    KW_TRY_STATUS(j->run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "rotation job " + std::to_string(job.id) +
                                         " is no longer running; another process finished or "
                                         "rolled it back");
    }
    KW_TRY(auto hb, cached("UPDATE rotation_leases SET heartbeat_at = ?4 WHERE keyring = ?1 AND "
                           "host = ?2 AND pid = ?3"));
    hb->bind(1, job.keyring)
        .bind(2, lease.host)
        .bind(3, lease.pid)
        .bind(4, core::utc_now_iso8601());
    KW_TRY_STATUS(hb->run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "this process lost the rotation lease of keyring " +
                                         job.keyring + " (another process took it over); stopping");
    }
    KW_TRY_STATUS(tx.commit());
    core::RotationJob after = job;
    after.cursor = tally.cursor;
    after.done += done;
    after.skipped += skipped;
    after.failed += tally.failed;
    after.hsm_rewraps += tally.hsm_rewraps;
    after.seconds += tally.seconds;
    after.max_commit_ms = std::max(after.max_commit_ms, held_ms);
    return after;
}

Status SqliteStore::finish_job(const core::RotationJob& job, double seconds,
                               const core::Lease& lease) {
    std::lock_guard lock(mutex_);
    // One transaction: a process killed right after it leaves no lease behind a finished job.
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("UPDATE rotation_jobs SET state = 'finished', finished_at = ?2, "
                               "seconds = seconds + ?3 WHERE id = ?1 AND state = 'running'"));
    s.bind(1, job.id).bind(2, core::utc_now_iso8601()).bind(3, seconds);
    KW_TRY_STATUS(s.run());
    KW_TRY(auto release, db_.prepare("DELETE FROM rotation_leases WHERE keyring = ?1 AND host = "
                                     "?2 AND pid = ?3"));
    release.bind(1, job.keyring).bind(2, lease.host).bind(3, lease.pid);
    KW_TRY_STATUS(release.run());
    return tx.commit();
}

Status SqliteStore::resume_job(const core::RotationJob& job) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("UPDATE rotation_jobs SET runs = runs + 1 WHERE id = ?1"));
    s.bind(1, job.id);
    KW_TRY_STATUS(s.run());
    core::RotationJob copy = job;
    KW_TRY_STATUS(set_job_total(copy));
    return tx.commit();
}

Result<std::uint64_t> SqliteStore::kept_under(const std::string& keyring, std::uint32_t version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached("SELECT count(*) FROM kept_wraps WHERE keyring = ?1 AND kek_version = "
                          "?2"));
    s->bind(1, keyring).bind(2, std::int64_t{version});
    KW_TRY(bool row, s->step());
    return row ? s->column_u64(0) : 0;
}

Status SqliteStore::mark_compromised(const std::string& keyring, std::uint32_t version) {
    return apply_token_state(keyring, version, KekState::compromised);
}

Status SqliteStore::apply_token_state(const std::string& keyring, std::uint32_t version,
                                      KekState state) {
    if (state != KekState::compromised && state != KekState::destroyed) {
        return Error(Errc::failed, "only compromised or destroyed come from the token's ledger");
    }
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    {
        KW_TRY(auto s, db_.prepare("UPDATE kek_versions SET state = ?3 WHERE keyring = ?1 AND "
                                   "version = ?2"));
        s.bind(1, keyring).bind(2, std::int64_t{version}).bind(3, kek_state_name(state));
        KW_TRY_STATUS(s.run());
    }
    KW_TRY(auto drop,
           db_.prepare("DELETE FROM kept_wraps WHERE keyring = ?1 AND kek_version = ?2"));
    drop.bind(1, keyring).bind(2, std::int64_t{version});
    KW_TRY_STATUS(drop.run());
    return tx.commit();
}

Status SqliteStore::retire_version(const std::string& keyring, std::uint32_t version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    {
        KW_TRY(auto s, db_.prepare("SELECT count(*) FROM record_versions WHERE keyring = ?1 AND "
                                   "kek_version = ?2"));
        s.bind(1, keyring).bind(2, std::int64_t{version});
        KW_TRY(bool row, s.step());
        const auto n = row ? s.column_int(0) : 0;
        if (n != 0) {
            return Error(Errc::state_refused,
                         "keyring " + keyring + " version " + std::to_string(version) +
                             " still protects " + std::to_string(n) +
                             " record versions; rotate (or finish the rotation) first");
        }
    }
    for (const char* sql :
         {"DELETE FROM kept_wraps WHERE keyring = ?1 AND kek_version = ?2",
          "UPDATE kek_versions SET state = 'destroyed' WHERE keyring = ?1 AND version = ?2"}) {
        KW_TRY(auto s, db_.prepare(sql));
        s.bind(1, keyring).bind(2, std::int64_t{version});
        KW_TRY_STATUS(s.run());
    }
    return tx.commit();
}

Status SqliteStore::delete_keyring(
    const std::string& keyring,
    const std::function<Status(const std::vector<core::KekVersionRow>&)>& before_rows_go) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    std::int64_t users[3] = {0, 0, 0};
    const char* counts[3] = {
        "SELECT count(*) FROM namespaces WHERE keyring = ?1",
        "SELECT count(*) FROM record_versions WHERE keyring = ?1",
        "SELECT count(*) FROM rotation_jobs WHERE keyring = ?1 AND state = 'running'"};
    for (int i = 0; i < 3; ++i) {
        KW_TRY(auto s, db_.prepare(counts[i]));
        s.bind(1, keyring);
        KW_TRY(bool row, s.step());
        users[i] = row ? s.column_int(0) : 0;
    }
    if (users[2] != 0) {
        return Error(Errc::state_refused, "keyring " + keyring +
                                              " has an unfinished rotation job; finish it with "
                                              "keyward keyring rotate (or rollback) first");
    }
    if (users[0] != 0 || users[1] != 0) {
        return Error(Errc::state_refused, "keyring " + keyring + " is still used by " +
                                              std::to_string(users[0]) + " namespaces and " +
                                              std::to_string(users[1]) +
                                              " stored record versions; it is not deleted");
    }
    KW_TRY(auto versions, versions_of(keyring));
    KW_TRY_STATUS(before_rows_go(versions));
    for (const char* sql :
         {"DELETE FROM kept_wraps WHERE job_id IN (SELECT id FROM rotation_jobs WHERE keyring = "
          "?1)",
          "DELETE FROM rotation_jobs WHERE keyring = ?1",
          "DELETE FROM rotation_leases WHERE keyring = ?1",
          "DELETE FROM kek_versions WHERE keyring = ?1", "DELETE FROM keyrings WHERE name = ?1"}) {
        KW_TRY(auto s, db_.prepare(sql));
        s.bind(1, keyring);
        KW_TRY_STATUS(s.run());
    }
    return tx.commit();
}

Status SqliteStore::with_write_lock(const std::function<Status()>& fn) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY_STATUS(fn());
    return tx.commit();
}

}  // namespace keyward::store
