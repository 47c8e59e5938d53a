// SPDX-License-Identifier: Apache-2.0
// RAII over SQLite: a connection (WAL, synchronous=FULL, foreign keys, a busy budget), prepared
// statements with bound parameters only, and BEGIN IMMEDIATE transactions that roll back
// unless committed. Every error names the database file (sqlite_errors.cpp).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/config.hpp"
#include "keyward/error.hpp"

namespace keyward::store {

class Statement;
struct Connection;

class Database {
  public:
    enum class Mode { open_existing, create_if_missing };

    struct Options {
        /// How long one operation (core::BusyBudget), else one statement, waits for locks
        /// that other processes hold before failing with Errc::database_locked.
        std::chrono::milliseconds busy_timeout{kDefaultBusyTimeoutMs};
    };

    /// Opens (or creates, mode 0600) the file. A file readable by group or others is refused
    /// unless it is ours, in which case it is narrowed to 0600 first.
    static Result<Database> open(const std::filesystem::path& path, Mode mode,
                                 const Options& options);
    static Result<Database> open(const std::filesystem::path& path, Mode mode) {
        return open(path, mode, Options{});
    }

    /// Opens an existing file as it is, without the pragmas above (no switch to WAL), for
    /// backup snapshots: read-only, or read-write on a file keyward has just created.
    static Result<Database> open_plain(const std::filesystem::path& path, bool read_only);

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs SQL without parameters (schema, pragmas). Never for data.
    Status exec(const char* sql);
    Result<Statement> prepare(std::string_view sql);
    std::int64_t changes() const noexcept;
    std::int64_t last_insert_rowid() const noexcept;
    sqlite3* handle() const noexcept;

    /// Error with the SQLite message, for a failed call on this connection.
    Error error(std::string_view what) const;

  private:
    explicit Database(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> connection_;
};

class Statement {
  public:
    Statement(Statement&& other) noexcept
        : stmt_(std::exchange(other.stmt_, nullptr)), connection_(other.connection_) {}
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Parameters are 1-based, as in SQLite.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, ByteView value);
    Statement& bind_null(int index);
    template <typename T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    /// true: a row is ready; false: done. Errors carry Errc::database_locked on SQLITE_BUSY.
    Result<bool> step();
    /// Steps to completion, expecting no row.
    Status run();
    /// Resets for reuse and clears bindings.
    void reset() noexcept;

    std::int64_t column_int(int col) const noexcept;
    /// Unsigned columns, read the one way every reader takes them: versions and day counts as
    /// u32, counters as u64. The stored integer is cast, not range-checked (as the readers always
    /// did): keyward writes only values in range.
    std::uint32_t column_u32(int col) const noexcept {
        return static_cast<std::uint32_t>(column_int(col));
    }
    std::uint64_t column_u64(int col) const noexcept {
        return static_cast<std::uint64_t>(column_int(col));
    }
    double column_double(int col) const noexcept;
    std::string column_text(int col) const;
    Bytes column_blob(int col) const;
    bool column_is_null(int col) const noexcept;
    std::optional<std::string> column_optional_text(int col) const;

  private:
    friend class Database;
    Statement(sqlite3_stmt* stmt, const Connection* connection)
        : stmt_(stmt), connection_(connection) {}
    /// The statement, or nullptr once its connection was released in a child after fork()
    /// (SQLite's bind and column calls take nullptr as a misuse, harmlessly).
    sqlite3_stmt* live() const noexcept;
    sqlite3_stmt* stmt_ = nullptr;
    const Connection* connection_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolled back by the destructor unless commit() succeeded. IMMEDIATE
/// takes the write lock up front, so two writers never both read then fail to upgrade.
class Transaction {
  public:
    static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    ~Transaction();
    Status commit();

  private:
    explicit Transaction(Database* db) : db_(db) {}
    Database* db_ = nullptr;
};

}  // namespace keyward::store
