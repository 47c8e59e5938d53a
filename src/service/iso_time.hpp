// SPDX-License-Identifier: Apache-2.0
// keyward's timestamps ("YYYY-MM-DDTHH:MM:SSZ", UTC) as Unix seconds, for Vault's numeric
// fields and keywardd's clocks.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace keyward::service {

/// Unix seconds of an ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" stamp; 0 when unreadable.
inline std::int64_t unix_of(const std::string& stamp) {
    std::tm tm{};
    if (std::sscanf(stamp.c_str(), "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace keyward::service
