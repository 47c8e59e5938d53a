// SPDX-License-Identifier: Apache-2.0
// The audit log (docs/AUDIT.md): one entry per operation through any door, chained with
// SHA-256, the chain head MAC'd in the token per commit, checkpoints kept in the token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keyward {

/// One audit entry. Never holds a value, PIN, plaintext, key or token.
struct AuditEntry {
    std::uint64_t seq = 0;
    std::string at;         ///< ISO 8601 UTC with milliseconds
    std::string principal;  ///< whose rights the operation used
    std::string actor;      ///< who acted as that principal (`--principal`), else ""
    std::string operation;  ///< e.g. "record.get", "keyring.rotate", "access.grant"
    std::string target;     ///< "NS/NAME#V", "keyring:NAME/vN", "grant:ID", "*"...
    std::string outcome;    ///< ok, denied, failed
    std::string error;      ///< failed/denied: the error's name (auth_failed, access_denied)
    std::string detail;     ///< what else is safe to say (role granted, versions, counts)
    std::string client_address, user_agent, request_id, reason;
    std::string prev_hash, hash;  ///< hex
    bool head = false;            ///< the chain head of a commit: MAC'd in the token
};

struct AuditQuery {
    std::string since, until;  ///< ISO 8601 UTC bounds (inclusive); "" for none
    std::string principal, operation, target, outcome;  ///< exact match; "" for any
    std::size_t limit = 0;                              ///< 0: all
};

/// What `audit verify` found. ok only when every check passed.
struct AuditVerifyReport {
    bool ok = false;
    std::uint64_t entries = 0;    ///< entries checked
    std::uint64_t first_seq = 0;  ///< first entry kept (after archives)
    std::uint64_t last_seq = 0;
    std::uint64_t macs_checked = 0;    ///< chain heads verified in the token
    std::uint64_t checkpoint_seq = 0;  ///< the token's latest checkpoint covers up to here
    std::string checkpoint_at;
    std::string checkpoint_reason;
    std::uint64_t bad_seq = 0;  ///< first bad entry (0 when the problem is not one entry)
    std::string problem;        ///< one line; "" when ok
};

/// What `audit archive` moved out.
struct AuditArchiveReport {
    std::uint64_t entries = 0;
    std::uint64_t first_seq = 0, last_seq = 0;
    std::string path;
};

}  // namespace keyward
