// SPDX-License-Identifier: Apache-2.0
// KEK findings (what the token contradicts in the database) as health and validate print them.
#pragma once

#include <optional>
#include <vector>

#include "keyward/error.hpp"
#include "keyward/json.hpp"
#include "keyward/maintenance.hpp"

namespace keyward::cli {

/// A JSON array of {"keyring", "version", "code", "refused", "message"}.
void kek_findings_json(Json& j, const std::vector<KekFinding>& findings);

/// "finding: MESSAGE" lines.
std::string kek_findings_text(const std::vector<KekFinding>& findings);

/// The error a command ends with when a KEK version was refused: token_mismatch (exit 6) with
/// the first refusal's message; nullopt when none was.
std::optional<Error> first_refusal(const std::vector<KekFinding>& findings);

}  // namespace keyward::cli
