// SPDX-License-Identifier: Apache-2.0
// Process-wide counts of C_* calls by function and CK_RV, for keywardd's metrics (HSM calls
// and errors by CK_RV). Every call through the KW_P11_CALL funnel is counted; only the
// function's name and its return value are kept.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "p11/pkcs11.hpp"

namespace keyward::p11 {

struct CallCount {
    std::string_view function;  ///< a string literal: the funnel's #fn
    CK_RV rv = CKR_OK;
    std::uint64_t count = 0;
};

/// Adds one to (function, rv). `function` must outlive the process (a literal).
void count_call(std::string_view function, CK_RV rv) noexcept;

/// Every (function, rv) seen so far, sorted by function then rv.
std::vector<CallCount> call_counts();

}  // namespace keyward::p11
