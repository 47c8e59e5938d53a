// SPDX-License-Identifier: Apache-2.0
// Queries over record metadata: filtered lists and the counts behind `stats` and `health`.
// Filtering happens here rather than in SQL because "expired" and "due" are judged against the
// clock and the rotation policy; the store narrows by namespace and kind first.
#include <map>

#include "core/clock.hpp"
#include "core/record_kinds.hpp"
#include "core/record_rules.hpp"
#include "core/records.hpp"

namespace keyward::core {

namespace {

bool has_tags(const RecordRow& row, const std::vector<Tag>& wanted) {
    for (const auto& want : wanted) {
        bool found = false;
        for (const auto& tag : row.tags) found = found || tag == want;
        if (!found) return false;
    }
    return true;
}

bool expiring_within(const RecordRow& row, const std::string& now, std::uint32_t days) {
    if (!row.expires_at || *row.expires_at <= now) return false;
    auto t = unix_from_iso8601(now);
    if (!t) return false;
    return *row.expires_at <= iso8601_from_unix(*t + std::int64_t{days} * 86400);
}

std::vector<std::pair<std::string, std::uint64_t>> sorted(
    const std::map<std::string, std::uint64_t>& counts) {
    return {counts.begin(), counts.end()};
}

}  // namespace

Result<std::vector<RecordRow>> Records::list(const RecordFilter& filter, const std::string& now) {
    if (!filter.kind.empty() && !is_record_kind(filter.kind)) {
        return Error(Errc::usage,
                     "unknown kind \"" + filter.kind + "\"; kinds are " + record_kinds_text());
    }
    if (!filter.ns.empty()) KW_TRY_STATUS(check_namespace(filter.ns));
    for (const auto& tag : filter.tags) KW_TRY_STATUS(check_tag(tag));
    const bool hidden = filter.state == RecordState::deleted || filter.state == RecordState::purged;
    KW_TRY(auto rows, store_.list_records(filter.ns, filter.kind, hidden));
    std::vector<RecordRow> out;
    for (auto& row : rows) {
        if (filter.state && effective_state(row, now) != *filter.state) continue;
        if (filter.expiring_days && !expiring_within(row, now, *filter.expiring_days)) continue;
        if (!has_tags(row, filter.tags)) continue;
        out.push_back(std::move(row));
    }
    return out;
}

Result<RecordStats> Records::stats(const std::string& now) {
    KW_TRY(auto rows, store_.list_records("", "", true));
    RecordStats stats;
    // Keyed by name: the report lists states in name order, as it lists kinds and namespaces.
    std::map<std::string, std::uint64_t> by_kind, by_ns, by_state;
    for (const auto& row : rows) {
        const RecordState state = effective_state(row, now);
        ++by_state[std::string(record_state_name(state))];
        if (state == RecordState::purged) continue;
        ++stats.records;
        ++by_kind[row.kind];
        ++by_ns[row.ns];
        if (!is_live(row)) continue;
        if (expiring_within(row, now, 7)) ++stats.expiring_7_days;
        if (expiring_within(row, now, 30)) ++stats.expiring_30_days;
        if (row.policy.rotate_after_days == 0) ++stats.without_rotation_policy;
        if (rotation_due(row, now)) ++stats.due_for_rotation;
    }
    stats.by_kind = sorted(by_kind);
    stats.by_namespace = sorted(by_ns);
    stats.by_state = sorted(by_state);
    return stats;
}

}  // namespace keyward::core
