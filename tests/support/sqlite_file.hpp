// SPDX-License-Identifier: Apache-2.0
// A database file read and edited directly with SQLite, behind keyward's back: the tests' own
// view of what keyward committed, and the way they plant what a database writer could.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "keyward/bytes.hpp"

namespace keyward::test {

class SqliteFile {
  public:
    /// Opens read-write with a 30 s busy timeout and foreign keys OFF, as the sqlite3 shell
    /// does: what an attacker with write access gets. Throws on failure.
    explicit SqliteFile(const std::filesystem::path& path);
    ~SqliteFile();
    SqliteFile(const SqliteFile&) = delete;
    SqliteFile& operator=(const SqliteFile&) = delete;

    using Param = std::variant<std::int64_t, std::string, Bytes>;

    /// Runs sql (one statement) with ?1, ?2... bound to params; throws on failure.
    void exec(const std::string& sql, const std::vector<Param>& params = {}) const;
    /// Calls row(stmt) for every row of sql.
    void each(const std::string& sql, const std::function<void(sqlite3_stmt*)>& row) const;
    /// The first column of the one row sql returns; throws when there is none.
    std::int64_t integer(const std::string& sql) const;
    Bytes blob(const std::string& sql) const;
    /// Every row's first column, each followed by a newline.
    std::string text(const std::string& sql) const;

    static std::string column_text(sqlite3_stmt* st, int i);
    static std::string column_blob(sqlite3_stmt* st, int i);

  private:
    sqlite3* db_ = nullptr;
};

}  // namespace keyward::test
