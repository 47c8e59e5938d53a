// Record metadata for people and for scripts. Values never pass through here.
#include "cli/record_output.hpp"

#include <sstream>

#include "core/record_rules.hpp"

namespace keyward::cli {

namespace {

void optional_field(Json& j, std::string_view key, const std::string& value) {
    j.key(key);
    if (value.empty()) {
        j.null();
    } else {
        j.value(value);
    }
}

}  // namespace

void record_json(Json& j, const RecordInfo& r) {
    j.begin_object()
        .field("record", r.ns + "/" + r.name)
        .field("namespace", r.ns)
        .field("name", r.name)
        .field("kind", r.kind)
        .field("state", r.state)
        .field("latest", r.latest)
        .field("description", r.description);
    j.key("tags").begin_object();
    for (const auto& [k, v] : r.tags) j.field(k, v);
    j.end_object();
    j.field("created_at", r.created_at)
        .field("created_by", r.created_by)
        .field("updated_at", r.updated_at)
        .field("updated_by", r.updated_by);
    optional_field(j, "expires_at", r.expires_at);
    optional_field(j, "value_since", r.value_since);
    j.key("rotation");
    if (r.policy.rotate_after_days == 0) {
        j.null();
    } else {
        j.begin_object()
            .field("rotate_after_days", r.policy.rotate_after_days)
            .field("warn_before_days", r.policy.warn_before_days)
            .field("auto_rotate", r.policy.auto_rotate)
            .field("due_at", r.rotation_due_at)
            .end_object();
    }
    if (r.generate_bytes != 0) j.field("generate_bytes", r.generate_bytes);
    j.end_object();
}

void version_json(Json& j, const RecordVersion& v) {
    j.begin_object()
        .field("version", v.version)
        .field("created_at", v.created_at)
        .field("created_by", v.created_by)
        .field("origin", v.origin)
        .field("value_since", v.value_since);
    optional_field(j, "expires_at", v.expires_at);
    j.field("keyring", v.keyring)
        .field("kek_version", v.kek_version)
        .field("envelope_bytes", static_cast<std::uint64_t>(v.envelope.size()))
        .end_object();
}

std::string record_line(const RecordInfo& r) {
    std::ostringstream out;
    out << r.ns << "/" << r.name << "  " << r.kind << "  " << r.state << "  v" << r.latest;
    if (!r.expires_at.empty()) out << "  expires " << r.expires_at;
    if (!r.rotation_due_at.empty()) out << "  rotate by " << r.rotation_due_at;
    for (const auto& [k, v] : r.tags) out << "  " << k << "=" << v;
    out << "\n";
    return out.str();
}

std::string record_details(const RecordInfo& r) {
    std::ostringstream out;
    out << "record:      " << r.ns << "/" << r.name << "\n"
        << "kind:        " << r.kind << "\n"
        << "state:       " << r.state << "\n"
        << "latest:      v" << r.latest << "\n";
    if (!r.description.empty()) out << "description: " << r.description << "\n";
    for (const auto& [k, v] : r.tags) out << "tag:         " << k << "=" << v << "\n";
    out << "created:     " << r.created_at << " by " << r.created_by << "\n"
        << "updated:     " << r.updated_at << " by " << r.updated_by << "\n"
        << "value since: " << r.value_since << "\n"
        << "expires:     " << (r.expires_at.empty() ? "never" : r.expires_at) << "\n";
    if (r.policy.rotate_after_days == 0) {
        out << "rotation:    no policy\n";
    } else {
        out << "rotation:    every " << r.policy.rotate_after_days << " days, warn "
            << r.policy.warn_before_days << " days before"
            << (r.policy.auto_rotate ? ", rotated by keyward" : "") << "; due " << r.rotation_due_at
            << "\n";
    }
    return out.str();
}

Result<std::vector<Tag>> tags_from(const Args& args) {
    std::vector<Tag> tags;
    for (const auto& text : args.all("--tag")) {
        KW_TRY(auto tag, core::parse_tag(text));
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
    KW_TRY(auto after,
           args.number("--rotate-after", policy.rotate_after_days, 1, core::kMaxPolicyDays));
    KW_TRY(auto warn,
           args.number("--warn-before", policy.warn_before_days, 0, core::kMaxPolicyDays));
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
