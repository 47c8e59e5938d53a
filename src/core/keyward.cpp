// SPDX-License-Identifier: Apache-2.0
// The public facade over the services: a handle assembled from any Hsm and Store. The one
// place that knows PKCS#11 and SQLite is Keyward::open, in src/api (keyward_open.cpp).
#include "keyward/keyward.hpp"

#include "core/assemble.hpp"
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "crypto/envelope_codec.hpp"

namespace keyward {

namespace {

Result<KeyringInfo> to_info(core::Store& store, const core::KeyringRow& ring) {
    KeyringInfo info;
    info.name = ring.name;
    info.suite = ring.suite;
    info.created_at = ring.created_at;
    info.cryptoperiod_days = ring.cryptoperiod_days;
    for (const auto& v : ring.versions) {
        if (v.state != KekState::active) continue;
        info.rotation_due_at = core::add_days(v.created_at, ring.cryptoperiod_days);
        info.rotation_due = info.rotation_due_at <= core::utc_now_iso8601();
    }
    for (const auto& v : ring.versions) {
        KekVersionInfo vi;
        vi.version = v.version;
        vi.state = v.state;
        KW_TRY(vi.records, store.records_under(ring.name, v.version));
        vi.created_at = v.created_at;
        vi.label = v.label;
        vi.object_id_hex = to_hex(v.object_id);
        vi.gcm_wraps = v.wrap_count;
        info.versions.push_back(std::move(vi));
    }
    return info;
}

}  // namespace

Keyward::Keyward(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Keyward::~Keyward() = default;

namespace core {

Result<std::unique_ptr<Keyward>> assemble(std::unique_ptr<Hsm> hsm, std::unique_ptr<Store> store,
                                          const Config& config, const OpenOptions& open,
                                          std::unique_ptr<Store> audit_store) {
    auto impl = std::make_unique<Keyward::Impl>(std::move(hsm), std::move(store), config,
                                                std::move(audit_store));
    KW_TRY_STATUS(impl->keyrings.verify_binding(open.diagnose));
    if (!open.act_as.empty() && open.act_as != impl->principal) {
        if (!valid_principal_name(open.act_as)) {
            return Error(Errc::usage,
                         "--principal: a principal is 1-64 letters, digits or ._@- "
                         "starting with a letter or digit");
        }
        impl->actor = impl->principal;
        impl->principal = open.act_as;
    }
    // A database made before audit existed (or a new one) gets its chain and audit key now,
    // and the config's principal becomes admin of everything (docs/ACCESS.md, "Upgrades").
    KW_TRY(auto existing_rings, impl->store->list_keyrings());
    KW_TRY(bool made,
           impl->audit_key.load_or_create(config.principal,
                                          existing_rings.empty() ? "audit.init" : "audit.upgrade"));
    if (made) {
        KW_TRY_STATUS(impl->audit.checkpoint("init"));
    } else {
        KW_TRY(auto problem, impl->audit.check_head());
        if (problem) impl->audit_blocked = *problem;
    }
    const auto& id = impl->hsm->identity();
    impl->token.label = id.label;
    impl->token.serial = id.serial;
    impl->token.manufacturer = id.manufacturer;
    impl->token.model = id.model;
    return std::make_unique<Keyward>(std::move(impl));
}

}  // namespace core

const TokenSummary& Keyward::token() const noexcept {
    return impl_->token;
}

Result<KeyringInfo> Keyward::create_keyring(const std::string& name, Suite suite,
                                            std::uint32_t cryptoperiod_days) {
    return impl_->audited(
        core::ops::keyring_create, core::Resource::of_keyring(name), "keyring:" + name,
        [&](AuditNote& note) -> Result<KeyringInfo> {
            if (cryptoperiod_days == 0 || cryptoperiod_days > 36500) {
                return Error(Errc::usage, "a cryptoperiod is 1 to 36500 days");
            }
            note.detail = "suite " + std::string(suite_name(suite)) + ", cryptoperiod " +
                          std::to_string(cryptoperiod_days) + " days";
            KW_TRY(auto ring, impl_->keyrings.create(name, suite, cryptoperiod_days));
            return to_info(*impl_->store, ring);
        });
}

Result<KeyringInfo> Keyward::keyring(const std::string& name) {
    return impl_->audited(core::ops::keyring_show, core::Resource::of_keyring(name),
                          "keyring:" + name, [&](AuditNote&) -> Result<KeyringInfo> {
                              KW_TRY(auto ring, impl_->keyrings.show(name));
                              return to_info(*impl_->store, ring);
                          });
}

Result<std::vector<KeyringInfo>> Keyward::keyrings() {
    const Caller c = impl_->caller();
    return impl_->run_audited(
        core::ops::keyring_list, c, "*", [&](AuditNote& note) -> Result<std::vector<KeyringInfo>> {
            KW_TRY(auto rings, impl_->keyrings.list());
            std::vector<KeyringInfo> out;
            for (const auto& ring : rings) {
                // Listing shows only what the principal holds a role on.
                KW_TRY(bool visible, impl_->access.allows(c.principal, core::Permission::metadata,
                                                          core::Resource::of_keyring(ring.name)));
                if (!visible) continue;
                KW_TRY(auto info, to_info(*impl_->store, ring));
                out.push_back(std::move(info));
            }
            note.detail = std::to_string(out.size()) + " shown";
            return out;
        });
}

// The keyring an envelope or data key blob names, read from its header without the token.
Result<std::string> keyring_named_in(ByteView input) {
    const auto kind = crypto::detect_kind(input);
    if (kind == BlobKind::data_key) {
        KW_TRY(auto header, crypto::parse_data_key_blob(input));
        return header.keyring;
    }
    KW_TRY(auto env, crypto::parse_envelope(input));
    return env.header.keyring;
}

Result<Bytes> Keyward::seal(const std::string& keyring, ByteView plaintext, ByteView context) {
    return impl_->audited(
        core::ops::seal, core::Resource::of_keyring(keyring), "keyring:" + keyring,
        [&](AuditNote&) { return impl_->envelopes.seal(keyring, plaintext, context); });
}

Result<SecretBytes> Keyward::open(ByteView envelope, ByteView context) {
    auto ring = keyring_named_in(envelope);
    if (!ring.ok()) {
        return impl_->rejected_input(core::ops::open, ring.error());
    }
    return impl_->audited(core::ops::open, core::Resource::of_keyring(*ring), "keyring:" + *ring,
                          [&](AuditNote& note) {
                              // A stored record's envelope opened outside the record
                              // commands: its context names the record (never a secret;
                              // other contexts are the caller's and are not logged).
                              const std::string_view text(
                                  reinterpret_cast<const char*>(context.data()), context.size());
                              if (text.rfind("record:", 0) == 0 && text.size() <= 600) {
                                  note.detail = "context " + std::string(text);
                              }
                              return impl_->envelopes.open(envelope, context);
                          });
}

Result<Bytes> Keyward::rewrap(ByteView envelope_or_blob) {
    auto ring = keyring_named_in(envelope_or_blob);
    if (!ring.ok()) {
        return impl_->rejected_input(core::ops::rewrap, ring.error());
    }
    return impl_->audited(core::ops::rewrap, core::Resource::of_keyring(*ring), "keyring:" + *ring,
                          [&](AuditNote&) { return impl_->envelopes.rewrap(envelope_or_blob); });
}

Result<DataKey> Keyward::generate_data_key(const std::string& keyring, std::size_t bytes,
                                           std::uint32_t version) {
    return impl_->audited(
        core::ops::datakey, core::Resource::of_keyring(keyring), "keyring:" + keyring,
        [&](AuditNote&) { return impl_->envelopes.generate_data_key(keyring, bytes, version); });
}

Result<Bytes> Keyward::wrap_data_key(const std::string& keyring, ByteView key,
                                     std::uint32_t version) {
    return impl_->audited(
        core::ops::datakey_wrap, core::Resource::of_keyring(keyring), "keyring:" + keyring,
        [&](AuditNote&) { return impl_->envelopes.wrap_data_key(keyring, key, version); });
}

Result<SecretBytes> Keyward::decrypt_data_key(ByteView blob) {
    auto ring = keyring_named_in(blob);
    if (!ring.ok()) {
        return impl_->rejected_input(core::ops::datakey_decrypt, ring.error());
    }
    return impl_->audited(core::ops::datakey_decrypt, core::Resource::of_keyring(*ring),
                          "keyring:" + *ring,
                          [&](AuditNote&) { return impl_->envelopes.decrypt_data_key(blob); });
}

Result<Bytes> Keyward::wrap_key_raw(const std::string& keyring, std::uint32_t version,
                                    ByteView key) {
    return impl_->audited(core::ops::datakey_wrap_raw, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring + "/v" + std::to_string(version), [&](AuditNote&) {
                              return impl_->envelopes.wrap_key_raw(keyring, version, key);
                          });
}

Result<SecretBytes> Keyward::unwrap_key_raw(const std::string& keyring, std::uint32_t version,
                                            ByteView wrapped) {
    return impl_->audited(core::ops::datakey_unwrap_raw, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring + "/v" + std::to_string(version), [&](AuditNote&) {
                              return impl_->envelopes.unwrap_key_raw(keyring, version, wrapped);
                          });
}

std::string current_actor(const Keyward::Impl& impl) {
    return impl.caller().principal;
}

}  // namespace keyward
