// ISO 8601 UTC timestamps.
#include "core/clock.hpp"

#include <ctime>

namespace keyward::core {

std::string utc_now_iso8601() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace keyward::core
