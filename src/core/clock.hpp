// SPDX-License-Identifier: Apache-2.0
// Wall-clock time as the ISO 8601 text stored in the database and shown to users.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "keyward/error.hpp"

namespace keyward::core {

/// UTC now, to the second: "2026-11-22T12:00:00Z".
std::string utc_now_iso8601();

/// Seconds since the epoch as "2026-11-22T12:00:00Z". Normalised stamps of this form compare as
/// strings in time order, which is what the database queries rely on.
std::string iso8601_from_unix(std::int64_t seconds);

/// A normalised stamp ("...Z", as utc_now_iso8601 writes) as seconds since the epoch;
/// nullopt for anything else.
std::optional<std::int64_t> unix_from_iso8601(const std::string& stamp);

/// stamp + days, for normalised stamps; stamp itself when it is not one.
std::string add_days(const std::string& stamp, std::int64_t days);

/// An ISO 8601 date ("2030-01-01", its start in UTC) or date-time with offset
/// ("2030-01-01T12:00:00+02:00", "...Z") as UTC "2030-01-01T10:00:00Z". Errc::usage otherwise.
Result<std::string> normalize_iso8601(const std::string& text);

}  // namespace keyward::core
