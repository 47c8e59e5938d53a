// SPDX-License-Identifier: Apache-2.0
#include "request_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace keyward::service {

RequestLog::RequestLog(int fd, std::size_t capacity) : fd_(fd), capacity_(capacity) {
    pending_.reserve(capacity_ + 512);
}

RequestLog::~RequestLog() {
    flush();
}

void RequestLog::request(std::string_view method, std::string_view path, unsigned status,
                         std::chrono::steady_clock::duration took, std::string_view principal) {
    const double ms = std::chrono::duration<double, std::milli>(took).count();
    char figures[48];
    std::snprintf(figures, sizeof figures, " %u %.1fms ", status, ms);
    std::lock_guard lock(mutex_);
    pending_.append("keywardd: ").append(method).append(" ").append(path).append(figures);
    pending_.append(principal.empty() ? std::string_view("-") : principal).append("\n");
    if (pending_.size() >= capacity_) flush_locked();
}

void RequestLog::line(std::string_view text) {
    std::lock_guard lock(mutex_);
    pending_.append("keywardd: ").append(text).append("\n");
    flush_locked();
}

void RequestLog::flush() {
    std::lock_guard lock(mutex_);
    flush_locked();
}

void RequestLog::flush_locked() {
    std::size_t done = 0;
    while (done < pending_.size()) {
        const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // a closed or full stderr drops the log, never the request
        done += static_cast<std::size_t>(n);
    }
    pending_.clear();
}

}  // namespace keyward::service
