// SPDX-License-Identifier: Apache-2.0
// Rules for record metadata (tags, descriptions, policies) and the judgements made against the
// clock: whether a record has expired, when its rotation is due. Times are normalised ISO 8601
// stamps ("2030-01-01T00:00:00Z"), which compare as strings in time order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/record_store.hpp"

namespace keyward::core {

inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxTagKey = 64;
inline constexpr std::size_t kMaxTagValue = 256;
inline constexpr std::size_t kMaxDescription = 1024;

// parse_tag ("K=V") is public: keyward/records.hpp.
Status check_tag(const Tag& tag);
Status check_tag_key(const std::string& key);
/// One line of printable text: descriptions end up in tables and JSON for humans.
Status check_description(const std::string& text);
Status check_policy(const RotationPolicy& policy);

/// Stored state, or expired for an active record whose expiry is at or before now.
RecordState effective_state(const RecordRow& row, const std::string& now);

/// value_since + rotate_after_days; nullopt without a policy.
std::optional<std::string> rotation_due_at(const RecordRow& row);
bool rotation_due(const RecordRow& row, const std::string& now);
/// Within warn_before_days of the due date, and not yet due.
bool rotation_warning(const RecordRow& row, const std::string& now);

/// Active or expired: the states in which a record takes new versions and gives its value.
bool is_live(const RecordRow& row) noexcept;

}  // namespace keyward::core
