// SPDX-License-Identifier: Apache-2.0
// One operation's budget of waiting for other processes' database locks (busy_budget.hpp).
#include "core/busy_budget.hpp"

namespace keyward::core {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

thread_local BusyBudget* current_budget = nullptr;

}  // namespace

BusyBudget::BusyBudget(std::optional<Millis> total)
    : total_us_(total ? duration_cast<microseconds>(*total).count() : kUnset) {}

BusyBudget::Millis BusyBudget::total(Millis fallback) noexcept {
    std::int64_t expected = kUnset;
    // The first store to wait fixes an open budget's total; later ones see the same.
    total_us_.compare_exchange_strong(expected, duration_cast<microseconds>(fallback).count());
    return duration_cast<Millis>(microseconds(total_us_.load()));
}

BusyBudget::Millis BusyBudget::left(Millis fallback) noexcept {
    const auto total_us = duration_cast<microseconds>(total(fallback)).count();
    const auto spent_us = spent_us_.load();
    return spent_us >= total_us ? Millis(0)
                                : duration_cast<Millis>(microseconds(total_us - spent_us));
}

void BusyBudget::charge(std::chrono::steady_clock::duration waited) noexcept {
    spent_us_.fetch_add(duration_cast<microseconds>(waited).count());
}

BusyBudget::Millis BusyBudget::spent() const noexcept {
    return duration_cast<Millis>(microseconds(spent_us_.load()));
}

BusyBudget* BusyBudget::current() noexcept {
    return current_budget;
}

BusyBudget::Scope::Scope(BusyBudget& budget) noexcept {
    if (current_budget == nullptr) {
        current_budget = &budget;
        owner_ = true;
    }
}

BusyBudget::Scope::~Scope() {
    if (owner_) current_budget = nullptr;
}

}  // namespace keyward::core
