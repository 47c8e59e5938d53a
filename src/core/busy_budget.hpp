// SPDX-License-Identifier: Apache-2.0
// How long one operation may wait, in total, for database locks that other processes hold.
// SQLite's busy timeout restarts at every statement, so a put (namespace, suite 2 counter,
// insert, and a re-seal after a lost version race) could wait that long at each step: 16
// re-seals of 10 s each made a put wait 160 s behind one stuck writer. An operation opens one
// BusyBudget instead, and every wait of every statement it runs, on any connection, draws on it.
//
// The budget is found through the current thread (BusyBudget::Scope) rather than passed down
// the Store port: SQLite calls the busy handler on the thread that steps the statement, which
// is the thread running the operation, and the port keeps one signature per call for every
// door. A door that spreads one operation over several threads (a service on a pool) opens a
// Scope on each of them for the same budget: it is shared safely.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace keyward::core {

class BusyBudget {
  public:
    using Millis = std::chrono::milliseconds;

    /// A budget of `total`; nullopt: the busy_timeout_ms of the store it first waits on.
    explicit BusyBudget(std::optional<Millis> total = std::nullopt);
    BusyBudget(const BusyBudget&) = delete;
    BusyBudget& operator=(const BusyBudget&) = delete;

    /// What is left to wait; `fallback` fixes the total of a budget opened without one.
    Millis left(Millis fallback) noexcept;
    /// Records time spent waiting.
    void charge(std::chrono::steady_clock::duration waited) noexcept;
    /// The total (once fixed) and what was spent, for messages.
    Millis total(Millis fallback) noexcept;
    Millis spent() const noexcept;

    /// The budget of the operation running on this thread, or nullptr.
    static BusyBudget* current() noexcept;

    /// Makes a budget the current thread's until the scope ends. Scopes nest and the outermost
    /// budget stays in force: an operation run by another (a keyring made for a put, a
    /// re-sealed put inside an import) shares its caller's budget.
    class Scope {
      public:
        explicit Scope(BusyBudget& budget) noexcept;
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

      private:
        bool owner_ = false;
    };

  private:
    static constexpr std::int64_t kUnset = -1;
    std::atomic<std::int64_t> total_us_;
    std::atomic<std::int64_t> spent_us_{0};
};

}  // namespace keyward::core
