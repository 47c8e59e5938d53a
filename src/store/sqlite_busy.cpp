// SPDX-License-Identifier: Apache-2.0
// The busy handler: how a connection waits for a lock another process holds.
#include <algorithm>
#include <array>
#include <thread>

#include "store/sqlite_connection.hpp"

namespace keyward::store {

namespace {

using Millis = std::chrono::milliseconds;

// SQLite's own back-off (sqliteDefaultBusyCallback): short sleeps first, since most locks are
// held for one commit, then 100 ms.
Millis backoff(int count) {
    static constexpr std::array<int, 12> kDelays = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    const auto i = static_cast<std::size_t>(std::max(count, 0));
    return Millis(i < kDelays.size() ? kDelays[i] : kDelays.back());
}

int on_busy(void* arg, int count) {
    auto& connection = *static_cast<Connection*>(arg);
    if (count == 0) connection.gave_up_after = Millis(0);
    core::BusyBudget* budget = core::BusyBudget::current();
    if (budget == nullptr) {
        // No operation is counting: this statement may wait busy_timeout on its own, which is
        // SQLite's busy_timeout. count is 0 at the first wait of each lock attempt.
        if (count == 0 || !connection.statement_budget) {
            connection.statement_budget.emplace(connection.busy_timeout);
        }
        budget = &*connection.statement_budget;
    }
    const Millis left = budget->left(connection.busy_timeout);
    if (left <= Millis(0)) {
        connection.gave_up_after = budget->total(connection.busy_timeout);
        return 0;  // SQLite returns SQLITE_BUSY to the caller
    }
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::min(backoff(count), left));
    budget->charge(std::chrono::steady_clock::now() - start);
    return 1;
}

}  // namespace

void install_busy_handler(Connection& connection) {
    sqlite3_busy_handler(connection.db, on_busy, &connection);
}

}  // namespace keyward::store
