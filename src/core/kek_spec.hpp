// The KEK attribute contract of spec/ENVELOPE.md as a check on read-back attributes: used to
// decide whether an object found in the token may be adopted, and by the compliance run later.
#pragma once

#include <optional>
#include <string>

#include "core/hsm.hpp"

namespace keyward::core {

/// nullopt when attrs are exactly the spec's for the suite; else the first attribute that
/// differs, as "CKA_EXTRACTABLE is TRUE, the spec requires FALSE". CKA_MODIFIABLE must be
/// FALSE: an object someone could still change is never adopted (on a token that cannot make
/// non-modifiable keys, a crash leftover is refused and must be removed by hand).
std::optional<std::string> kek_spec_mismatch(const KekAttributes& attrs, Suite suite);

}  // namespace keyward::core
