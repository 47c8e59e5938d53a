// SPDX-License-Identifier: Apache-2.0
// The records part of the Store port: wallets and credentials, their versions, envelopes,
// metadata and lifecycle state. Every write is one transaction; state changes are conditional
// on the state the caller judged, so a concurrent change is reported, never overwritten.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/records.hpp"

namespace keyward::core {

struct RecordVersionRow {
    std::string ns, name;
    std::uint32_t version = 0;
    Bytes envelope;
    std::string keyring;
    std::uint32_t kek_version = 0;
    std::string created_at, created_by;
    std::optional<std::string> expires_at;
    std::string value_since, origin;
};

/// A record as stored. `state` is the stored one (active, revoked, deleted, purged): expired
/// is judged against the clock by the service, never stored.
struct RecordRow {
    std::string ns, name, kind;
    RecordState state = RecordState::active;
    std::uint32_t latest = 0;
    std::string description;
    std::vector<Tag> tags;
    std::string created_at, created_by, updated_at, updated_by;
    std::optional<std::string> expires_at;
    std::string value_since;
    RotationPolicy policy;
    std::optional<std::uint32_t> generate_bytes;
    /// What recover returns to (deleted records only; nullopt otherwise).
    std::optional<RecordState> state_before_delete;
};

/// One new version, sealed for `version` (its context names the version).
struct RecordPut {
    std::string ns, name, kind, keyring, created_by;
    std::optional<std::string> expires_at;
    std::uint32_t version = 1;
    Bytes envelope;
    std::uint32_t kek_version = 0;
    std::string origin = "put";
    std::optional<std::string> value_since;  ///< nullopt: now (a new value)
    std::optional<std::string> description;  ///< nullopt: unchanged
    std::vector<Tag> tags;                   ///< merged
    std::optional<RotationPolicy> policy;    ///< nullopt: unchanged; required for a new record
    std::optional<std::uint32_t> generate_bytes;
};

/// A metadata change without a new version (see MetadataUpdate).
struct RecordChange {
    std::optional<std::string> description;
    std::vector<Tag> set_tags;
    std::vector<std::string> remove_tags;
    std::optional<RotationPolicy> policy;
    std::optional<std::optional<std::string>> expires_at;
    std::optional<std::uint32_t> generate_bytes;
};

/// One record version's place in (namespace, name, version) order.
struct RecordVersionKey {
    std::string ns, name;
    std::uint32_t version = 0;
};

struct NamespaceRow {
    std::string name, keyring, created_at;
};

struct DatabaseHealth {
    std::string integrity;  ///< "ok" or the first problem quick_check reports
    std::uint64_t bytes = 0, wal_bytes = 0;
};

class RecordStore {
  public:
    virtual ~RecordStore() = default;

    /// The keyring a namespace maps to, recording `keyring_if_new` for it on first use.
    virtual Result<std::string> namespace_keyring(const std::string& ns,
                                                  const std::string& keyring_if_new) = 0;
    /// The keyring a namespace is mapped to; nullopt before its first record or mapping.
    virtual Result<std::optional<std::string>> find_namespace(const std::string& ns) = 0;
    /// Maps a namespace that has no mapping yet; Errc::already_exists otherwise.
    virtual Status map_namespace(const std::string& ns, const std::string& keyring) = 0;
    virtual Result<std::vector<NamespaceRow>> list_namespaces() = 0;

    /// Adds put.version in one write transaction, only if it is exactly the record's next
    /// version (1 for a new record); Errc::conflict when another writer took it first (the
    /// caller re-seals for the next one). A kind differing from the record's is refused, and
    /// so is a record that is revoked or deleted. A purged record starts a new life.
    virtual Status put_record(const RecordPut& put) = 0;
    /// Several puts in ONE transaction (bulk import); each gets its own outcome, and a refused
    /// one does not stop the others.
    virtual Result<std::vector<Status>> put_records(std::span<const RecordPut> puts) = 0;

    virtual Result<std::optional<RecordRow>> find_record(const std::string& ns,
                                                         const std::string& name) = 0;
    /// One version (latest when version is nullopt).
    virtual Result<std::optional<RecordVersionRow>> record_version(
        const std::string& ns, const std::string& name, std::optional<std::uint32_t> version) = 0;
    virtual Result<std::vector<RecordVersionRow>> record_versions(const std::string& ns,
                                                                  const std::string& name) = 0;
    /// Records of a namespace (all when empty), optionally of one kind, in name order;
    /// deleted and purged ones only when include_hidden.
    virtual Result<std::vector<RecordRow>> list_records(const std::string& ns,
                                                        const std::string& kind,
                                                        bool include_hidden) = 0;

    /// Applies a metadata change to a record whose stored state is `expected_state`;
    /// Errc::conflict when it changed meanwhile.
    virtual Status change_record(const std::string& ns, const std::string& name,
                                 RecordState expected_state, const RecordChange& change,
                                 const std::string& actor) = 0;
    /// Moves a record from stored state `from` to `to` (remembering `from` when `to` is
    /// deleted); Errc::conflict when it is no longer in `from`.
    virtual Status set_record_state(const std::string& ns, const std::string& name,
                                    RecordState from, RecordState to, const std::string& actor) = 0;
    /// Deletes every version, tag and the description of a deleted record and leaves a
    /// "purged" tombstone (so version numbers, and so contexts, are never reused).
    virtual Status purge_record(const std::string& ns, const std::string& name,
                                const std::string& actor) = 0;

    virtual Result<DatabaseHealth> check_database() = 0;

    /// Up to `limit` stored versions of every record (or of those whose version is sealed
    /// under `keyring`, when not empty) after `after` (from the start when nullopt) in
    /// (namespace, name, version) order, stopping early once the envelopes read reach
    /// `max_bytes` (always at least one row). Empty when none is left. For walking every
    /// envelope (validate) without holding them all.
    virtual Result<std::vector<RecordVersionRow>> record_versions_page(
        const std::string& keyring, const std::optional<RecordVersionKey>& after, std::size_t limit,
        std::size_t max_bytes) = 0;
    /// Up to n stored versions (of `keyring` when not empty) chosen at random, in
    /// (namespace, name, version) order.
    virtual Result<std::vector<RecordVersionKey>> sample_record_versions(const std::string& keyring,
                                                                         std::size_t n) = 0;
};

}  // namespace keyward::core
