// SPDX-License-Identifier: Apache-2.0
// Record metadata for people and for scripts. Values never pass through here.
#include "record_output.hpp"

#include <sstream>

#include "terminal_text.hpp"

namespace keyward::cli {

std::string record_line(const RecordInfo& r) {
    std::ostringstream out;
    // Every field is escaped on its own: one that held a line break would forge a record line.
    const auto e = [](const std::string& s) { return escape_controls(s); };
    out << e(r.ns) << "/" << e(r.name) << "  " << e(r.kind) << "  " << record_state_name(r.state)
        << "  v" << r.latest;
    if (!r.expires_at.empty()) out << "  expires " << e(r.expires_at);
    if (!r.rotation_due_at.empty()) out << "  rotate by " << e(r.rotation_due_at);
    for (const auto& [k, v] : r.tags) out << "  " << e(k) << "=" << e(v);
    out << "\n";
    return out.str();
}

std::string record_details(const RecordInfo& r) {
    std::ostringstream out;
    const auto e = [](const std::string& s) { return escape_controls(s); };
    out << "record:      " << e(r.ns) << "/" << e(r.name) << "\n"
        << "kind:        " << e(r.kind) << "\n"
        << "state:       " << record_state_name(r.state) << "\n"
        << "latest:      v" << r.latest << "\n";
    if (!r.description.empty()) out << "description: " << e(r.description) << "\n";
    for (const auto& [k, v] : r.tags) out << "tag:         " << e(k) << "=" << e(v) << "\n";
    out << "created:     " << e(r.created_at) << " by " << e(r.created_by) << "\n"
        << "updated:     " << e(r.updated_at) << " by " << e(r.updated_by) << "\n"
        << "value since: " << e(r.value_since) << "\n"
        << "expires:     " << (r.expires_at.empty() ? "never" : e(r.expires_at)) << "\n";
    if (r.policy.rotate_after_days == 0) {
        out << "rotation:    no policy\n";
    } else {
        out << "rotation:    every " << r.policy.rotate_after_days << " days, warn "
            << r.policy.warn_before_days << " days before"
            << (r.policy.auto_rotate ? ", rotated by keyward" : "") << "; due "
            << e(r.rotation_due_at) << "\n";
    }
    return out.str();
}

Result<std::vector<Tag>> tags_from(const Args& args) {
    std::vector<Tag> tags;
    for (const auto& text : args.all("--tag")) {
        KW_TRY(auto tag, parse_tag(text));
        tags.push_back(std::move(tag));
    }
    return tags;
}

std::vector<OptionSpec> policy_options() {
    return {{"--rotate-after", true, false},
            {"--warn-before", true, false},
            {"--auto-rotate", false, false},
            {"--no-auto-rotate", false, false}};
}

Result<std::optional<RotationPolicy>> policy_from(const Args& args, const RotationPolicy& base) {
    const bool any = args.has("--rotate-after") || args.has("--warn-before") ||
                     args.has("--auto-rotate") || args.has("--no-auto-rotate");
    if (!any) return std::optional<RotationPolicy>{};
    if (args.has("--auto-rotate") && args.has("--no-auto-rotate")) {
        return Error(Errc::usage, "give --auto-rotate or --no-auto-rotate, not both");
    }
    RotationPolicy policy = base;
    if (args.get("--rotate-after") == "none") {
        if (args.has("--warn-before") || args.has("--auto-rotate")) {
            return Error(Errc::usage,
                         "--rotate-after none takes no --warn-before or --auto-rotate");
        }
        return std::optional<RotationPolicy>{RotationPolicy{}};
    }
    KW_TRY(auto after, args.number("--rotate-after", policy.rotate_after_days, 1, kMaxPolicyDays));
    KW_TRY(auto warn, args.number("--warn-before", policy.warn_before_days, 0, kMaxPolicyDays));
    policy.rotate_after_days = static_cast<std::uint32_t>(after);
    policy.warn_before_days = static_cast<std::uint32_t>(warn);
    if (args.has("--auto-rotate")) policy.auto_rotate = true;
    if (args.has("--no-auto-rotate")) policy.auto_rotate = false;
    // A warning period longer than a new, shorter rotation period is shortened with it only
    // when the user did not ask for it explicitly; an explicit conflict is refused later.
    if (!args.has("--warn-before") && policy.warn_before_days >= policy.rotate_after_days) {
        policy.warn_before_days = policy.rotate_after_days / 7;
    }
    return std::optional<RotationPolicy>{policy};
}

}  // namespace keyward::cli
