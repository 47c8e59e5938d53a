// SPDX-License-Identifier: Apache-2.0
// SQLite failures as keyward errors: which file, and what an operator can do about it.
#include <cerrno>
#include <cstring>
#include <utility>

#include "store/sqlite_connection.hpp"

namespace keyward::store {

namespace {

constexpr std::pair<int, const char*> kNames[] = {
    {SQLITE_BUSY, "SQLITE_BUSY"},
    {SQLITE_BUSY_RECOVERY, "SQLITE_BUSY_RECOVERY"},
    {SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT"},
    {SQLITE_BUSY_TIMEOUT, "SQLITE_BUSY_TIMEOUT"},
    {SQLITE_LOCKED, "SQLITE_LOCKED"},
    {SQLITE_FULL, "SQLITE_FULL"},
    {SQLITE_READONLY, "SQLITE_READONLY"},
    {SQLITE_CANTOPEN, "SQLITE_CANTOPEN"},
    {SQLITE_CORRUPT, "SQLITE_CORRUPT"},
    {SQLITE_NOTADB, "SQLITE_NOTADB"},
    {SQLITE_IOERR, "SQLITE_IOERR"},
    {SQLITE_IOERR_READ, "SQLITE_IOERR_READ"},
    {SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ"},
    {SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"},
    {SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC"},
    {SQLITE_IOERR_DIR_FSYNC, "SQLITE_IOERR_DIR_FSYNC"},
    {SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE"},
    {SQLITE_IOERR_FSTAT, "SQLITE_IOERR_FSTAT"},
    {SQLITE_IOERR_UNLOCK, "SQLITE_IOERR_UNLOCK"},
    {SQLITE_IOERR_RDLOCK, "SQLITE_IOERR_RDLOCK"},
    {SQLITE_IOERR_DELETE, "SQLITE_IOERR_DELETE"},
    {SQLITE_IOERR_ACCESS, "SQLITE_IOERR_ACCESS"},
    {SQLITE_IOERR_LOCK, "SQLITE_IOERR_LOCK"},
    {SQLITE_IOERR_CLOSE, "SQLITE_IOERR_CLOSE"},
    {SQLITE_IOERR_SHMOPEN, "SQLITE_IOERR_SHMOPEN"},
    {SQLITE_IOERR_SHMSIZE, "SQLITE_IOERR_SHMSIZE"},
    {SQLITE_IOERR_SHMLOCK, "SQLITE_IOERR_SHMLOCK"},
    {SQLITE_IOERR_SHMMAP, "SQLITE_IOERR_SHMMAP"},
    {SQLITE_IOERR_SEEK, "SQLITE_IOERR_SEEK"},
    {SQLITE_IOERR_MMAP, "SQLITE_IOERR_MMAP"},
    {SQLITE_IOERR_GETTEMPPATH, "SQLITE_IOERR_GETTEMPPATH"},
    {SQLITE_IOERR_DATA, "SQLITE_IOERR_DATA"},
    {SQLITE_IOERR_CORRUPTFS, "SQLITE_IOERR_CORRUPTFS"},
};

std::string millis_text(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " ms";
}

}  // namespace

std::string sqlite_code_name(int rc) {
    for (const auto& [code, name] : kNames) {
        if (code == rc) return name;
    }
    for (const auto& [code, name] : kNames) {
        if (code == (rc & 0xff)) return std::string(name) + " (" + std::to_string(rc) + ")";
    }
    return "SQLite code " + std::to_string(rc);
}

Error connection_error(const Connection& connection, int rc, std::string_view what) {
    sqlite3* db = connection.db;
    // The connection's extended code is the precise one, when it is about this failure.
    int code = rc;
    if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) {
        code = sqlite3_extended_errcode(db);
    }
    const std::string file = "database " + connection.path;
    switch (code & 0xff) {
        case SQLITE_BUSY: {
            // Never a version race: nothing was read or compared, another process simply
            // kept the lock for longer than this operation was allowed to wait.
            std::string waited;
            if (connection.gave_up_after > std::chrono::milliseconds(0)) {
                waited = " (gave up after waiting " + millis_text(connection.gave_up_after) +
                         ", busy_timeout_ms = " + std::to_string(connection.busy_timeout.count()) +
                         ")";
            }
            return Error(Errc::database_locked,
                         file + " is locked by another process" + waited +
                             "; retry once it has finished, or raise busy_timeout_ms in the "
                             "configuration");
        }
        case SQLITE_FULL:
            // SQLite maps ENOSPC on its writes to SQLITE_FULL (and keeps no errno for it).
            return Error(Errc::database_error, file + ": no space left on device (" +
                                                   sqlite_code_name(code) +
                                                   "); free space on its file system, then retry");
        case SQLITE_IOERR: {
            // Other writes (the -shm file, fsync, ftruncate) fail as SQLITE_IOERR_* with the
            // errno kept on the connection.
            const int err = db != nullptr ? sqlite3_system_errno(db) : 0;
            if (err == ENOSPC || err == EDQUOT) {
                const char* why = err == ENOSPC ? "no space left on device" : "disk quota exceeded";
                return Error(Errc::database_error,
                             file + ": " + why + " (" + sqlite_code_name(code) +
                                 "); free space on its file system, then retry");
            }
            if (code == SQLITE_IOERR_SHMSIZE && err == 0) {
                // SQLite does not keep the errno on every path; growing the -shm file by
                // writing a byte per page fails for lack of space in practice.
                return Error(Errc::database_error,
                             file + ": cannot grow " + connection.path +
                                 "-shm (SQLITE_IOERR_SHMSIZE), most likely no space left on "
                                 "device; free space on its file system, then retry");
            }
            return Error(Errc::database_error,
                         file + ": disk I/O error (" + sqlite_code_name(code) +
                             (err != 0 ? std::string(": ") + std::strerror(err) : "") + ")");
        }
        case SQLITE_CONSTRAINT: {
            // Callers turn the conflicts they expect (a keyring or version already there) into
            // their own words. Anything else means the database holds what keyward never
            // wrote: SQLite's constraint text (table and column names) is not for users.
            const bool taken =
                code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY;
            const char* why = taken ? "it is already there"
                              : code == SQLITE_CONSTRAINT_FOREIGNKEY
                                  ? "it refers to a keyring, namespace, record or KEK version "
                                    "the database does not have"
                                  : "the database holds values keyward does not write";
            return Error(taken ? Errc::already_exists : Errc::database_error,
                         file + ": the change was refused because " + std::string(why) +
                             " (the database may have been edited: run keyward validate and "
                             "keyward health)");
        }
        default: {
            std::string message = file + ": ";
            if (!what.empty()) message += std::string(what) + ": ";
            message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
            return Error(Errc::database_error, std::move(message));
        }
    }
}

}  // namespace keyward::store
