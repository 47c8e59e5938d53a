// SPDX-License-Identifier: Apache-2.0
// A file descriptor closed when its owner dies (PIN files, the SoftHSM login lock and copies).
#pragma once

#include <unistd.h>

#include <utility>

namespace keyward {

class UniqueFd {
  public:
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    /// Gives the descriptor up without closing it (to close it by hand and check the result).
    int release() noexcept { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

}  // namespace keyward
