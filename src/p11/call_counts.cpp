// SPDX-License-Identifier: Apache-2.0
// C_* call counts (see call_counts.hpp).
#include "p11/call_counts.hpp"

#include <pthread.h>

#include <map>
#include <mutex>
#include <utility>

namespace keyward::p11 {

namespace {

// One short critical section per C_* call, next to calls that take tens of microseconds.
std::mutex g_mutex;
std::map<std::pair<std::string_view, CK_RV>, std::uint64_t>& table() {
    static auto* t = new std::map<std::pair<std::string_view, CK_RV>, std::uint64_t>();
    return *t;  // never destroyed: calls may come from other threads during exit
}

// A child forked while another thread held the lock would wait on it for ever at its first
// C_* call (the OpenSSL provider's children call C_Initialize): the lock is taken around
// fork() and released on both sides.
const int g_atfork_registered =
    pthread_atfork([] { g_mutex.lock(); }, [] { g_mutex.unlock(); }, [] { g_mutex.unlock(); });

}  // namespace

void count_call(std::string_view function, CK_RV rv) noexcept {
    try {
        std::lock_guard lock(g_mutex);
        ++table()[{function, rv}];
    } catch (...) {
        // Out of memory: the call goes uncounted rather than failing.
    }
}

std::vector<CallCount> call_counts() {
    std::lock_guard lock(g_mutex);
    std::vector<CallCount> out;
    out.reserve(table().size());
    for (const auto& [key, n] : table()) out.push_back({key.first, key.second, n});
    return out;
}

}  // namespace keyward::p11
