// RAII over SQLite: a connection (WAL, synchronous=FULL, foreign keys, busy timeout), prepared
// statements with bound parameters only, and BEGIN IMMEDIATE transactions that roll back
// unless committed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::store {

class Statement;

class Database {
  public:
    enum class Mode { open_existing, create_if_missing };

    /// Opens (or creates, mode 0600) the file. A file readable by group or others is refused
    /// unless it is ours, in which case it is narrowed to 0600 first.
    static Result<Database> open(const std::filesystem::path& path, Mode mode);

    /// Opens an existing file as it is, without the pragmas above (no switch to WAL), for
    /// backup snapshots: read-only, or read-write on a file keyward has just created.
    static Result<Database> open_plain(const std::filesystem::path& path, bool read_only);

    Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs SQL without parameters (schema, pragmas). Never for data.
    Status exec(const char* sql);
    Result<Statement> prepare(std::string_view sql);
    std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }
    std::int64_t last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
    sqlite3* handle() const noexcept { return db_; }

    /// Error with the SQLite message, for a failed call on this connection.
    Error error(std::string_view what) const;

  private:
    explicit Database(sqlite3* db) : db_(db) {}
    sqlite3* db_ = nullptr;
};

class Statement {
  public:
    Statement(Statement&& other) noexcept
        : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}
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

    /// true: a row is ready; false: done. Errors carry Errc::conflict on SQLITE_BUSY.
    Result<bool> step();
    /// Steps to completion, expecting no row.
    Status run();
    /// Resets for reuse and clears bindings.
    void reset() noexcept;

    std::int64_t column_int(int col) const noexcept;
    double column_double(int col) const noexcept;
    std::string column_text(int col) const;
    Bytes column_blob(int col) const;
    bool column_is_null(int col) const noexcept;
    std::optional<std::string> column_optional_text(int col) const;

  private:
    friend class Database;
    Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
    sqlite3_stmt* stmt_ = nullptr;
    sqlite3* db_ = nullptr;
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
