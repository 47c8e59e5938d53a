// SPDX-License-Identifier: Apache-2.0
// Service tokens (see service_tokens.hpp and docs/SERVICE.md).
#include "core/service_tokens.hpp"

#include <algorithm>
#include <ctime>

#include "core/clock.hpp"
#include "crypto/random.hpp"
#include "crypto/sha256.hpp"
#include "keyward/config.hpp"

namespace keyward::core {

namespace {

constexpr std::string_view kPrefix = "kwt_";

Error denied() {
    return Error(Errc::access_denied, "permission denied");
}

bool well_formed(std::string_view token) {
    if (token.size() != ServiceTokens::kTokenLength || token.substr(0, 4) != kPrefix) return false;
    return std::all_of(token.begin() + 4, token.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::int64_t now_unix() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

bool past(const std::string& stamp, std::int64_t now) {
    if (stamp.empty()) return false;
    auto at = unix_from_iso8601(stamp);
    return !at || *at <= now;  // an unreadable stamp counts as passed
}

std::string digest_hex(std::string_view token) {
    auto d =
        crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
    return to_hex(ByteView(d.data(), d.size()));
}

}  // namespace

Status ServiceTokens::seal_row(ServiceTokenRow& row) {
    KW_TRY(auto made, key_.mac(key_.service_token_message(row)));
    row.mac = std::move(made.first);
    row.key_version = made.second;
    return {};
}

Result<IssuedToken> ServiceTokens::create(const ServiceTokenRequest& request,
                                          const std::string& by) {
    if (!valid_principal_name(request.principal)) {
        return Error(Errc::usage,
                     "a service token's principal must be 1-64 letters, digits or ._@- starting "
                     "with a letter or digit");
    }
    if (request.ttl_seconds < 0 || request.max_ttl_seconds < 0) {
        return Error(Errc::usage, "a token's ttl cannot be negative");
    }
    if (request.renewable && request.ttl_seconds == 0) {
        return Error(Errc::usage, "a renewable token needs a ttl (renewal extends it by that)");
    }
    SecretBytes random(32);
    KW_TRY_STATUS(crypto::random_bytes(random));
    IssuedToken out;
    out.token = SecretString(kPrefix);
    const std::string hex = to_hex(ByteView(random.data(), random.size()));
    out.token.append(hex);

    Bytes id(8);
    KW_TRY_STATUS(crypto::random_bytes(id));
    const std::int64_t now = now_unix();
    ServiceTokenRow row;
    row.info.id = to_hex(id);
    row.info.principal = request.principal;
    row.info.created_at = iso8601_from_unix(now);
    row.info.created_by = by;
    row.info.ttl_seconds = request.ttl_seconds;
    row.info.renewable = request.renewable;
    if (request.ttl_seconds > 0) row.info.expires_at = iso8601_from_unix(now + request.ttl_seconds);
    if (request.renewable) {
        const std::int64_t max =
            request.max_ttl_seconds > 0 ? request.max_ttl_seconds : kDefaultMaxTtlSeconds;
        row.info.max_expires_at = iso8601_from_unix(now + std::max(max, request.ttl_seconds));
    }
    KW_TRY(auto lookup, key_.mac(key_.service_token_lookup_message(out.token)));
    row.lookup = std::move(lookup.first);
    row.lookup_key_version = lookup.second;
    KW_TRY_STATUS(seal_row(row));
    KW_TRY_STATUS(store_.insert_service_token(row));
    out.info = row.info;
    return out;
}

Result<std::vector<ServiceTokenCheck>> ServiceTokens::checked_rows() {
    KW_TRY(auto rows, store_.service_tokens());
    const std::int64_t now = now_unix();
    std::vector<ServiceTokenCheck> out;
    for (auto& row : rows) {
        KW_TRY(bool ok, key_.verify(key_.service_token_message(row), row.mac, row.key_version));
        row.info.expired = past(row.info.expires_at, now);
        out.push_back(ServiceTokenCheck{std::move(row), ok});
    }
    return out;
}

Result<ServiceTokenInfo> ServiceTokens::revoke(const std::string& id) {
    // A renewal that lands between the read and the write wins the compare-and-swap: read
    // again and revoke that row, a bounded number of times.
    for (int attempt = 0; attempt < 8; ++attempt) {
        KW_TRY(auto row, store_.service_token(id));
        if (!row) return Error(Errc::not_found, "no service token " + id);
        KW_TRY(bool ok, key_.verify(key_.service_token_message(*row), row->mac, row->key_version));
        if (!ok) {
            return Error(Errc::auth_failed,
                         "service token " + id +
                             "'s row does not verify in the token (edited or forged): it is never "
                             "honoured, and keyward will not vouch for it by revoking it");
        }
        if (row->info.revoked_at.empty()) {
            const Bytes old_mac = row->mac;
            row->info.revoked_at = utc_now_iso8601();
            KW_TRY_STATUS(seal_row(*row));
            auto updated = store_.update_service_token(*row, old_mac);
            if (!updated.ok() && updated.error().code() == Errc::conflict) continue;
            KW_TRY_STATUS(updated);
        }
        forget_cache();
        return row->info;
    }
    return Error(Errc::conflict,
                 "service token " + id + " kept changing while it was being revoked; try again");
}

Result<std::optional<ServiceTokenRow>> ServiceTokens::find(std::string_view token) {
    // A lookup is made under the audit key version current at creation; rows made before an
    // audit key rotation keep theirs (the token itself is not kept to make a new one).
    KW_TRY(auto versions, store_.service_token_lookup_versions());
    for (std::uint32_t v : versions) {
        KW_TRY(auto lookup, key_.mac_with(key_.service_token_lookup_message(token), v));
        KW_TRY(auto row, store_.service_token_by_lookup(lookup, v));
        if (row) return row;
    }
    return std::optional<ServiceTokenRow>();
}

Result<ServiceTokenInfo> ServiceTokens::authenticate(std::string_view token) {
    if (!well_formed(token)) return denied();  // no token work for garbage
    const std::string digest = digest_hex(token);
    const std::int64_t now = now_unix();
    {
        std::lock_guard lock(cache_mutex_);
        auto it = cache_.find(digest);
        if (it != cache_.end() && std::chrono::steady_clock::now() - it->second.at < kCacheTtl) {
            if (past(it->second.info.expires_at, now)) return denied();
            return it->second.info;
        }
    }
    KW_TRY(auto row, find(token));
    if (!row) return denied();
    KW_TRY(bool ok, key_.verify(key_.service_token_message(*row), row->mac, row->key_version));
    if (!ok || !row->info.revoked_at.empty() || past(row->info.expires_at, now)) return denied();
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() > 10000) cache_.clear();  // bounded: a flood of tokens cannot grow it
    cache_[digest] = Cached{row->info, std::chrono::steady_clock::now()};
    return row->info;
}

Result<ServiceTokenInfo> ServiceTokens::renew(std::string_view token) {
    KW_TRY(auto info, authenticate(token));
    if (!info.renewable) return Error(Errc::usage, "this token is not renewable");
    // The row as stored now, judged again: authenticate may have answered from its cache.
    KW_TRY(auto row, find(token));
    if (!row) return denied();
    KW_TRY(bool ok, key_.verify(key_.service_token_message(*row), row->mac, row->key_version));
    const std::int64_t now = now_unix();
    if (!ok || !row->info.revoked_at.empty() || past(row->info.expires_at, now)) return denied();
    std::int64_t until = now + row->info.ttl_seconds;
    if (auto max = unix_from_iso8601(row->info.max_expires_at)) until = std::min(until, *max);
    const Bytes old_mac = row->mac;
    row->info.expires_at = iso8601_from_unix(until);
    KW_TRY_STATUS(seal_row(*row));
    // Only onto the row just judged: a revocation that landed meanwhile wins (denied).
    if (!store_.update_service_token(*row, old_mac).ok()) return denied();
    {
        std::lock_guard lock(cache_mutex_);
        cache_[digest_hex(token)] = Cached{row->info, std::chrono::steady_clock::now()};
    }
    return row->info;
}

void ServiceTokens::forget_cache() {
    std::lock_guard lock(cache_mutex_);
    cache_.clear();
}

}  // namespace keyward::core
