// SPDX-License-Identifier: Apache-2.0
// Access control (docs/ACCESS.md): principals, roles granted on a namespace, a keyring or
// everything, and the two-person rule for destructive operations.
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyward {

/// What a grant allows on its scope. reader: get, open, decrypt and metadata. writer: put,
/// seal, encrypt, rewrap, datakey, plus reader. rotator: rotate, rollback, rotate-secret, and
/// metadata. auditor: audit list, verify and export, compliance, and metadata, never a value.
/// admin: everything, grants, retire, purge, compromise and keyring creation included.
enum class Role : std::uint8_t { reader, writer, rotator, auditor, admin };

KEYWARD_API std::string_view role_name(Role role) noexcept;
KEYWARD_API std::optional<Role> parse_role(std::string_view name) noexcept;

/// Who is calling, for the access checks and the audit log. Set on a handle's thread with
/// Keyward::act_as; fields left empty are not logged. Never a secret: every field is logged.
struct CallContext {
    std::string principal;       ///< empty: the handle's principal
    std::string client_address;  ///< e.g. "192.0.2.7:51234" (keywardd)
    std::string user_agent;
    std::string request_id;
    std::string reason;  ///< why, as the caller said it
};

/// A grant as stored: `scope` is "*", a namespace name, or "keyring:NAME".
struct GrantInfo {
    std::string id;  ///< random, 32 hex digits
    std::string principal;
    Role role = Role::reader;
    std::string scope;
    std::string created_at, created_by;
    std::string expires_at;  ///< ISO 8601 UTC; "" for none
    bool break_glass = false;
    std::string reason;
    bool expired = false;  ///< expires_at has passed: the grant allows nothing
};

struct GrantRequest {
    std::string principal;
    Role role = Role::reader;
    std::string scope;
    std::string expires_at;  ///< ISO 8601 UTC; "" for none (break-glass: at most one hour)
    bool break_glass = false;
    std::string reason;  ///< required for break-glass
};

/// A service token for keywardd's clients (docs/SERVICE.md): the credential a principal presents
/// over HTTP. The token itself is shown once, at creation; the database keeps only an HMAC of
/// it made in the token (HSM), so a database writer can neither read one nor mint one.
struct ServiceTokenRequest {
    std::string principal;
    std::int64_t ttl_seconds = 0;      ///< 0: never expires
    bool renewable = false;            ///< renew-self extends it by its ttl, up to max_ttl
    std::int64_t max_ttl_seconds = 0;  ///< renewable: never past creation + this (0: 32 days)
};

struct ServiceTokenInfo {
    std::string id;  ///< 16 hex digits, public: token list and revoke name it
    std::string principal;
    std::string created_at, created_by;
    std::string expires_at;  ///< ISO 8601 UTC; "" for never
    std::int64_t ttl_seconds = 0;
    bool renewable = false;
    std::string max_expires_at;  ///< "" for none
    std::string revoked_at;      ///< "" while not revoked
    bool expired = false;        ///< expires_at has passed
};

/// Operations that need a second admin when the config's two_person_rule is on.
enum class GuardedOperation : std::uint8_t {
    retire,
    purge,
    compromise,
    audit_rotate_key,
    delete_keyring,
};

KEYWARD_API std::string_view guarded_operation_name(GuardedOperation op) noexcept;
KEYWARD_API std::optional<GuardedOperation> parse_guarded_operation(std::string_view) noexcept;

/// A proposal of a guarded operation, waiting for a different admin's approval.
struct Proposal {
    std::string id;  ///< random, 16 hex digits
    GuardedOperation operation = GuardedOperation::retire;
    /// retire/compromise: "KEYRING/VERSION"; purge: "NS/NAME"; audit_rotate_key: "audit";
    /// delete_keyring: "KEYRING".
    std::string target;
    std::string proposed_by, proposed_at, expires_at;
    std::string state;  ///< pending, done, failed, expired
    std::string approved_by, approved_at;
    std::string reason;
};

}  // namespace keyward
