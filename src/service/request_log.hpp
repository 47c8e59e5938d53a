// SPDX-License-Identifier: Apache-2.0
// keywardd's request log: one line per request on stderr (method, path, status, duration,
// principal; never a body, a token or a query value). Lines are gathered and written in one
// write(2) at most every flush interval, or at once when the buffer fills, because a write per
// request cost the I/O thread a system call per request (docs/PERFORMANCE.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace keyward::service {

class RequestLog {
  public:
    /// fd: where lines go (2). Lines wait at most until the next flush(), which keywardd calls
    /// every 20 ms, or until capacity bytes are waiting.
    explicit RequestLog(int fd = 2, std::size_t capacity = 16u << 10);
    ~RequestLog();
    RequestLog(const RequestLog&) = delete;
    RequestLog& operator=(const RequestLog&) = delete;

    void request(std::string_view method, std::string_view path, unsigned status,
                 std::chrono::steady_clock::duration took, std::string_view principal);
    /// Any other line (start-up, drain, TLS reload): flushed with what waits, so that lines
    /// keep their order.
    void line(std::string_view text);
    /// Writes what waits.
    void flush();

  private:
    void flush_locked();

    int fd_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::string pending_;
};

}  // namespace keyward::service
