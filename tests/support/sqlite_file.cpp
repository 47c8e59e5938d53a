// SPDX-License-Identifier: Apache-2.0
// Direct SQLite access for tests (see sqlite_file.hpp).
#include "support/sqlite_file.hpp"

#include <optional>
#include <stdexcept>

namespace keyward::test {

SqliteFile::SqliteFile(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        sqlite3_close(db_);
        throw std::runtime_error("cannot open " + path.string());
    }
    sqlite3_busy_timeout(db_, 30000);
}

SqliteFile::~SqliteFile() {
    sqlite3_close(db_);
}

void SqliteFile::each(const std::string& sql, const std::function<void(sqlite3_stmt*)>& row) const {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    const std::string why = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + why);
}

void SqliteFile::exec(const std::string& sql, const std::vector<Param>& params) const {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int at = static_cast<int>(i + 1);
        if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
            sqlite3_bind_int64(st, at, *n);
        } else if (const auto* s = std::get_if<std::string>(&params[i])) {
            sqlite3_bind_text(st, at, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
        } else {
            const auto& b = std::get<Bytes>(params[i]);
            sqlite3_bind_blob(st, at, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
        }
    }
    const int rc = sqlite3_step(st);
    const std::string why = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sql + ": " + why);
}

std::int64_t SqliteFile::integer(const std::string& sql) const {
    std::optional<std::int64_t> v;
    each(sql, [&](sqlite3_stmt* st) { v = sqlite3_column_int64(st, 0); });
    if (!v) throw std::runtime_error(sql + ": no row");
    return *v;
}

Bytes SqliteFile::blob(const std::string& sql) const {
    std::optional<Bytes> v;
    each(sql, [&](sqlite3_stmt* st) {
        const auto* b = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
        v = b == nullptr ? Bytes() : Bytes(b, b + sqlite3_column_bytes(st, 0));
    });
    if (!v) throw std::runtime_error(sql + ": no row");
    return *v;
}

std::string SqliteFile::text(const std::string& sql) const {
    std::string v;
    each(sql, [&](sqlite3_stmt* st) { v += column_text(st, 0) + "\n"; });
    return v;
}

std::string SqliteFile::column_text(sqlite3_stmt* st, int i) {
    const auto* t = sqlite3_column_text(st, i);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
}

std::string SqliteFile::column_blob(sqlite3_stmt* st, int i) {
    const auto* b = static_cast<const char*>(sqlite3_column_blob(st, i));
    return b == nullptr ? std::string()
                        : std::string(b, static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
}

}  // namespace keyward::test
