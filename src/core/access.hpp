// SPDX-License-Identifier: Apache-2.0
// Access control (docs/ACCESS.md): which permission each operation needs on which resource,
// which roles give it, and the grants, whose rows count only when their MAC verifies in the
// token (a database writer cannot mint access).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/audit_key.hpp"
#include "core/store.hpp"
#include "keyward/access.hpp"

namespace keyward::core {

enum class Permission : std::uint8_t { metadata, read, write, rotate, audit, admin };

/// What an operation touches: everything (database-wide operations), a namespace (with the
/// keyring its records are sealed under), or a keyring.
struct Resource {
    enum class Kind : std::uint8_t { everything, name_space, keyring } kind = Kind::everything;
    std::string name;     ///< namespace or keyring name
    std::string keyring;  ///< a namespace's keyring ("" when unknown)

    static Resource all() { return {}; }
    static Resource of_keyring(std::string k) { return {Kind::keyring, k, k}; }
    static Resource of_namespace(std::string ns, std::string keyring) {
        return {Kind::name_space, std::move(ns), std::move(keyring)};
    }
    /// "*", "NS" or "keyring:NAME": the scope a grant needs to cover this resource.
    std::string scope() const;
};

/// Whether a role gives the permission (admin gives every one).
bool role_gives(Role role, Permission permission);
/// Whether a grant of `scope` covers the resource.
bool scope_covers(const std::string& scope, const Resource& resource);
/// The least role that gives the permission, for denial messages.
Role least_role_for(Permission permission);
/// Errc::usage unless scope is "*", a valid namespace name or "keyring:" + a keyring name.
Status check_scope(const std::string& scope);

/// A grant row and whether it counts: its MAC verifies in the token and it has not expired.
struct GrantCheck {
    GrantRow row;
    bool mac_ok = false;
};

class Access {
  public:
    Access(Store& store, AuditKey& key) : store_(store), key_(key) {}

    /// ok when one of the principal's counting grants gives the permission on the resource;
    /// else Errc::access_denied naming the least role that would and the resource's scope.
    Status check(const std::string& principal, Permission permission, const Resource& resource,
                 const std::string& operation);
    Result<bool> allows(const std::string& principal, Permission permission,
                        const Resource& resource);

    /// Grants of one principal (all when empty) with their MAC verdicts.
    Result<std::vector<GrantCheck>> checked_grants(const std::string& principal);

    /// Stores a grant MAC'd in the token. Break-glass: a reason is required and the grant
    /// lasts at most one hour (one hour when no expiry is given).
    Result<GrantInfo> grant(const GrantRequest& request, const std::string& by);
    Result<std::size_t> revoke(const std::string& principal, Role role, const std::string& scope);

    /// Whether any counting grant makes someone admin of "*".
    Result<bool> has_admin_of_everything();

    /// How long a principal's grant rows are reused before the database is read again: a
    /// grant or revoke made by another process takes effect within this (at once in this one).
    static constexpr std::chrono::milliseconds kRowsTtl{1000};

  private:
    using Rows = std::shared_ptr<const std::vector<GrantRow>>;
    /// The principal's grant rows, from the cache while they are fresh.
    Result<Rows> rows_of(const std::string& principal);
    void forget_rows();

    /// Whether the row's MAC verifies (cached per row content, so a row is checked in the
    /// token once per process until it changes).
    Result<bool> row_verifies(const GrantRow& row);

    Store& store_;
    AuditKey& key_;
    std::mutex cache_mutex_;
    std::map<std::string, Bytes> verified_;  // grant id -> MAC message + tag it verified with
    struct CachedRows {
        Rows rows;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::string, CachedRows> rows_cache_;
    // Bumped by every grant and revoke made here: rows read before one are not cached after it.
    std::uint64_t rows_generation_ = 0;
};

}  // namespace keyward::core
