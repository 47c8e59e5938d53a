// SPDX-License-Identifier: Apache-2.0
// Roles, scopes and MAC-checked grants (see access.hpp).
#include "core/access.hpp"

#include "core/clock.hpp"
#include "core/keyrings.hpp"
#include "crypto/random.hpp"
#include "keyward/config.hpp"
#include "keyward/records.hpp"

namespace keyward {

std::string_view role_name(Role role) noexcept {
    switch (role) {
        case Role::reader:
            return "reader";
        case Role::writer:
            return "writer";
        case Role::rotator:
            return "rotator";
        case Role::auditor:
            return "auditor";
        case Role::admin:
            return "admin";
    }
    return "?";
}

std::optional<Role> parse_role(std::string_view name) noexcept {
    for (Role r : {Role::reader, Role::writer, Role::rotator, Role::auditor, Role::admin}) {
        if (role_name(r) == name) return r;
    }
    return std::nullopt;
}

std::string_view guarded_operation_name(GuardedOperation op) noexcept {
    switch (op) {
        case GuardedOperation::retire:
            return "retire";
        case GuardedOperation::purge:
            return "purge";
        case GuardedOperation::compromise:
            return "compromise";
        case GuardedOperation::audit_rotate_key:
            return "audit-rotate-key";
        case GuardedOperation::delete_keyring:
            return "delete-keyring";
    }
    return "?";
}

std::optional<GuardedOperation> parse_guarded_operation(std::string_view name) noexcept {
    for (auto op : {GuardedOperation::retire, GuardedOperation::purge, GuardedOperation::compromise,
                    GuardedOperation::audit_rotate_key, GuardedOperation::delete_keyring}) {
        if (guarded_operation_name(op) == name) return op;
    }
    return std::nullopt;
}

}  // namespace keyward

namespace keyward::core {

namespace {

constexpr std::int64_t kBreakGlassSeconds = 3600;
constexpr std::string_view kKeyringScope = "keyring:";

bool expired(const GrantInfo& g, const std::string& now) {
    return !g.expires_at.empty() && g.expires_at <= now;
}

}  // namespace

std::string Resource::scope() const {
    switch (kind) {
        case Kind::everything:
            return "*";
        case Kind::name_space:
            return name;
        case Kind::keyring:
            return std::string(kKeyringScope) + name;
    }
    return "*";
}

bool role_gives(Role role, Permission p) {
    switch (role) {
        case Role::admin:
            return true;
        case Role::reader:
            return p == Permission::metadata || p == Permission::read;
        case Role::writer:
            return p == Permission::metadata || p == Permission::read || p == Permission::write;
        case Role::rotator:
            return p == Permission::metadata || p == Permission::rotate;
        case Role::auditor:
            return p == Permission::metadata || p == Permission::audit;
    }
    return false;
}

Role least_role_for(Permission p) {
    switch (p) {
        case Permission::metadata:
        case Permission::read:
            return Role::reader;
        case Permission::write:
            return Role::writer;
        case Permission::rotate:
            return Role::rotator;
        case Permission::audit:
            return Role::auditor;
        case Permission::admin:
            return Role::admin;
    }
    return Role::admin;
}

bool scope_covers(const std::string& scope, const Resource& r) {
    if (scope == "*") return true;
    if (scope.rfind(kKeyringScope, 0) == 0) {
        const std::string ring = scope.substr(kKeyringScope.size());
        return (r.kind == Resource::Kind::keyring && r.name == ring) ||
               (r.kind == Resource::Kind::name_space && !r.keyring.empty() && r.keyring == ring);
    }
    return r.kind == Resource::Kind::name_space && r.name == scope;
}

Status check_scope(const std::string& scope) {
    if (scope == "*") return ok_status();
    if (scope.rfind(kKeyringScope, 0) == 0) {
        auto s = check_keyring_name(scope.substr(kKeyringScope.size()));
        if (!s.ok()) return Error(Errc::usage, "--on " + scope + ": " + s.error().message());
        return ok_status();
    }
    auto s = check_namespace(scope);
    if (!s.ok()) {
        return Error(Errc::usage,
                     "--on takes a namespace, keyring:NAME or *: " + s.error().message());
    }
    return ok_status();
}

Result<bool> Access::row_verifies(const GrantRow& row) {
    const MacMessage message = key_.grant_message(row.grant);
    Bytes fingerprint(message.bytes().begin(), message.bytes().end());
    fingerprint.insert(fingerprint.end(), row.mac.begin(), row.mac.end());
    fingerprint.push_back(static_cast<std::uint8_t>(row.key_version & 0xff));
    {
        std::lock_guard lock(cache_mutex_);
        auto it = verified_.find(row.grant.id);
        if (it != verified_.end() && it->second == fingerprint) return true;
    }
    KW_TRY(bool good, key_.verify(message, row.mac, row.key_version));
    if (good) {
        std::lock_guard lock(cache_mutex_);
        verified_[row.grant.id] = std::move(fingerprint);
    }
    return good;
}

Result<std::vector<GrantCheck>> Access::checked_grants(const std::string& principal) {
    KW_TRY(auto rows, store_.grants(principal));
    const std::string now = utc_now_iso8601();
    std::vector<GrantCheck> out;
    out.reserve(rows.size());
    for (auto& row : rows) {
        GrantCheck c;
        KW_TRY(c.mac_ok, row_verifies(row));
        row.grant.expired = expired(row.grant, now);
        c.row = std::move(row);
        out.push_back(std::move(c));
    }
    return out;
}

Result<Access::Rows> Access::rows_of(const std::string& principal) {
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(cache_mutex_);
        auto it = rows_cache_.find(principal);
        if (it != rows_cache_.end() && now - it->second.at < kRowsTtl) return it->second.rows;
        generation = rows_generation_;
    }
    KW_TRY(auto rows, store_.grants(principal));
    auto shared = std::make_shared<const std::vector<GrantRow>>(std::move(rows));
    std::lock_guard lock(cache_mutex_);
    // A grant or revoke made here while this read ran may not be in it: use it, never keep it.
    if (generation == rows_generation_) rows_cache_[principal] = CachedRows{shared, now};
    return shared;
}

void Access::forget_rows() {
    std::lock_guard lock(cache_mutex_);
    rows_cache_.clear();
    ++rows_generation_;
}

Result<bool> Access::allows(const std::string& principal, Permission p, const Resource& r) {
    KW_TRY(auto rows, rows_of(principal));
    const std::string now = utc_now_iso8601();
    for (const auto& row : *rows) {
        const auto& g = row.grant;
        if (g.principal != principal || expired(g, now) || !role_gives(g.role, p) ||
            !scope_covers(g.scope, r)) {
            continue;
        }
        KW_TRY(bool good, row_verifies(row));
        if (good) return true;
    }
    return false;
}

Status Access::check(const std::string& principal, Permission p, const Resource& r,
                     const std::string& operation) {
    KW_TRY(bool ok, allows(principal, p, r));
    if (ok) return ok_status();
    const std::string role =
        p == Permission::metadata ? "a role" : "role " + std::string(role_name(least_role_for(p)));
    return Error(Errc::access_denied, "access denied: " + principal + " needs " + role + " on " +
                                          r.scope() + " for " + operation);
}

Result<GrantInfo> Access::grant(const GrantRequest& req, const std::string& by) {
    if (!valid_principal_name(req.principal)) {
        return Error(Errc::usage,
                     "a principal is 1-64 letters, digits or ._@- starting with a "
                     "letter or digit");
    }
    KW_TRY_STATUS(check_scope(req.scope));
    GrantInfo g;
    Bytes id(16);
    KW_TRY_STATUS(crypto::random_bytes(id));
    g.id = to_hex(id);
    g.principal = req.principal;
    g.role = req.role;
    g.scope = req.scope;
    g.created_at = utc_now_iso8601();
    g.created_by = by;
    g.break_glass = req.break_glass;
    g.reason = req.reason;
    const auto now = unix_from_iso8601(g.created_at).value_or(0);
    if (!req.expires_at.empty()) {
        KW_TRY(g.expires_at, normalize_iso8601(req.expires_at));
        if (g.expires_at <= g.created_at) {
            return Error(Errc::usage, "--expires " + req.expires_at + " is not in the future");
        }
    }
    if (req.break_glass) {
        if (req.reason.empty()) {
            return Error(Errc::usage, "a break-glass grant needs --reason TEXT");
        }
        const std::string limit = iso8601_from_unix(now + kBreakGlassSeconds);
        if (g.expires_at.empty()) g.expires_at = limit;
        if (g.expires_at > limit) {
            return Error(Errc::usage,
                         "a break-glass grant lasts at most one hour (until " + limit + ")");
        }
    }
    GrantRow row;
    row.grant = g;
    KW_TRY(auto tag, key_.mac(key_.grant_message(g)));
    row.mac = std::move(tag.first);
    row.key_version = tag.second;
    KW_TRY_STATUS(store_.put_grant(row));
    forget_rows();
    return g;
}

Result<std::size_t> Access::revoke(const std::string& principal, Role role,
                                   const std::string& scope) {
    KW_TRY_STATUS(check_scope(scope));
    KW_TRY(auto n, store_.delete_grants(principal, role, scope));
    forget_rows();
    return n;
}

Result<bool> Access::has_admin_of_everything() {
    KW_TRY(auto all, checked_grants(""));
    for (const auto& c : all) {
        if (c.mac_ok && !c.row.grant.expired && c.row.grant.role == Role::admin &&
            c.row.grant.scope == "*") {
            return true;
        }
    }
    return false;
}

}  // namespace keyward::core
