// SPDX-License-Identifier: Apache-2.0
// The audit and access part of the Store port: the audit chain's rows, the anchor left by an
// archive, grants and two-person proposals. The rows carry MACs made in the token; the store
// keeps them and never judges them (core::AuditLog and core::Access do).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keyward/access.hpp"
#include "keyward/audit.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::core {

/// An audit entry as stored: the entry, its chain links and, for a commit's last entry, the
/// token's MAC of the chain head (empty otherwise) and the audit key version that made it.
struct AuditRow {
    AuditEntry entry;
    Bytes prev_hash, hash, mac;
    std::uint32_t key_version = 0;
};

/// Where the kept chain starts after an archive: the last archived entry's sequence number and
/// hash, MAC'd in the token.
struct AuditAnchor {
    std::uint64_t seq = 0;
    Bytes hash, mac;
    std::uint32_t key_version = 0;
};

struct GrantRow {
    GrantInfo grant;
    std::uint32_t key_version = 0;
    Bytes mac;
};

struct ProposalRow {
    Proposal proposal;
    std::uint32_t key_version = 0;
    Bytes mac;
};

/// A service token as stored: its public fields, the token's HMAC (lookup, made in the token
/// under audit key version lookup_key_version, which stays: the token itself is gone) and the
/// row's MAC over both (re-made when the audit key rotates).
struct ServiceTokenRow {
    ServiceTokenInfo info;
    Bytes lookup;
    std::uint32_t lookup_key_version = 0;
    std::uint32_t key_version = 0;
    Bytes mac;
};

/// The newest link of the chain: the last row, or the archive anchor when every row was
/// archived, or nothing yet (seq 0, 32 zero bytes).
struct AuditHead {
    enum class From : std::uint8_t { empty, anchor, row };
    From from = From::empty;
    std::uint64_t seq = 0;
    Bytes hash;
    Bytes mac;  ///< the row's or the anchor's MAC (empty for a row without one)
    std::uint32_t key_version = 0;
};

/// What the one-time audit setup stores, in one transaction.
struct AuditSetup {
    std::string chain_id;
    std::uint32_t key_version = 1;
    std::vector<GrantRow> grants;
    std::vector<AuditRow> rows;
};

class AuditStore {
  public:
    virtual ~AuditStore() = default;

    /// Runs make() under the write lock unless the database already has an audit chain, and
    /// stores what it returns with meta audit_chain_id and audit_key_version, in one
    /// transaction. Returns the chain id in effect and whether make() ran.
    virtual Result<std::pair<std::string, bool>> setup_audit(
        const std::function<Result<AuditSetup>()>& make) = 0;

    /// Appends rows under the write lock: build gets the chain's head as stored and returns the
    /// rows to insert, which are committed in the same transaction (nothing when it fails).
    virtual Status append_audit(
        const std::function<Result<std::vector<AuditRow>>(const AuditHead&)>& build) = 0;

    virtual Result<AuditHead> audit_head() = 0;
    /// Up to `limit` rows with seq >= from_seq, in seq order (as stored: no check).
    virtual Result<std::vector<AuditRow>> audit_rows(std::uint64_t from_seq, std::size_t limit) = 0;
    /// Rows matching the query, in seq order.
    virtual Result<std::vector<AuditRow>> query_audit(const AuditQuery& query) = 0;
    virtual Result<std::optional<AuditAnchor>> audit_anchor() = 0;
    /// Deletes rows with seq <= anchor.seq and stores the anchor, in one transaction, only if
    /// the last row so deleted has the anchor's hash (else Errc::conflict: nothing changed).
    virtual Status archive_audit(const AuditAnchor& anchor) = 0;

    /// Inserts a grant, replacing any grant of the same principal, role and scope.
    virtual Status put_grant(const GrantRow& row) = 0;
    /// Deletes the grants of principal, role and scope; how many there were.
    virtual Result<std::size_t> delete_grants(const std::string& principal, Role role,
                                              const std::string& scope) = 0;
    /// Grants of one principal (all when empty), in principal, scope, role order.
    virtual Result<std::vector<GrantRow>> grants(const std::string& principal) = 0;
    /// Replaces every grant's, proposal's and service token row's MAC (audit key rotation),
    /// in one transaction.
    virtual Status remac_access_rows(const std::vector<GrantRow>& grants,
                                     const std::vector<ProposalRow>& proposals,
                                     const std::vector<ServiceTokenRow>& tokens,
                                     std::uint32_t key_version) = 0;

    virtual Status insert_service_token(const ServiceTokenRow& row) = 0;
    /// The row whose lookup is this HMAC, made under audit key version `version`.
    virtual Result<std::optional<ServiceTokenRow>> service_token_by_lookup(
        ByteView lookup, std::uint32_t version) = 0;
    virtual Result<std::optional<ServiceTokenRow>> service_token(const std::string& id) = 0;
    /// Every row, newest first.
    virtual Result<std::vector<ServiceTokenRow>> service_tokens() = 0;
    /// The audit key versions lookups were made under (usually one).
    virtual Result<std::vector<std::uint32_t>> service_token_lookup_versions() = 0;
    /// Stores a row's expires_at, revoked_at, key_version and mac (renew, revoke) only if the
    /// stored row still has `old_mac` and is not revoked: Errc::conflict otherwise (another
    /// process revoked or renewed it meanwhile; a renewal must never un-revoke).
    virtual Status update_service_token(const ServiceTokenRow& row, ByteView old_mac) = 0;

    virtual Status insert_proposal(const ProposalRow& row) = 0;
    virtual Result<std::optional<ProposalRow>> find_proposal(const std::string& id) = 0;
    virtual Result<std::vector<ProposalRow>> proposals() = 0;
    /// Moves a proposal from `from_state` to row's state (with approver and MAC); Errc::conflict
    /// when it is no longer in from_state (approved by someone else meanwhile).
    virtual Status update_proposal(const ProposalRow& row, const std::string& from_state) = 0;
};

}  // namespace keyward::core
