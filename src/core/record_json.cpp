// SPDX-License-Identifier: Apache-2.0
// Record metadata as JSON (keyward/json.hpp): shared by the CLI and the C API.
#include "keyward/json.hpp"

namespace keyward {

void record_json(Json& j, const RecordInfo& r) {
    j.begin_object()
        .field("record", r.ns + "/" + r.name)
        .field("namespace", r.ns)
        .field("name", r.name)
        .field("kind", r.kind)
        .field("state", record_state_name(r.state))
        .field("latest", r.latest)
        .field("description", r.description);
    j.key("tags").begin_object();
    for (const auto& [k, v] : r.tags) j.field(k, v);
    j.end_object();
    j.field("created_at", r.created_at)
        .field("created_by", r.created_by)
        .field("updated_at", r.updated_at)
        .field("updated_by", r.updated_by);
    j.field_or_null("expires_at", r.expires_at);
    j.field_or_null("value_since", r.value_since);
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
    j.field_or_null("expires_at", v.expires_at);
    j.field("keyring", v.keyring)
        .field("kek_version", v.kek_version)
        .field("envelope_bytes", static_cast<std::uint64_t>(v.envelope.size()))
        .end_object();
}

}  // namespace keyward
