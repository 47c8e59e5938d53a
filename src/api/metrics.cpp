// SPDX-License-Identifier: Apache-2.0
// keyward/metrics.hpp over the PKCS#11 funnel's counters.
#include "keyward/metrics.hpp"

#include "p11/call_counts.hpp"
#include "p11/rv.hpp"

namespace keyward {

std::vector<HsmCallCount> hsm_call_counts() {
    std::vector<HsmCallCount> out;
    for (const auto& c : p11::call_counts()) {
        out.push_back({std::string(c.function), p11::rv_name(c.rv), c.count});
    }
    return out;
}

}  // namespace keyward
