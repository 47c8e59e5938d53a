// SPDX-License-Identifier: Apache-2.0
// The SQL trace for administrators (KEYWARD_DEBUG=sql, or `debug = sql` in keyward.conf): one
// stderr line per statement run, with the statement's text as the source wrote it and how long
// it ran (docs/OPERATIONS.md):
//
//   keyward sql: SELECT version FROM record_versions WHERE record_id = ?1 -> 0.052 ms
//
// The text is sqlite3_sql(), never sqlite3_expanded_sql(): parameters stay ?N, so no bound
// value (a record name, a tag, an envelope) ever reaches the trace.
#pragma once

#include <sqlite3.h>

namespace keyward::store {

/// Traces the statements of every connection opened from now on, for the rest of the process.
void enable_sql_trace() noexcept;

/// Installs the trace on a newly opened connection when it is on (by enable_sql_trace, or by
/// KEYWARD_DEBUG naming "sql", read once per process). Nothing is installed otherwise, so an
/// untraced connection pays nothing per statement.
void install_sql_trace(sqlite3* db);

}  // namespace keyward::store
