// SPDX-License-Identifier: Apache-2.0
// Schema of keyward's SQLite database and its forward migrations, keyed by PRAGMA user_version.
#pragma once

#include "keyward/error.hpp"
#include "store/sqlite.hpp"

namespace keyward::store {

/// Highest schema version this binary knows.
int latest_schema_version() noexcept;

/// Brings the database to latest_schema_version(), one migration per transaction. A database
/// newer than this binary is refused and left untouched.
Status migrate(Database& db);
/// Migrates only up to `target` (tests of the upgrade path from older releases).
Status migrate_to(Database& db, int target);

/// PRAGMA user_version.
Result<int> schema_version(Database& db);

}  // namespace keyward::store
