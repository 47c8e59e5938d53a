// SPDX-License-Identifier: Apache-2.0
// keywardd's service tokens (docs/SERVICE.md): random bearer tokens that stand for a
// principal. The database keeps only an HMAC of each token made in the token (HSM) by the audit
// key, and a MAC of each row: a database writer can neither read a token, nor mint one, nor move
// one to another principal, nor extend or un-revoke one.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit_key.hpp"
#include "core/store.hpp"
#include "keyward/access.hpp"
#include "keyward/bytes.hpp"

namespace keyward::core {

/// A row and whether its MAC verifies in the token.
struct ServiceTokenCheck {
    ServiceTokenRow row;
    bool mac_ok = false;
};

struct IssuedToken {
    SecretString token;  ///< shown once; never stored, logged or audited
    ServiceTokenInfo info;
};

class ServiceTokens {
  public:
    ServiceTokens(Store& store, AuditKey& key) : store_(store), key_(key) {}

    /// "kwt_" and 64 hex digits (256 bits from the host DRBG).
    static constexpr std::size_t kTokenLength = 4 + 64;
    /// Renewable tokens never live past creation + this unless asked (Vault's default max).
    static constexpr std::int64_t kDefaultMaxTtlSeconds = 32LL * 24 * 3600;
    /// How long a verified token is trusted before its row is read again: a revocation by
    /// another process takes effect within this (at once in this one).
    static constexpr std::chrono::milliseconds kCacheTtl{1000};

    Result<IssuedToken> create(const ServiceTokenRequest& request, const std::string& by);
    /// Every row with its MAC verdict, newest first.
    Result<std::vector<ServiceTokenCheck>> checked_rows();
    /// Marks the token revoked (a row whose MAC fails is refused: it is never honoured, and
    /// re-MACing it would launder it).
    Result<ServiceTokenInfo> revoke(const std::string& id);
    /// The live token's info; Errc::access_denied "permission denied" for anything else
    /// (malformed, unknown, forged row, revoked, expired), without saying which.
    Result<ServiceTokenInfo> authenticate(std::string_view token);
    /// Extends a renewable token by its ttl, never past its max_expires_at.
    Result<ServiceTokenInfo> renew(std::string_view token);

  private:
    Result<std::optional<ServiceTokenRow>> find(std::string_view token);
    Status seal_row(ServiceTokenRow& row);
    void forget_cache();

    Store& store_;
    AuditKey& key_;
    std::mutex cache_mutex_;
    struct Cached {
        ServiceTokenInfo info;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::string, Cached> cache_;  // SHA-256 of the token (hex) -> verified info
};

}  // namespace keyward::core
