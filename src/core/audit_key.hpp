// SPDX-License-Identifier: Apache-2.0
// The audit key and what it MACs (docs/AUDIT.md): the audit chain's identity, the token label of
// each key version, and the domain-separated messages for chain heads, anchors, checkpoints,
// grants and proposals. Every MAC is made and checked in the token; nothing here sees the key.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/audit_store.hpp"
#include "core/hsm.hpp"
#include "core/store.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::core {

/// Builds a MAC message: a domain tag, then length-prefixed fields, so that no two different
/// field lists give the same bytes.
class MacMessage {
  public:
    explicit MacMessage(std::string_view domain);
    MacMessage& field(std::string_view text);
    MacMessage& field(ByteView bytes);
    MacMessage& number(std::uint64_t v);
    ByteView bytes() const { return bytes_; }

  private:
    Bytes bytes_;
};

class AuditKey {
  public:
    AuditKey(Hsm& hsm, Store& store) : hsm_(hsm), store_(store) {}

    /// Loads the chain id and current key version from the database; when the database has no
    /// audit chain yet (a new one, or one made before audit existed), makes one: generates
    /// key version 1 in the token, grants `first_admin` admin of "*" and writes the chain's
    /// first entry (`genesis_operation`), all in one transaction. Checks the key in the token
    /// either way (token_mismatch when it is not what keyward generates; not_found when gone).
    /// Returns whether it made the chain (the caller then writes its first checkpoint).
    Result<bool> load_or_create(const std::string& first_admin,
                                const std::string& genesis_operation);

    const std::string& chain_id() const { return chain_id_; }
    std::uint32_t version() const;
    std::string label(std::uint32_t version) const;

    /// MAC of message under the current version; returns the tag and the version used.
    Result<std::pair<Bytes, std::uint32_t>> mac(const MacMessage& message);
    /// Whether tag is message's MAC under key version `version` (false for an unknown version).
    Result<bool> verify(const MacMessage& message, ByteView tag, std::uint32_t version);

    /// MAC under a given version (audit key rotation re-MACs rows under the new one).
    Result<Bytes> mac_with(const MacMessage& message, std::uint32_t version);
    /// Generates the next key version in the token without making it current: the caller
    /// re-MACs grants and proposals under it and stores its number (remac_access_rows), then
    /// calls use_version. Older versions stay in the token: old entries keep verifying.
    Result<std::uint32_t> generate_next();
    void use_version(std::uint32_t version);

    // The messages each MAC covers.
    MacMessage head_message(std::uint64_t seq, ByteView hash) const;
    MacMessage anchor_message(std::uint64_t seq, ByteView hash) const;
    MacMessage grant_message(const GrantInfo& g) const;
    MacMessage proposal_message(const Proposal& p) const;
    /// A service token row: every column but the MAC (the lookup included, so a row cannot be
    /// moved onto another token's HMAC).
    MacMessage service_token_message(const ServiceTokenRow& r) const;
    /// What a service token's lookup HMAC covers: the token, bound to this audit chain.
    MacMessage service_token_lookup_message(std::string_view token) const;

  private:
    Hsm& hsm_;
    Store& store_;
    std::string chain_id_;
    mutable std::mutex mutex_;
    std::uint32_t version_ = 0;
};

/// The hash of an entry given its predecessor's: SHA-256 over the sequence number, every field
/// of the entry (length-prefixed, in a fixed order) and prev_hash.
Bytes chain_hash(std::uint64_t seq, const AuditEntry& e, ByteView prev_hash);

}  // namespace keyward::core
