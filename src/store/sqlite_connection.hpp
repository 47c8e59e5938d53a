// SPDX-License-Identifier: Apache-2.0
// The state of one SQLite connection that outlives moves of the Database owning it: its busy
// handler and its statements point here. Internal to src/store.
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/busy_budget.hpp"
#include "keyward/error.hpp"

namespace keyward::store {

struct Connection {
    Connection(std::string file, std::chrono::milliseconds timeout)
        : path(std::move(file)), busy_timeout(timeout) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    /// Closes the connection; with keep_wal_files, empties the WAL first (see sqlite.cpp).
    ~Connection();

    sqlite3* db = nullptr;
    std::string path;  ///< the file as configured, for messages
    pid_t pid = 0;     ///< the process that opened it
    /// Closed in a child after fork() by release_inherited_connections: every call on it, or
    /// on its statements, fails or does nothing.
    bool released = false;
    std::chrono::milliseconds busy_timeout;
    bool keep_wal_files = false;
    /// A statement's own budget, when no operation has opened one (BusyBudget::current()).
    std::optional<core::BusyBudget> statement_budget;
    /// The total of the budget the busy handler last gave up on, for the message.
    std::chrono::milliseconds gave_up_after{0};
};

/// Closes, in a child after fork(), every connection this process inherited from its parent.
/// SQLite forbids using a connection across fork(), and a new connection in the child would
/// share the inherited one's file bookkeeping: it would reuse the parent's hold on the -shm
/// file's "in use" lock, which fork() does not pass on, so once the parent exits the next
/// process would rebuild the -shm file under the child. Closing them first (their statements
/// finalised, without a checkpoint) lets the child's new connections take their own locks.
/// Called before every open; a no-op in a process that never forked.
void release_inherited_connections();
/// The error for a call on a released connection.
Error inherited_connection_error(const Connection& connection);

/// Makes SQLite wait for other processes' locks through the current operation's BusyBudget,
/// else through one of busy_timeout for the statement.
void install_busy_handler(Connection& connection);

/// The error for a call on `connection` that failed with `rc` (extended code): the file named,
/// SQLITE_BUSY as Errc::database_locked, a full disk as "no space left on device". `what`
/// says what was being done, for errors that are not about the file itself.
Error connection_error(const Connection& connection, int rc, std::string_view what = {});

/// "SQLITE_IOERR_SHMSIZE" for an extended result code, for messages and logs.
std::string sqlite_code_name(int rc);

}  // namespace keyward::store
