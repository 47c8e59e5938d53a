// SPDX-License-Identifier: Apache-2.0
// Record lifecycle: revoke, delete, recover, purge and metadata changes. Each is judged here
// against the stored state and then applied conditionally on that same state, so two
// administrators acting at once cannot make a transition this table forbids:
//
//   active --revoke--> revoked            (final: no new versions, values withheld)
//   active | revoked --delete--> deleted  (hidden; recover returns to the state it left)
//   deleted --recover--> active | revoked
//   deleted --purge--> purged             (every version gone; a put starts a new life)
#include <set>

#include "core/clock.hpp"
#include "core/record_kinds.hpp"
#include "core/record_rules.hpp"
#include "core/records.hpp"

namespace keyward::core {

namespace {

Error refused(const RecordAddress& a, RecordState state, const std::string& what) {
    return Error(Errc::state_refused, "record " + a.text() + " is " +
                                          std::string(record_state_name(state)) + "; " + what);
}

}  // namespace

Status Records::revoke(const RecordAddress& address, const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (row.state != RecordState::active) {
        return refused(address, row.state, "only an active or expired record can be revoked");
    }
    return store_.set_record_state(address.ns, address.name, RecordState::active,
                                   RecordState::revoked, actor);
}

Status Records::remove(const RecordAddress& address, const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (row.state != RecordState::active && row.state != RecordState::revoked) {
        return refused(address, row.state,
                       row.state == RecordState::deleted
                           ? "it is already deleted"
                           : "a purged record is gone, nothing to delete");
    }
    return store_.set_record_state(address.ns, address.name, row.state, RecordState::deleted,
                                   actor);
}

Status Records::recover(const RecordAddress& address, const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (row.state != RecordState::deleted) {
        return refused(address, row.state,
                       row.state == RecordState::purged ? "a purged record cannot be recovered"
                                                        : "only a deleted record can be recovered");
    }
    const RecordState back = row.state_before_delete == RecordState::revoked ? RecordState::revoked
                                                                             : RecordState::active;
    return store_.set_record_state(address.ns, address.name, RecordState::deleted, back, actor);
}

Status Records::purge(const RecordAddress& address, const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (row.state == RecordState::purged) {
        return refused(address, row.state, "it was purged already");
    }
    if (row.state != RecordState::deleted) {
        return refused(
            address, row.state,
            "only a deleted record can be purged (keyward delete " + address.text() + " first)");
    }
    return store_.purge_record(address.ns, address.name, actor);
}

Status Records::update(const RecordAddress& address, const MetadataUpdate& update,
                       const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (row.state != RecordState::active && row.state != RecordState::revoked) {
        return refused(address, row.state,
                       row.state == RecordState::purged
                           ? "a purged record has no metadata to change"
                           : "recover it before changing its metadata");
    }
    RecordChange change;
    if (update.description) KW_TRY_STATUS(check_description(*update.description));
    change.description = update.description;
    for (const auto& tag : update.set_tags) KW_TRY_STATUS(check_tag(tag));
    for (const auto& key : update.remove_tags) KW_TRY_STATUS(check_tag_key(key));
    std::set<std::string> keys;
    for (const auto& tag : row.tags) keys.insert(tag.first);
    for (const auto& tag : update.set_tags) keys.insert(tag.first);
    for (const auto& key : update.remove_tags) keys.erase(key);
    if (keys.size() > kMaxTags) return Error(Errc::usage, "at most 32 tags per record");
    change.set_tags = update.set_tags;
    change.remove_tags = update.remove_tags;
    if (update.policy) {
        KW_TRY_STATUS(check_policy(*update.policy));
        if (update.policy->auto_rotate && !kind_allows_generation(row.kind)) {
            return Error(Errc::usage, "auto-rotate needs a kind keyward generates (" +
                                          generated_kinds_text() + "), not " + row.kind);
        }
    }
    change.policy = update.policy;
    if (update.expires_at) {
        if (update.expires_at->empty()) {
            change.expires_at = std::optional<std::string>{};
        } else {
            KW_TRY(auto normalized, normalize_iso8601(*update.expires_at));
            change.expires_at = std::optional<std::string>{std::move(normalized)};
        }
    }
    if (update.generate_bytes) {
        if (*update.generate_bytes < kMinGeneratedBytes ||
            *update.generate_bytes > kMaxGeneratedBytes) {
            return Error(Errc::usage, "generate between 16 and 4096 bytes");
        }
        change.generate_bytes = update.generate_bytes;
    }
    return store_.change_record(address.ns, address.name, row.state, change, actor);
}

Status Records::map_namespace(const std::string& ns, const std::string& keyring) {
    KW_TRY_STATUS(check_namespace(ns));
    KW_TRY(auto ring, store_.find_keyring(keyring));
    if (!ring) {
        return Error(Errc::not_found, "no keyring " + keyring + " (keyward keyring create " +
                                          keyring + " makes one)");
    }
    return store_.map_namespace(ns, keyring);
}

Result<RecordRow> Records::info(const RecordAddress& address) {
    return existing(address);
}

Result<std::vector<RecordVersionRow>> Records::versions(const RecordAddress& address) {
    KW_TRY(auto row, existing(address));
    if (row.state == RecordState::purged) {
        return Error(Errc::not_found,
                     "record " + address.text() + " was purged; its versions are gone");
    }
    return store_.record_versions(address.ns, address.name);
}

}  // namespace keyward::core
