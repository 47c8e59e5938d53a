// SPDX-License-Identifier: Apache-2.0
// The records part of the public facade: parses addresses, names the actor and the time, and
// turns the store's rows into the public types.
#include <filesystem>
#include <map>

#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "core/record_rules.hpp"

namespace keyward {

namespace {

std::optional<std::uint32_t> version_or_latest(std::uint32_t version) {
    return version == 0 ? std::nullopt : std::optional<std::uint32_t>(version);
}

RecordInfo to_info(core::RecordRow&& r, const std::string& now) {
    RecordInfo info;
    info.state = core::effective_state(r, now);
    info.rotation_due_at = core::rotation_due_at(r).value_or("");
    info.ns = std::move(r.ns);
    info.name = std::move(r.name);
    info.kind = std::move(r.kind);
    info.latest = r.latest;
    info.description = std::move(r.description);
    info.tags = std::move(r.tags);
    info.created_at = std::move(r.created_at);
    info.created_by = std::move(r.created_by);
    info.updated_at = std::move(r.updated_at);
    info.updated_by = std::move(r.updated_by);
    info.expires_at = r.expires_at.value_or("");
    info.value_since = std::move(r.value_since);
    info.policy = r.policy;
    info.generate_bytes = r.generate_bytes.value_or(0);
    return info;
}

RecordVersion to_version(core::RecordVersionRow&& row) {
    return RecordVersion{row.version,
                         std::move(row.envelope),
                         std::move(row.keyring),
                         row.kek_version,
                         std::move(row.created_at),
                         std::move(row.created_by),
                         row.expires_at.value_or(""),
                         std::move(row.value_since),
                         std::move(row.origin)};
}

// Metadata needs any role; the stored envelope is ciphertext that opens with the predictable
// record context, so it goes only to principals who may read the value.
Result<bool> may_read(Keyward::Impl& impl, const core::RecordAddress& a) {
    KW_TRY(auto resource, impl.namespace_resource(a.ns));
    return impl.access.allows(impl.caller().principal, core::Permission::read, resource);
}

}  // namespace

Result<std::uint32_t> Keyward::put_record(const std::string& address, const PutOptions& options,
                                          ByteView value) {
    return on_record(*impl_, core::ops::record_put, address,
                     [&](const core::RecordAddress& a, AuditNote& note) -> Result<std::uint32_t> {
                         KW_TRY(auto v,
                                impl_->records.put(a, options, value, current_actor(*impl_)));
                         note.target += "#" + std::to_string(v);
                         note.detail = "kind " + options.kind;
                         return v;
                     });
}

Result<std::uint32_t> Keyward::put_record(const std::string& address, const std::string& kind,
                                          ByteView value, const std::string& expires_at) {
    PutOptions options;
    options.kind = kind;
    options.expires_at = expires_at;
    return put_record(address, options, value);
}

Result<std::uint32_t> Keyward::generate_record(const std::string& address,
                                               const PutOptions& options, std::size_t bytes) {
    return on_record(
        *impl_, core::ops::record_generate, address,
        [&](const core::RecordAddress& a, AuditNote& note) -> Result<std::uint32_t> {
            KW_TRY(auto v, impl_->records.put_generated(a, options, bytes, current_actor(*impl_)));
            note.target += "#" + std::to_string(v);
            note.detail = "kind " + options.kind + ", " + std::to_string(bytes) + " random bytes";
            return v;
        });
}

Result<std::uint32_t> Keyward::restore_record(const std::string& address, std::uint32_t version) {
    return on_record(*impl_, core::ops::record_restore, address,
                     [&](const core::RecordAddress& a, AuditNote& note) -> Result<std::uint32_t> {
                         KW_TRY(auto v, impl_->records.restore(a, version, current_actor(*impl_)));
                         note.detail = "version " + std::to_string(version) + " restored as " +
                                       std::to_string(v);
                         note.target += "#" + std::to_string(v);
                         return v;
                     });
}

Result<std::uint32_t> Keyward::rotate_secret(const std::string& address, std::size_t bytes) {
    return on_record(*impl_, core::ops::record_rotate_secret, address,
                     [&](const core::RecordAddress& a, AuditNote& note) -> Result<std::uint32_t> {
                         KW_TRY(auto v, impl_->records.rotate_secret(
                                            a, bytes == 0 ? std::nullopt : std::optional(bytes),
                                            current_actor(*impl_)));
                         note.target += "#" + std::to_string(v);
                         return v;
                     });
}

Result<std::vector<SecretRotation>> Keyward::rotate_due_secrets(const std::string& ns) {
    if (!ns.empty()) {
        if (auto s = check_namespace(ns); !s.ok()) {
            return impl_->rejected_input(core::ops::record_rotate_secret, s.error());
        }
    }
    core::Resource resource = core::Resource::all();
    if (!ns.empty()) {
        KW_TRY(resource, impl_->namespace_resource(ns));
    }
    return impl_->audited(
        core::ops::record_rotate_secret, resource, ns.empty() ? "*" : ns,
        [&](AuditNote& note) -> Result<std::vector<SecretRotation>> {
            KW_TRY(auto done,
                   impl_->records.rotate_due(ns, core::utc_now_iso8601(), current_actor(*impl_)));
            std::vector<SecretRotation> out;
            std::size_t failed = 0;
            for (auto& d : done) {
                SecretRotation r{std::move(d.address), d.version, 0, {}};
                if (d.error) {
                    r.exit_code = d.error->exit_code();
                    r.error = d.error->message();
                    ++failed;
                }
                out.push_back(std::move(r));
            }
            note.detail =
                "due: " + std::to_string(out.size()) + ", failed: " + std::to_string(failed);
            return out;
        });
}

Result<std::vector<ImportOutcome>> Keyward::import_records(const std::string& ns,
                                                           std::span<const ImportItem> items) {
    if (auto s = check_namespace(ns); !s.ok()) {
        return impl_->rejected_input(core::ops::record_import, s.error());
    }
    KW_TRY(auto resource, impl_->namespace_resource(ns));
    return impl_->audited(core::ops::record_import, resource, ns,
                          [&](AuditNote& note) -> Result<std::vector<ImportOutcome>> {
                              KW_TRY(auto out,
                                     impl_->records.put_batch(ns, items, current_actor(*impl_)));
                              note.detail = std::to_string(items.size()) + " items";
                              return out;
                          });
}

Result<SecretBytes> Keyward::get_record(const std::string& address, std::uint32_t version) {
    return on_record(*impl_, core::ops::record_get, address,
                     [&](const core::RecordAddress& a, AuditNote& note) -> Result<SecretBytes> {
                         if (version != 0) note.target += "#" + std::to_string(version);
                         KW_TRY(auto row, impl_->records.version(a, version_or_latest(version)));
                         // The grant was checked against the namespace's mapping, a database
                         // claim; the envelope names the keyring that actually seals it.
                         KW_TRY(auto ring, keyring_named_in(row.envelope));
                         KW_TRY(auto mapped, impl_->namespace_resource(a.ns));
                         if (ring != mapped.keyring) {
                             return Error(Errc::token_mismatch,
                                          "record " + a.text() + " is sealed under keyring " +
                                              ring + " but its namespace maps to keyring " +
                                              mapped.keyring +
                                              ": the database was edited; it is not opened");
                         }
                         return impl_->records.get(a, version_or_latest(version));
                     });
}

Result<RecordVersion> Keyward::record_version(const std::string& address, std::uint32_t version) {
    return on_record(*impl_, core::ops::record_versions, address,
                     [&](const core::RecordAddress& a, AuditNote&) -> Result<RecordVersion> {
                         KW_TRY(auto row, impl_->records.version(a, version_or_latest(version)));
                         KW_TRY(bool reader, may_read(*impl_, a));
                         if (!reader) row.envelope.clear();
                         return to_version(std::move(row));
                     });
}

Result<std::vector<RecordVersion>> Keyward::record_versions(const std::string& address) {
    return on_record(
        *impl_, core::ops::record_versions, address,
        [&](const core::RecordAddress& a, AuditNote&) -> Result<std::vector<RecordVersion>> {
            KW_TRY(auto rows, impl_->records.versions(a));
            KW_TRY(bool reader, may_read(*impl_, a));
            std::vector<RecordVersion> out;
            for (auto& row : rows) {
                if (!reader) row.envelope.clear();
                out.push_back(to_version(std::move(row)));
            }
            return out;
        });
}

Result<RecordInfo> Keyward::record(const std::string& address) {
    return on_record(*impl_, core::ops::record_show, address,
                     [&](const core::RecordAddress& a, AuditNote&) -> Result<RecordInfo> {
                         KW_TRY(auto row, impl_->records.info(a));
                         return to_info(std::move(row), core::utc_now_iso8601());
                     });
}

Result<std::vector<RecordInfo>> Keyward::records(const RecordFilter& filter) {
    const Caller c = impl_->caller();
    core::Resource resource = core::Resource::all();
    if (!filter.ns.empty()) {
        if (auto s = check_namespace(filter.ns); !s.ok()) {
            return impl_->rejected_input(core::ops::record_list, s.error());
        }
        KW_TRY(resource, impl_->namespace_resource(filter.ns));
    }
    // Listing everything needs no role on "*": it shows what the principal holds a role on.
    auto body = [&](AuditNote& note) -> Result<std::vector<RecordInfo>> {
        const std::string now = core::utc_now_iso8601();
        KW_TRY(auto rows, impl_->records.list(filter, now));
        std::vector<RecordInfo> out;
        std::map<std::string, bool> visible;  // by namespace
        for (auto& r : rows) {
            auto it = visible.find(r.ns);
            if (it == visible.end()) {
                KW_TRY(auto res, impl_->namespace_resource(r.ns));
                KW_TRY(bool ok, impl_->access.allows(c.principal, core::Permission::metadata, res));
                it = visible.emplace(r.ns, ok).first;
            }
            if (it->second) out.push_back(to_info(std::move(r), now));
        }
        note.detail = std::to_string(out.size()) + " shown";
        return out;
    };
    if (filter.ns.empty()) return impl_->run_audited(core::ops::record_list, c, "*", body);
    return impl_->audited(core::ops::record_list, resource, filter.ns, body);
}

Result<std::vector<RecordInfo>> Keyward::records(const std::string& ns, const std::string& kind) {
    RecordFilter filter;
    filter.ns = ns;
    filter.kind = kind;
    return records(filter);
}

Status Keyward::revoke_record(const std::string& address) {
    return on_record(*impl_, core::ops::record_revoke, address,
                     [&](const core::RecordAddress& a, AuditNote&) {
                         return impl_->records.revoke(a, current_actor(*impl_));
                     });
}

Status Keyward::delete_record(const std::string& address) {
    return on_record(*impl_, core::ops::record_delete, address,
                     [&](const core::RecordAddress& a, AuditNote&) {
                         return impl_->records.remove(a, current_actor(*impl_));
                     });
}

Status Keyward::recover_record(const std::string& address) {
    return on_record(*impl_, core::ops::record_recover, address,
                     [&](const core::RecordAddress& a, AuditNote&) {
                         return impl_->records.recover(a, current_actor(*impl_));
                     });
}

Status Keyward::purge_record(const std::string& address) {
    if (auto s = impl_->require_approval(GuardedOperation::purge, address); !s.ok()) {
        return impl_->refuse(core::ops::record_purge, address, s.error());
    }
    return on_record(*impl_, core::ops::record_purge, address,
                     [&](const core::RecordAddress& a, AuditNote&) {
                         return impl_->records.purge(a, current_actor(*impl_));
                     });
}

Status Keyward::update_record(const std::string& address, const MetadataUpdate& update) {
    return on_record(*impl_, core::ops::record_update, address,
                     [&](const core::RecordAddress& a, AuditNote&) {
                         return impl_->records.update(a, update, current_actor(*impl_));
                     });
}

Result<RecordStats> Keyward::record_stats() {
    return impl_->audited(core::ops::stats, core::Resource::all(), "*", [&](AuditNote&) {
        return impl_->records.stats(core::utc_now_iso8601());
    });
}

Status Keyward::map_namespace(const std::string& ns, const std::string& keyring) {
    if (auto s = check_namespace(ns); !s.ok()) {
        return impl_->rejected_input(core::ops::namespace_map, s.error());
    }
    KW_TRY(auto resource, impl_->namespace_resource(ns));
    // Admin of the namespace, of the keyring it is to use, or of everything.
    resource.keyring = keyring;
    return impl_->audited(core::ops::namespace_map, resource, ns, [&](AuditNote& note) {
        note.detail = "mapped to keyring " + keyring;
        return impl_->records.map_namespace(ns, keyring);
    });
}

Result<std::vector<NamespaceInfo>> Keyward::namespaces() {
    const Caller c = impl_->caller();
    return impl_->run_audited(
        core::ops::namespace_list, c, "*",
        [&](AuditNote& note) -> Result<std::vector<NamespaceInfo>> {
            KW_TRY(auto rows, impl_->store->list_namespaces());
            std::vector<NamespaceInfo> out;
            for (auto& r : rows) {
                KW_TRY(bool ok,
                       impl_->access.allows(c.principal, core::Permission::metadata,
                                            core::Resource::of_namespace(r.name, r.keyring)));
                if (ok) {
                    out.push_back(
                        {std::move(r.name), std::move(r.keyring), std::move(r.created_at)});
                }
            }
            note.detail = std::to_string(out.size()) + " shown";
            return out;
        });
}

}  // namespace keyward
