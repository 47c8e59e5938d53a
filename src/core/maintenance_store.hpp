// SPDX-License-Identifier: Apache-2.0
// The maintenance part of the Store port: backup snapshots of the whole database and their
// restore (keyward backup / restore FILE).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/store_rows.hpp"
#include "keyward/error.hpp"

namespace keyward::core {

/// What a backup records about itself in its meta table, beside the copied database.
struct BackupManifest {
    std::string created_at;
    TokenBinding token;
};

/// A backup snapshot as read back, without changing it.
struct SnapshotContents {
    int schema_version = 0;
    std::string created_at;               ///< when the backup was taken
    std::optional<TokenBinding> binding;  ///< the token the database was bound to
    std::vector<KeyringRow> keyrings;
    std::uint64_t records = 0;  ///< not purged
    std::uint64_t record_versions = 0;
};

class MaintenanceStore {
  public:
    virtual ~MaintenanceStore() = default;

    /// Writes a consistent snapshot of the whole database to `out`, a new file (already_exists
    /// when it exists) of mode 0600 in rollback-journal mode, with the manifest and the KEK
    /// versions it needs in its meta table. A crash never leaves a partial file under `out`.
    virtual Status backup_to(const std::filesystem::path& out, const BackupManifest& manifest) = 0;
    /// Reads a snapshot without changing it; Errc::failed when it is not a keyward backup or
    /// its schema is newer than this keyward's, not_found when there is no such file.
    virtual Result<SnapshotContents> inspect_snapshot(const std::filesystem::path& snapshot) = 0;
    /// Replaces the whole database with the snapshot's content in one transaction, then
    /// migrates it; Errc::failed while a rotation job is running or a rotation lease is held.
    /// Suite 2 wrap counters keep the higher of the two values, so a restore never forgets
    /// wraps that happened.
    virtual Status restore_from(const std::filesystem::path& snapshot) = 0;
};

}  // namespace keyward::core
