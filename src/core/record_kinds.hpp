// SPDX-License-Identifier: Apache-2.0
// The record kinds of docs/CLI.md and what each kind implies: its default rotation policy and
// whether keyward may generate its value. docs/RECORDS.md has the table and the reasons.
#pragma once

#include <string>
#include <string_view>

#include "keyward/records.hpp"

namespace keyward::core {

bool is_record_kind(std::string_view kind) noexcept;

/// "wallet, api_key, ...", for messages and help.
std::string record_kinds_text();

// default_rotation_policy(kind) is public: keyward/records.hpp.

/// Kinds whose value is a random secret keyward may make itself (put --generate,
/// rotate-secret). Wallet keys, third-party tokens, usernames and certificates are not.
bool kind_allows_generation(std::string_view kind) noexcept;

/// "api_key, ...": the kinds that may be generated, for messages.
std::string generated_kinds_text();

}  // namespace keyward::core
