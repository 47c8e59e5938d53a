// SPDX-License-Identifier: Apache-2.0
// A keyring's policy as keyring show, config and trim print it.
#pragma once

#include <string>

#include "keyward/json.hpp"
#include "keyward/keyward.hpp"

namespace keyward::cli {

/// "policy": {...} as a field of an open JSON object.
void keyring_policy_json(Json& j, const KeyringPolicy& p);
/// Indented lines for the text output of keyring show.
std::string keyring_policy_text(const KeyringPolicy& p);

}  // namespace keyward::cli
