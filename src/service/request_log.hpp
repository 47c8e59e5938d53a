// SPDX-License-Identifier: Apache-2.0
// keywardd's request log: one line per request on stderr (method, path, status, duration,
// principal; never a body, a token or a query value). Lines are gathered and written in one
// write(2) every flush interval by keywardd's watcher thread, because a write per request cost
// the I/O thread a system call per request (docs/PERFORMANCE.md). Request threads only
// append under a short lock and never write, so a stderr that blocks (a full pipe) stalls the
// log, never a request; past a cap, lines are dropped and counted.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace keyward::service {

class RequestLog {
  public:
    /// fd: where lines go (2). At most cap bytes wait; more lines are dropped and counted.
    explicit RequestLog(int fd = 2, std::size_t cap = 1u << 20);
    ~RequestLog();
    RequestLog(const RequestLog&) = delete;
    RequestLog& operator=(const RequestLog&) = delete;

    /// Never throws: a line that cannot be stored is counted as dropped.
    void request(std::string_view method, std::string_view path, unsigned status,
                 std::chrono::steady_clock::duration took, std::string_view principal) noexcept;
    /// Any other line (drain, TLS reload): written at once, after what waits, so that lines
    /// keep their order.
    void line(std::string_view text) noexcept;
    /// Writes what waits (and how many lines were dropped, if any).
    void flush() noexcept;

  private:
    void append(std::string_view text) noexcept;

    int fd_;
    std::size_t cap_;
    std::mutex pending_mutex_;  // appending; held for a copy, never across write(2)
    std::string pending_;
    std::uint64_t dropped_ = 0;
    std::mutex write_mutex_;  // one writer at a time, so batches keep their order
};

}  // namespace keyward::service
