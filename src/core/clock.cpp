// SPDX-License-Identifier: Apache-2.0
// ISO 8601 UTC timestamps.
#include "core/clock.hpp"

#include <ctime>

namespace keyward::core {

std::string utc_now_iso8601() {
    return iso8601_from_unix(static_cast<std::int64_t>(std::time(nullptr)));
}

std::string iso8601_from_unix(std::int64_t seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<std::int64_t> unix_from_iso8601(const std::string& stamp) {
    if (stamp.size() != 20 || stamp.back() != 'Z') return std::nullopt;
    auto normalized = normalize_iso8601(stamp);
    if (!normalized.ok() || *normalized != stamp) return std::nullopt;
    std::tm tm{};
    if (strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string add_days(const std::string& stamp, std::int64_t days) {
    auto t = unix_from_iso8601(stamp);
    return t ? iso8601_from_unix(*t + days * 86400) : stamp;
}

namespace {

bool digits(const std::string& s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

Result<std::string> normalize_iso8601(const std::string& text) {
    const Error bad(Errc::usage, "\"" + text +
                                     "\" is not an ISO 8601 date (2030-01-01) or date-time with "
                                     "offset (2030-01-01T12:00:00Z, 2030-01-01T12:00:00+02:00)");
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, offset_minutes = 0;
    if (!digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, mo) ||
        text[7] != '-' || !digits(text, 8, 2, d)) {
        return bad;
    }
    if (text.size() > 10) {
        if (text.size() < 20 || text[10] != 'T' || !digits(text, 11, 2, h) || text[13] != ':' ||
            !digits(text, 14, 2, mi) || text[16] != ':' || !digits(text, 17, 2, sec)) {
            return bad;
        }
        std::string zone = text.substr(19);
        if (zone == "Z") {
            offset_minutes = 0;
        } else {
            int oh = 0, om = 0;
            if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !digits(zone, 1, 2, oh) ||
                zone[3] != ':' || !digits(zone, 4, 2, om) || oh > 23 || om > 59) {
                return bad;
            }
            offset_minutes = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    std::time_t t = timegm(&tm);
    std::tm check{};
    gmtime_r(&t, &check);
    if (check.tm_mday != d || check.tm_mon != mo - 1) return bad;  // 2030-02-31 and the like
    t -= static_cast<std::time_t>(offset_minutes) * 60;
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
}

}  // namespace keyward::core
