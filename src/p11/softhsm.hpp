// SPDX-License-Identifier: Apache-2.0
// Where SoftHSMv2's PKCS#11 module is on this machine (the embedded default token).
#pragma once

#include <optional>
#include <string>

namespace keyward::p11 {

/// The configured module (meson -Dsofthsm_module=..., KEYWARD_SOFTHSM_MODULE) when set,
/// else the first of Debian's and /usr/local's usual paths that exists; nullopt when none.
std::optional<std::string> find_softhsm_module();

}  // namespace keyward::p11
