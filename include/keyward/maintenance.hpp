// SPDX-License-Identifier: Apache-2.0
// Maintenance in the public API: validation (does every stored record version still open?)
// and online backups of the database with the token binding and KEK versions they need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keyward {

/// How many stored record versions one KEK version protects, as validation saw them.
struct KekVersionCount {
    std::string keyring;
    std::uint32_t version = 0;
    std::uint64_t records = 0;  ///< record versions checked under this KEK version
    std::uint64_t failed = 0;   ///< of those, how many did not open
};

/// A record version that did not open.
struct ValidationFailure {
    std::string record;  ///< "NS/NAME"
    std::uint32_t version = 0;
    std::string code;   ///< errc_name() of the error ("auth_failed")
    std::string error;  ///< one line
};

/// Something the token contradicts in what the database says about a KEK version.
struct KekFinding {
    std::string keyring;  ///< empty for a finding about the token's ledger itself
    std::uint32_t version = 0;
    /// errc_name of the start-up refusal ("token_mismatch"...), "state_disagreement" (the
    /// token recorded a graver state than the database holds), or "unreadable_ledger_object".
    std::string code;
    std::string message;   ///< one line: what is wrong and what to do
    bool refused = false;  ///< the version failed its start-up checks and is refused for any use
};

/// Outcome of Keyward::validate.
struct ValidationReport {
    std::uint64_t checked = 0, opened = 0, failed = 0;
    /// Failures per error code name, in name order.
    std::vector<std::pair<std::string, std::uint64_t>> failed_by_code;
    /// Per KEK version (keyring, then version order) that sealed a checked version.
    std::vector<KekVersionCount> by_kek_version;
    /// The first failures (as many as validate's max_failures), in the order they were found.
    std::vector<ValidationFailure> failures;
    /// What the token contradicts (Keyward::kek_findings), found before any record was opened.
    std::vector<KekFinding> kek_findings;
    bool all_opened() const { return failed == 0; }
};

/// How many failures a ValidationReport lists by default.
inline constexpr std::size_t kMaxValidationFailures = 20;

/// A KEK version a backup needs the token to still hold.
struct BackupKek {
    std::string keyring;
    std::uint32_t version = 0;
    std::string state;  ///< as in keyring show: active, decrypt-only, ...
    std::string label;  ///< token object label
};

/// What a backup snapshot holds, read back from the snapshot itself.
struct BackupInfo {
    std::string path;
    std::string created_at;  ///< ISO 8601 UTC, when the snapshot was taken
    std::string token_serial, token_label;
    int schema_version = 0;
    std::uint64_t records = 0;            ///< records that are not purged
    std::uint64_t record_versions = 0;    ///< stored versions (envelopes)
    std::vector<BackupKek> kek_versions;  ///< every version that is not destroyed
    /// restore_backup: versions the backup held as live that the token had recorded
    /// compromised or destroyed since, written back into the restored database.
    std::vector<BackupKek> reapplied_states;
};

}  // namespace keyward
