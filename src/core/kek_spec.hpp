// SPDX-License-Identifier: Apache-2.0
// The KEK attribute contract of docs/FORMAT.md as a check on read-back attributes: used to
// decide whether an object found in the token may be adopted, and by the compliance run later.
#pragma once

#include <optional>
#include <string>

#include "core/hsm.hpp"

namespace keyward::core {

/// nullopt when attrs are exactly what keyward generates for the suite; else the first attribute
/// that differs, as "CKA_EXTRACTABLE is TRUE, the spec requires FALSE". Checked before a KEK's
/// first use in a process and before a crash leftover is adopted. CKA_MODIFIABLE must be FALSE
/// and CKA_LOCAL TRUE (generated inside the token, never imported with a known value).
/// modifiable_allowed: accept CKA_MODIFIABLE = TRUE, for a token that cannot make a
/// non-modifiable key (docs/FORMAT.md: FALSE "where the token allows it").
std::optional<std::string> kek_spec_mismatch(const KekAttributes& attrs, Suite suite,
                                             bool modifiable_allowed = false);

/// nullopt when attrs are exactly the audit key's (docs/AUDIT.md): CKO_SECRET_KEY,
/// CKK_GENERIC_SECRET of 32 bytes, private, sensitive, never extractable, generated in the token,
/// CKA_SIGN and CKA_VERIFY only, not modifiable (unless modifiable_allowed); else the first
/// attribute that differs.
std::optional<std::string> mac_key_spec_mismatch(const KekAttributes& attrs,
                                                 bool modifiable_allowed = false);

}  // namespace keyward::core
