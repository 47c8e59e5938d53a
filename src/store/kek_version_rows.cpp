// SPDX-License-Identifier: Apache-2.0
// Reading kek_versions rows (see kek_version_rows.hpp).
#include "store/kek_version_rows.hpp"

#include <cstdint>

namespace keyward::store {

Result<core::KekVersionRow> read_kek_version(const Statement& s) {
    core::KekVersionRow row;
    row.keyring = s.column_text(0);
    row.version = s.column_u32(1);
    auto state = parse_kek_state(s.column_text(2));
    if (!state)
        return Error(Errc::database_error, "database: unknown key state " + s.column_text(2));
    row.state = *state;
    row.label = s.column_text(3);
    row.object_id = s.column_blob(4);
    row.check_value = s.column_blob(5);
    row.wrap_count = s.column_u64(6);
    row.created_at = s.column_text(7);
    return row;
}

}  // namespace keyward::store
