// Wall-clock time as the ISO 8601 text stored in the database and shown to users.
#pragma once

#include <string>

#include "keyward/error.hpp"

namespace keyward::core {

/// UTC now, to the second: "2026-11-22T12:00:00Z".
std::string utc_now_iso8601();

/// An ISO 8601 date ("2030-01-01", its start in UTC) or date-time with offset
/// ("2030-01-01T12:00:00+02:00", "...Z") as UTC "2030-01-01T10:00:00Z". Errc::usage otherwise.
Result<std::string> normalize_iso8601(const std::string& text);

}  // namespace keyward::core
