// SPDX-License-Identifier: Apache-2.0
// Metadata rules and clock judgements for records.
#include "core/record_rules.hpp"

#include "core/clock.hpp"

namespace keyward {
namespace core {

namespace {

bool printable(const std::string& s) {
    // Bytes >= 0x80 are allowed (UTF-8 text); control characters are not, so that a value
    // shown in a terminal table cannot move the cursor or forge a line.
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

bool tag_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

}  // namespace

Status check_tag_key(const std::string& key) {
    bool ok = !key.empty() && key.size() <= kMaxTagKey;
    for (char c : key) ok = ok && tag_key_char(c);
    if (!ok) {
        return Error(Errc::usage, "invalid tag key \"" + key + "\"; use 1-64 of A-Z a-z 0-9 . _ -");
    }
    return {};
}

Status check_tag(const Tag& tag) {
    KW_TRY_STATUS(check_tag_key(tag.first));
    if (tag.second.size() > kMaxTagValue || !printable(tag.second)) {
        return Error(Errc::usage, "invalid value for tag " + tag.first +
                                      ": at most 256 characters, no control characters");
    }
    return {};
}

Status check_description(const std::string& text) {
    if (text.size() > kMaxDescription || !printable(text)) {
        return Error(Errc::usage,
                     "invalid description: one line of at most 1024 characters, no control "
                     "characters");
    }
    return {};
}

Status check_policy(const RotationPolicy& policy) {
    if (policy.rotate_after_days > kMaxPolicyDays || policy.warn_before_days > kMaxPolicyDays) {
        return Error(Errc::usage, "rotation periods are at most 36500 days");
    }
    if (policy.rotate_after_days == 0 && (policy.warn_before_days != 0 || policy.auto_rotate)) {
        return Error(Errc::usage,
                     "a warning period or auto-rotate needs --rotate-after DAYS (a rotation "
                     "period)");
    }
    if (policy.warn_before_days >= policy.rotate_after_days && policy.rotate_after_days != 0) {
        return Error(Errc::usage, "--warn-before must be shorter than --rotate-after");
    }
    return {};
}

RecordState effective_state(const RecordRow& row, const std::string& now) {
    if (row.state == RecordState::active && row.expires_at && *row.expires_at <= now) {
        return RecordState::expired;
    }
    return row.state;
}

std::optional<std::string> rotation_due_at(const RecordRow& row) {
    if (row.policy.rotate_after_days == 0 || row.value_since.empty()) return std::nullopt;
    return add_days(row.value_since, row.policy.rotate_after_days);
}

bool rotation_due(const RecordRow& row, const std::string& now) {
    auto due = rotation_due_at(row);
    return is_live(row) && due && *due <= now;
}

bool rotation_warning(const RecordRow& row, const std::string& now) {
    auto due = rotation_due_at(row);
    if (!is_live(row) || !due || *due <= now) return false;
    return add_days(*due, -static_cast<std::int64_t>(row.policy.warn_before_days)) <= now;
}

bool is_live(const RecordRow& row) noexcept {
    return row.state == RecordState::active;
}

}  // namespace core

Result<Tag> parse_tag(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        return Error(Errc::usage, "tag \"" + text + "\" has no '='; write --tag KEY=VALUE");
    }
    Tag tag{text.substr(0, eq), text.substr(eq + 1)};
    KW_TRY_STATUS(core::check_tag(tag));
    return tag;
}

}  // namespace keyward
