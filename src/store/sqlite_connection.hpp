// SPDX-License-Identifier: Apache-2.0
// The state of one SQLite connection that outlives moves of the Database owning it: its busy
// handler and its statements point here. Internal to src/store.
#pragma once

#include <sqlite3.h>

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
    std::chrono::milliseconds busy_timeout;
    bool keep_wal_files = false;
    /// A statement's own budget, when no operation has opened one (BusyBudget::current()).
    std::optional<core::BusyBudget> statement_budget;
    /// The total of the budget the busy handler last gave up on, for the message.
    std::chrono::milliseconds gave_up_after{0};
};

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
