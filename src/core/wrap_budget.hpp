// SPDX-License-Identifier: Apache-2.0
// Counts suite 2 (GCM) wraps per KEK version durably, as NIST SP 800-38D limits a key to 2^32
// random-IV encryptions. Wraps are reserved from the database in blocks so that a seal does not
// cost a synchronous commit; a crash forfeits the unused part of a block, which errs on the
// safe side (the counter over-counts, never under-counts). Blocks start at 1 and double up to
// the configured size, so a one-shot CLI process forfeits nothing and a busy service soon
// commits once per `block` wraps.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/store.hpp"

namespace keyward::core {

class WrapBudget {
  public:
    WrapBudget(Store& store, std::uint64_t limit, std::uint64_t block)
        : store_(store), limit_(limit), block_(block == 0 ? 1 : block) {}

    /// Takes one wrap for (keyring, version), reserving a block when none is left in memory.
    /// Errc::limit_reached once the durable counter would pass the limit.
    Status take(const std::string& keyring, std::uint32_t version);

    std::uint64_t limit() const noexcept { return limit_; }

  private:
    Store& store_;
    std::uint64_t limit_;
    std::uint64_t block_;
    std::mutex mutex_;
    struct Reservation {
        std::uint64_t remaining = 0;
        std::uint64_t next_block = 1;
    };
    std::map<std::pair<std::string, std::uint32_t>, Reservation> reservations_;
};

}  // namespace keyward::core
