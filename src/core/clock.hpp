// Wall-clock time as the ISO 8601 text stored in the database and shown to users.
#pragma once

#include <string>

namespace keyward::core {

/// UTC now, to the second: "2026-11-22T12:00:00Z".
std::string utc_now_iso8601();

}  // namespace keyward::core
