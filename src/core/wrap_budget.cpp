// SPDX-License-Identifier: Apache-2.0
// Durable, block-reserved counting of suite 2 wraps (see wrap_budget.hpp).
#include "core/wrap_budget.hpp"

#include <algorithm>

namespace keyward::core {

Status WrapBudget::take(const std::string& keyring, std::uint32_t version) {
    std::lock_guard lock(mutex_);
    auto& r = reservations_[{keyring, version}];
    if (r.remaining == 0) {
        auto reserved = store_.reserve_wraps(keyring, version, r.next_block, limit_);
        // Near the limit, reserve only one, so the last wraps stay usable.
        if (!reserved.ok() && reserved.error().code() == Errc::limit_reached && r.next_block > 1) {
            r.next_block = 1;
            reserved = store_.reserve_wraps(keyring, version, 1, limit_);
        }
        if (!reserved.ok()) return reserved.error();
        r.remaining = r.next_block;
        r.next_block = std::min(r.next_block * 2, block_);
    }
    --r.remaining;
    return {};
}

}  // namespace keyward::core
