// SPDX-License-Identifier: Apache-2.0
// The Store port: what the services keep in a database. src/store implements it over SQLite;
// a PostgreSQL adapter can implement the same interface later.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/audit_store.hpp"
#include "core/maintenance_store.hpp"
#include "core/record_store.hpp"
#include "core/rotation_store.hpp"
#include "core/store_rows.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/types.hpp"

namespace keyward::core {

/// Keyrings here; records in RecordStore (core/record_store.hpp), rotation jobs in
/// RotationStore (core/rotation_store.hpp), backups in MaintenanceStore
/// (core/maintenance_store.hpp).
class Store : public RecordStore, public RotationStore, public MaintenanceStore, public AuditStore {
  public:
    virtual Result<std::optional<TokenBinding>> token_binding() = 0;
    virtual Status bind_token(const TokenBinding& binding) = 0;

    /// A value of the database's own key-value table (nullopt when unset).
    virtual Result<std::optional<std::string>> meta_value(const std::string& key) = 0;
    virtual Status set_meta_value(const std::string& key, const std::string& value) = 0;

    virtual Result<std::optional<KeyringRow>> find_keyring(const std::string& name) = 0;
    virtual Result<std::vector<KeyringRow>> list_keyrings() = 0;

    /// Inserts the keyring and its versions in one transaction; Errc::already_exists when
    /// the name is taken.
    virtual Status create_keyring(const KeyringRow& keyring) = 0;
    /// Inserts the keyring and the version make_first returns, calling it while holding the
    /// database's write lock: two processes creating the same keyring at once cannot both
    /// make a KEK with its label (SoftHSM would accept the duplicate). The loser waits for the
    /// lock and gets Errc::already_exists.
    virtual Status create_keyring_locked(
        const KeyringRow& keyring, const std::function<Result<KekVersionRow>()>& make_first) = 0;

    /// The version of a keyring, or nullopt.
    virtual Result<std::optional<KekVersionRow>> find_version(const std::string& keyring,
                                                              std::uint32_t version) = 0;

    /// The active version of a keyring (nullopt when the keyring does not exist).
    virtual Result<std::optional<KekVersionRow>> active_version(const std::string& keyring) = 0;

    /// Durably adds n to the version's wrap counter, refusing (Errc::limit_reached, nothing
    /// written) when the result would exceed limit. Returns the new counter.
    virtual Result<std::uint64_t> reserve_wraps(const std::string& keyring, std::uint32_t version,
                                                std::uint64_t n, std::uint64_t limit) = 0;

    /// How many stored records each version still protects (0 before records exist).
    virtual Result<std::uint64_t> records_under(const std::string& keyring,
                                                std::uint32_t version) = 0;

    /// Removes the keyring's rows (versions, jobs, leases) in one transaction that holds the
    /// database's write lock throughout: refused (Errc::state_refused, with the counts) while
    /// a namespace, a record version or a running job names it; otherwise before_rows_go runs
    /// with the keyring's versions as the transaction sees them (no writer can add one), and
    /// the rows go only if it succeeds. before_rows_go must not call the store.
    virtual Status delete_keyring(
        const std::string& keyring,
        const std::function<Status(const std::vector<KekVersionRow>&)>& before_rows_go) = 0;

    /// Runs fn holding the database's write lock (BEGIN IMMEDIATE), so that no process writes
    /// the database meanwhile: for changes kept in the token that must not interleave (keyring
    /// policies). fn must not call the store.
    virtual Status with_write_lock(const std::function<Status()>& fn) = 0;
};

}  // namespace keyward::core
