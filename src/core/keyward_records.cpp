// SPDX-License-Identifier: Apache-2.0
// The records part of the public facade: parses addresses, names the actor and the time, and
// turns the store's rows into the public types.
#include <filesystem>

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

}  // namespace

Result<std::uint32_t> Keyward::put_record(const std::string& address, const PutOptions& options,
                                          ByteView value) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.put(a, options, value, current_actor());
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
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.put_generated(a, options, bytes, current_actor());
}

Result<std::uint32_t> Keyward::restore_record(const std::string& address, std::uint32_t version) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.restore(a, version, current_actor());
}

Result<std::uint32_t> Keyward::rotate_secret(const std::string& address, std::size_t bytes) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.rotate_secret(a, bytes == 0 ? std::nullopt : std::optional(bytes),
                                        current_actor());
}

Result<std::vector<SecretRotation>> Keyward::rotate_due_secrets(const std::string& ns) {
    if (!ns.empty()) KW_TRY_STATUS(check_namespace(ns));
    KW_TRY(auto done, impl_->records.rotate_due(ns, core::utc_now_iso8601(), current_actor()));
    std::vector<SecretRotation> out;
    for (auto& d : done) {
        SecretRotation r{std::move(d.address), d.version, 0, {}};
        if (d.error) {
            r.exit_code = d.error->exit_code();
            r.error = d.error->message();
        }
        out.push_back(std::move(r));
    }
    return out;
}

Result<std::vector<ImportOutcome>> Keyward::import_records(const std::string& ns,
                                                           std::span<const ImportItem> items) {
    return impl_->records.put_batch(ns, items, current_actor());
}

Result<SecretBytes> Keyward::get_record(const std::string& address, std::uint32_t version) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.get(a, version_or_latest(version));
}

Result<RecordVersion> Keyward::record_version(const std::string& address, std::uint32_t version) {
    KW_TRY(auto a, core::parse_record_address(address));
    KW_TRY(auto row, impl_->records.version(a, version_or_latest(version)));
    return to_version(std::move(row));
}

Result<std::vector<RecordVersion>> Keyward::record_versions(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    KW_TRY(auto rows, impl_->records.versions(a));
    std::vector<RecordVersion> out;
    for (auto& row : rows) out.push_back(to_version(std::move(row)));
    return out;
}

Result<RecordInfo> Keyward::record(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    KW_TRY(auto row, impl_->records.info(a));
    return to_info(std::move(row), core::utc_now_iso8601());
}

Result<std::vector<RecordInfo>> Keyward::records(const RecordFilter& filter) {
    const std::string now = core::utc_now_iso8601();
    KW_TRY(auto rows, impl_->records.list(filter, now));
    std::vector<RecordInfo> out;
    for (auto& r : rows) out.push_back(to_info(std::move(r), now));
    return out;
}

Result<std::vector<RecordInfo>> Keyward::records(const std::string& ns, const std::string& kind) {
    RecordFilter filter;
    filter.ns = ns;
    filter.kind = kind;
    return records(filter);
}

Status Keyward::revoke_record(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.revoke(a, current_actor());
}

Status Keyward::delete_record(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.remove(a, current_actor());
}

Status Keyward::recover_record(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.recover(a, current_actor());
}

Status Keyward::purge_record(const std::string& address) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.purge(a, current_actor());
}

Status Keyward::update_record(const std::string& address, const MetadataUpdate& update) {
    KW_TRY(auto a, core::parse_record_address(address));
    return impl_->records.update(a, update, current_actor());
}

Result<RecordStats> Keyward::record_stats() {
    return impl_->records.stats(core::utc_now_iso8601());
}

Status Keyward::map_namespace(const std::string& ns, const std::string& keyring) {
    return impl_->records.map_namespace(ns, keyring);
}

Result<std::vector<NamespaceInfo>> Keyward::namespaces() {
    KW_TRY(auto rows, impl_->store->list_namespaces());
    std::vector<NamespaceInfo> out;
    for (auto& r : rows)
        out.push_back({std::move(r.name), std::move(r.keyring), std::move(r.created_at)});
    return out;
}

}  // namespace keyward
