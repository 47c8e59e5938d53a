// SPDX-License-Identifier: Apache-2.0
#include "request_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace keyward::service {

RequestLog::RequestLog(int fd, std::size_t cap) : fd_(fd), cap_(cap) {}

RequestLog::~RequestLog() {
    flush();
}

void RequestLog::request(std::string_view method, std::string_view path, unsigned status,
                         std::chrono::steady_clock::duration took,
                         std::string_view principal) noexcept {
    const double ms = std::chrono::duration<double, std::milli>(took).count();
    const std::string_view who = principal.empty() ? std::string_view("-") : principal;
    char line[512];
    const int n = std::snprintf(
        line, sizeof line, "keywardd: %.*s %.*s %u %.1fms %.*s\n",
        static_cast<int>(std::min<std::size_t>(method.size(), 16)), method.data(),
        static_cast<int>(std::min<std::size_t>(path.size(), 300)), path.data(), status, ms,
        static_cast<int>(std::min<std::size_t>(who.size(), 64)), who.data());
    if (n <= 0) return;
    append(std::string_view(line,
                            std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1)));
}

void RequestLog::append(std::string_view text) noexcept {
    std::lock_guard lock(pending_mutex_);
    if (pending_.size() + text.size() > cap_) {
        ++dropped_;
        return;
    }
    try {
        pending_.append(text);
    } catch (...) {
        ++dropped_;
    }
}

void RequestLog::line(std::string_view text) noexcept {
    try {
        append("keywardd: " + std::string(text) + "\n");
    } catch (...) {
        return;
    }
    flush();
}

void RequestLog::flush() noexcept {
    std::lock_guard writing(write_mutex_);
    std::string batch;
    std::uint64_t dropped = 0;
    {
        std::lock_guard lock(pending_mutex_);
        batch.swap(pending_);
        dropped = dropped_;
        dropped_ = 0;
    }
    if (dropped != 0) {
        char note[96];
        const int n = std::snprintf(note, sizeof note,
                                    "keywardd: %llu request log lines dropped (stderr too slow)\n",
                                    static_cast<unsigned long long>(dropped));
        if (n > 0) {
            try {
                batch.append(note, static_cast<std::size_t>(n));
            } catch (...) {
            }
        }
    }
    std::size_t done = 0;
    while (done < batch.size()) {
        const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // a closed stderr loses these lines, never a request
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace keyward::service
