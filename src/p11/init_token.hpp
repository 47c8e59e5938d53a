// SPDX-License-Identifier: Apache-2.0
// Creating a new token: C_InitToken on a free slot, then the user PIN (C_InitPIN as SO).
// Used by "keyward init --softhsm" and by the test fixture.
#pragma once

#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::p11 {

/// Initialises the first slot holding an uninitialised token (SoftHSM always offers one) with
/// `label` and `so_pin`, then sets `user_pin`. softhsm2_conf, when non-empty, is exported as
/// SOFTHSM2_CONF before the module loads. Errors: Errc::already_exists when a token with that
/// label exists; Errc::hsm_unavailable when the module will not load or has no free slot;
/// Errc::bad_config for a label over 32 bytes or an empty PIN; Errc::hsm_error otherwise.
Status init_token(const std::string& module_path, const std::string& softhsm2_conf,
                  const std::string& label, const SecretString& so_pin,
                  const SecretString& user_pin);

}  // namespace keyward::p11
