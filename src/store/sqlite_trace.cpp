// SPDX-License-Identifier: Apache-2.0
// The SQL trace: one line per statement when it finishes (SQLITE_TRACE_PROFILE), timed from
// when it started (SQLITE_TRACE_STMT); see sqlite_trace.hpp for the format and what a line may
// carry.
#include "store/sqlite_trace.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "core/debug_channels.hpp"

namespace keyward::store {

namespace {

std::atomic<bool> g_sql_trace{false};

// One line per statement: runs of blanks and newlines in the source's SQL become one space.
std::string one_line(const char* sql) {
    std::string out;
    bool blank = false;
    for (const char* p = sql; *p != '\0'; ++p) {
        const bool space = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';
        if (space) {
            blank = !out.empty();
            continue;
        }
        if (blank) out += ' ';
        blank = false;
        out += *p;
    }
    return out;
}

// One connection's statements that started and have not finished yet. SQLite's own PROFILE
// time has a resolution of 1 ms on Linux, too coarse for statements that take microseconds.
// A connection is used by one thread at a time; the mutex is for the trace alone.
struct Runs {
    std::mutex mutex;
    std::unordered_map<const void*, std::chrono::steady_clock::time_point> started;
};

void write_line(const std::string& line) noexcept {
    // One write(2), so that lines of other threads or of the p11 trace never mix into it.
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data += n;
        left -= static_cast<std::size_t>(n);
    }
}

// STMT: p is the statement, starting to run. PROFILE: p is the statement, finished; x points
// at SQLite's own run time in nanoseconds. CLOSE: p is the connection, closing.
int on_trace(unsigned event, void* context, void* p, void* x) noexcept {
    auto* runs = static_cast<Runs*>(context);
    try {
        if (event == SQLITE_TRACE_CLOSE) {
            delete runs;
            return 0;
        }
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(runs->mutex);
        if (event == SQLITE_TRACE_STMT) {
            runs->started.insert_or_assign(p, now);
            return 0;
        }
        if (event != SQLITE_TRACE_PROFILE) return 0;
        double ms = static_cast<double>(*static_cast<const sqlite3_int64*>(x)) / 1e6;
        if (auto it = runs->started.find(p); it != runs->started.end()) {
            ms = std::chrono::duration<double, std::milli>(now - it->second).count();
            runs->started.erase(it);
        }
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
        if (sql == nullptr) return 0;
        char took[48];
        std::snprintf(took, sizeof took, " -> %.3f ms\n", ms);
        write_line("keyward sql: " + one_line(sql) + took);
    } catch (...) {
        // Out of memory for a trace line: the statement itself is not the trace's to fail.
    }
    return 0;
}

}  // namespace

void enable_sql_trace() noexcept {
    g_sql_trace.store(true, std::memory_order_relaxed);
}

void install_sql_trace(sqlite3* db) {
    if (db == nullptr) return;
    if (!g_sql_trace.load(std::memory_order_relaxed) && !core::debug_channels_from_env().sql)
        return;
    auto* runs = new (std::nothrow) Runs;  // freed by the CLOSE event
    if (runs == nullptr) return;
    const unsigned events = SQLITE_TRACE_STMT | SQLITE_TRACE_PROFILE | SQLITE_TRACE_CLOSE;
    if (sqlite3_trace_v2(db, events, on_trace, runs) != SQLITE_OK) delete runs;
}

}  // namespace keyward::store
