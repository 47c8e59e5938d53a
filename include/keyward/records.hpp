// SPDX-License-Identifier: Apache-2.0
// Records in the public API: wallets and credentials stored as versioned envelopes, their
// metadata (never their values), rotation policies, lifecycle and the queries over them.
// docs/RECORDS.md describes the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/export.hpp"

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/maintenance.hpp"

namespace keyward {

/// A record tag: key [A-Za-z0-9._-]{1,64}, value up to 256 printable characters.
using Tag = std::pair<std::string, std::string>;

/// When a record's value should be replaced. rotate_after_days 0 means no rotation policy.
struct RotationPolicy {
    std::uint32_t rotate_after_days = 0;
    std::uint32_t warn_before_days = 0;
    bool auto_rotate = false;  ///< `rotate-secret --due` replaces it with a generated value
    friend bool operator==(const RotationPolicy&, const RotationPolicy&) = default;
};

/// The longest rotation or warning period, in days (100 years).
inline constexpr std::uint32_t kMaxPolicyDays = 36500;

/// The policy a new record of this kind gets when none is given (docs/RECORDS.md has the
/// table); no policy for an unknown kind.
KEYWARD_API RotationPolicy default_rotation_policy(std::string_view kind) noexcept;

/// "KEY=VALUE" (a --tag option, a tag of an import line), checked against the tag rules.
/// Errc::usage naming the rule it breaks.
KEYWARD_API Result<Tag> parse_tag(const std::string& text);

/// A namespace name: a lowercase letter or digit, then [a-z0-9._-], at most 64 characters.
/// Errc::usage naming the rule.
KEYWARD_API Status check_namespace(const std::string& ns);

/// Where a record is in its lifecycle (docs/RECORDS.md). `expired` is an active record past
/// its expiry, judged when it is read and never stored; the others are stored.
enum class RecordState : std::uint8_t { active, expired, revoked, deleted, purged };

/// The state's name in the database, JSON and the CLI: "active", "expired", "revoked",
/// "deleted", "purged".
constexpr std::string_view record_state_name(RecordState s) noexcept {
    switch (s) {
        case RecordState::active:
            return "active";
        case RecordState::expired:
            return "expired";
        case RecordState::revoked:
            return "revoked";
        case RecordState::deleted:
            return "deleted";
        case RecordState::purged:
            return "purged";
    }
    return "unknown";
}

/// The state a name stands for; nullopt for any other text.
constexpr std::optional<RecordState> parse_record_state(std::string_view name) noexcept {
    for (auto s : {RecordState::active, RecordState::expired, RecordState::revoked,
                   RecordState::deleted, RecordState::purged}) {
        if (record_state_name(s) == name) return s;
    }
    return std::nullopt;
}

/// A wallet or credential: address, kind, state and metadata (never its value).
struct RecordInfo {
    std::string ns, name, kind;
    RecordState state = RecordState::active;  ///< expired when past expires_at, judged when read
    std::uint32_t latest = 0;  ///< newest version ever made (kept by a purged tombstone)
    std::string description;
    std::vector<Tag> tags;  ///< key order
    std::string created_at, created_by, updated_at, updated_by;
    std::string expires_at;       ///< of the latest version; "" when none
    std::string value_since;      ///< when the latest value was first stored (restore keeps it)
    RotationPolicy policy;        ///< rotate_after_days 0: none
    std::string rotation_due_at;  ///< value_since + rotate_after_days; "" without a policy
    std::uint32_t generate_bytes = 0;  ///< length rotate-secret generates; 0 when unset
};

/// One stored version of a record, its envelope unopened.
struct RecordVersion {
    std::uint32_t version = 0;
    /// KWE1, sealed with context "record:NS/NAME#V"; empty for a principal whose grants allow
    /// metadata but not reading the value (docs/ACCESS.md).
    Bytes envelope;
    std::string keyring;
    std::uint32_t kek_version = 0;
    std::string created_at, created_by, expires_at;
    std::string value_since;
    std::string origin;  ///< put, generate, import, rotate-secret or restore:N
};

/// What a put sets besides the value.
struct PutOptions {
    std::string kind;
    /// ISO 8601 (normalised by the caller or not); "" means none, except for a
    /// client_certificate, whose expiry is then read from the PEM certificate's notAfter.
    std::string expires_at;
    std::optional<std::string> description;  ///< nullopt: unchanged ("" on a new record)
    std::vector<Tag> tags;                   ///< merged into the record's tags
    /// nullopt: the kind's default for a new record, unchanged for an existing one.
    std::optional<RotationPolicy> policy;
};

/// A metadata change that makes no new version.
struct MetadataUpdate {
    std::optional<std::string> description;
    std::vector<Tag> set_tags;
    std::vector<std::string> remove_tags;
    std::optional<RotationPolicy> policy;
    std::optional<std::string> expires_at;  ///< of the latest version; "" removes it
    std::optional<std::uint32_t> generate_bytes;
};

/// Which records a query returns. Empty strings and nullopt match anything; deleted and purged
/// records are listed only when state names them.
struct RecordFilter {
    std::string ns, kind;
    std::optional<RecordState> state;  ///< the state as a reader sees it (expired included)
    std::optional<std::uint32_t> expiring_days;  ///< not yet expired, expiring within N days
    std::vector<Tag> tags;                       ///< every one must match
};

struct RecordStats {
    std::uint64_t records = 0;  ///< every record that is not purged
    std::vector<std::pair<std::string, std::uint64_t>> by_kind, by_namespace, by_state;
    std::uint64_t expiring_7_days = 0, expiring_30_days = 0;
    std::uint64_t without_rotation_policy = 0;
    std::uint64_t due_for_rotation = 0;  ///< live records past their rotation date
};

/// One record of a bulk put (keyward import).
struct ImportItem {
    std::size_t line = 0;  ///< where it came from, for the caller's report
    std::string name;
    PutOptions options;
    SecretBytes value;
};

/// What happened to one ImportItem: version > 0 when stored, else the refusal.
struct ImportOutcome {
    std::size_t line = 0;
    std::string name;
    std::uint32_t version = 0;
    int exit_code = 0;
    std::string error;
};

struct HealthReport {
    bool token_reachable = false, logged_in = false;
    std::string token_label, token_serial;
    std::string database_path;
    std::string database_integrity;  ///< "ok" or SQLite's first complaint
    std::uint64_t database_bytes = 0, wal_bytes = 0;
    std::uint64_t records = 0, due_for_rotation = 0, rotation_warning = 0, expired = 0,
                  expiring_30_days = 0, revoked = 0, deleted = 0;
    std::vector<std::string> recommendations;  ///< sentences; empty when nothing to do
    /// What the token contradicts about KEK versions (Keyward::kek_findings).
    std::vector<KekFinding> kek_findings;
    /// Grant rows whose token MAC does not verify (ignored), as "ID (PRINCIPAL ROLE on SCOPE)".
    std::vector<std::string> invalid_grants;
    /// Proposal rows whose token MAC does not verify (ignored), by id.
    std::vector<std::string> invalid_proposals;
    /// Break-glass grants in force, as "PRINCIPAL ROLE on SCOPE until T: REASON".
    std::vector<std::string> break_glass;
    /// The audit log: "ok", or what `audit verify` found.
    std::string audit = "ok";
    bool healthy() const {
        return token_reachable && logged_in && database_integrity == "ok" && kek_findings.empty() &&
               invalid_grants.empty() && invalid_proposals.empty() && audit == "ok";
    }
};

}  // namespace keyward
