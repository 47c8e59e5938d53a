// SPDX-License-Identifier: Apache-2.0
// Reading kek_versions rows: one column list and one reader for the live store and for a
// backup being checked before it is restored.
#pragma once

#include <string_view>

#include "core/store_rows.hpp"
#include "keyward/error.hpp"
#include "store/sqlite.hpp"

namespace keyward::store {

/// "SELECT <every kek_versions column read_kek_version expects> FROM kek_versions "; append the
/// WHERE / ORDER BY clause.
inline constexpr std::string_view kKekVersionSelect =
    "SELECT keyring, version, state, label, object_id, check_value, wrap_count, created_at "
    "FROM kek_versions ";

/// The row under `s` (a statement of kKekVersionSelect). Errc::database_error when its state
/// is not one keyward knows.
Result<core::KekVersionRow> read_kek_version(const Statement& s);

}  // namespace keyward::store
