// SPDX-License-Identifier: Apache-2.0
// Online backups of the SQLite database: a consistent snapshot through SQLite's backup API
// into a new private file, reading a snapshot back, and copying one over the live database.
#pragma once

#include <filesystem>

#include "core/store.hpp"
#include "store/sqlite.hpp"

namespace keyward::store {

/// Copies `live` into the new file `out` (Errc::already_exists when it exists) with mode 0600:
/// written under a temporary name beside it, switched to rollback-journal mode so it is one
/// self-contained file, given the manifest's meta rows (backup_created_at,
/// backup_token_serial, backup_token_label, backup_keks), checked, synced, then linked to
/// `out`. A crash leaves at most a hidden temporary file, never a partial `out`.
Status backup_database(Database& live, const std::filesystem::path& out,
                       const core::BackupManifest& manifest);

/// Reads a snapshot read-only. not_found when there is no such file; Errc::failed when it is
/// not a keyward backup (not SQLite, no keyward schema, no backup_created_at) or its schema
/// is newer than this keyward's.
Result<core::SnapshotContents> read_snapshot(const std::filesystem::path& snapshot);

/// Replaces the content of `live` with the snapshot's through SQLite's backup API (one write
/// transaction, safe with WAL and with other connections open), then migrates it, keeps the
/// higher suite 2 wrap counter of each KEK version, and records the restore in meta.
/// Errc::failed while a rotation is running in `live`.
Status restore_database(Database& live, const std::filesystem::path& snapshot);

}  // namespace keyward::store
