// SPDX-License-Identifier: Apache-2.0
// Process-wide counters for monitoring (keywardd's /v1/sys/metrics): the PKCS#11 calls this
// process made, by function and CK_RV. Names and return values only, never an argument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keyward/export.hpp"

namespace keyward {

struct HsmCallCount {
    std::string function;  ///< "C_WrapKey"
    std::string result;    ///< the CK_RV's name, "CKR_OK" or "CKR_0x..." for an unknown one
    std::uint64_t count = 0;
};

/// Every (function, result) pair seen by this process since it started.
KEYWARD_API std::vector<HsmCallCount> hsm_call_counts();

}  // namespace keyward
