// SPDX-License-Identifier: Apache-2.0
// The public facade over the services: a handle assembled from any Hsm and Store. The one
// place that knows PKCS#11 and SQLite is Keyward::open, in src/api (keyward_open.cpp).
#include "keyward/keyward.hpp"

#include "core/assemble.hpp"
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "crypto/envelope_codec.hpp"

namespace keyward {

Result<KeyringInfo> keyring_info(Keyward::Impl& impl, const core::KeyringRow& ring) {
    core::Store& store = *impl.store;
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
    KW_TRY(info.policy, impl.policies.get(ring.name));
    return info;
}

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

namespace {

// A policy in the token for a keyring this database does not know. Left by a deletion that
// died before removing it, it goes (its KEKs are condemned by the ledger). But while a KEK of
// the keyring is still alive in the token, the database lost rows someone removed behind
// keyward's back: creating the keyring would adopt the old KEK and drop its policy, letting
// ciphertexts the policy refuses open again.
Status forget_leftover_policy(Keyward::Impl& impl, const std::string& name) {
    KW_TRY(auto known, impl.store->find_keyring(name));
    if (known) return {};  // keyrings.create refuses it by name
    KW_TRY(auto held, impl.policies.read_now(name));
    if (!held.second) return {};
    std::uint32_t probe[] = {1, std::max<std::uint32_t>(1, held.first.min_available_version)};
    for (std::uint32_t v : probe) {
        const std::string label = kek_label(name, v);
        KW_TRY(auto found, impl.hsm->find_keks(label));
        for (const auto& object : found) {
            if (impl.keyrings.destroyed_in_ledger(label, object)) continue;
            return Error(Errc::token_mismatch,
                         "the token holds a live KEK of keyring \"" + name + "\" (" + label +
                             ") and its policy, but this database does not know the keyring: "
                             "its rows were removed outside keyward. Restore the database from "
                             "a backup rather than creating the keyring again");
        }
    }
    return impl.policies.remove(name);
}

}  // namespace

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
            KW_TRY_STATUS(forget_leftover_policy(*impl_, name));
            KW_TRY(auto ring, impl_->keyrings.create(name, suite, cryptoperiod_days));
            return keyring_info(*impl_, ring);
        });
}

Result<KeyringInfo> Keyward::keyring(const std::string& name) {
    return impl_->audited(core::ops::keyring_show, core::Resource::of_keyring(name),
                          "keyring:" + name, [&](AuditNote&) -> Result<KeyringInfo> {
                              KW_TRY(auto ring, impl_->keyrings.show(name));
                              return keyring_info(*impl_, ring);
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
                KW_TRY(auto info, keyring_info(*impl_, ring));
                out.push_back(std::move(info));
            }
            note.detail = std::to_string(out.size()) + " shown";
            return out;
        });
}

Result<NamedKek> kek_named_in(ByteView input) {
    const auto kind = crypto::detect_kind(input);
    if (kind == BlobKind::data_key) {
        KW_TRY(auto header, crypto::parse_data_key_blob(input));
        return NamedKek{std::move(header.keyring), header.kek_version};
    }
    KW_TRY(auto env, crypto::parse_envelope(input));
    return NamedKek{std::move(env.header.keyring), env.header.kek_version};
}

Result<std::string> keyring_named_in(ByteView input) {
    KW_TRY(auto kek, kek_named_in(input));
    return std::move(kek.keyring);
}

Result<Bytes> Keyward::seal(const std::string& keyring, ByteView plaintext, ByteView context) {
    return impl_->audited(core::ops::seal, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring, [&](AuditNote&) -> Result<Bytes> {
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, 0));
                              KW_TRY(auto sealed,
                                     impl_->envelopes.seal(keyring, plaintext, context));
                              KW_TRY(auto kek, kek_named_in(sealed));
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, kek.version));
                              return sealed;
                          });
}

Result<SecretBytes> Keyward::open(ByteView envelope, ByteView context) {
    auto kek = kek_named_in(envelope);
    if (!kek.ok()) {
        return impl_->rejected_input(core::ops::open, kek.error());
    }
    const std::string& ring = kek->keyring;
    return impl_->audited(core::ops::open, core::Resource::of_keyring(ring), "keyring:" + ring,
                          [&](AuditNote& note) -> Result<SecretBytes> {
                              // A stored record's envelope opened outside the record
                              // commands: its context names the record (never a secret;
                              // other contexts are the caller's and are not logged).
                              const std::string_view text(
                                  reinterpret_cast<const char*>(context.data()), context.size());
                              if (text.rfind("record:", 0) == 0 && text.size() <= 600) {
                                  note.detail = "context " + std::string(text);
                              }
                              KW_TRY_STATUS(check_decryption_policy(*impl_, ring, kek->version));
                              return impl_->envelopes.open(envelope, context);
                          });
}

Result<Bytes> Keyward::rewrap(ByteView envelope_or_blob) {
    auto kek = kek_named_in(envelope_or_blob);
    if (!kek.ok()) {
        return impl_->rejected_input(core::ops::rewrap, kek.error());
    }
    const std::string& ring = kek->keyring;
    return impl_->audited(core::ops::rewrap, core::Resource::of_keyring(ring), "keyring:" + ring,
                          [&](AuditNote&) -> Result<Bytes> {
                              KW_TRY_STATUS(check_decryption_policy(*impl_, ring, kek->version));
                              KW_TRY(auto out, impl_->envelopes.rewrap(envelope_or_blob));
                              KW_TRY(auto to, kek_named_in(out));
                              KW_TRY_STATUS(check_encryption_policy(*impl_, ring, to.version));
                              return out;
                          });
}

Result<DataKey> Keyward::generate_data_key(const std::string& keyring, std::size_t bytes,
                                           std::uint32_t version) {
    return impl_->audited(core::ops::datakey, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring, [&](AuditNote&) -> Result<DataKey> {
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, version));
                              KW_TRY(auto key,
                                     impl_->envelopes.generate_data_key(keyring, bytes, version));
                              KW_TRY(auto kek, kek_named_in(key.blob));
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, kek.version));
                              return key;
                          });
}

Result<Bytes> Keyward::wrap_data_key(const std::string& keyring, ByteView key,
                                     std::uint32_t version) {
    return impl_->audited(core::ops::datakey_wrap, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring, [&](AuditNote&) -> Result<Bytes> {
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, version));
                              KW_TRY(auto blob,
                                     impl_->envelopes.wrap_data_key(keyring, key, version));
                              KW_TRY(auto kek, kek_named_in(blob));
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, kek.version));
                              return blob;
                          });
}

Result<SecretBytes> Keyward::decrypt_data_key(ByteView blob) {
    auto kek = kek_named_in(blob);
    if (!kek.ok()) {
        return impl_->rejected_input(core::ops::datakey_decrypt, kek.error());
    }
    const std::string& ring = kek->keyring;
    return impl_->audited(core::ops::datakey_decrypt, core::Resource::of_keyring(ring),
                          "keyring:" + ring, [&](AuditNote&) -> Result<SecretBytes> {
                              KW_TRY_STATUS(check_decryption_policy(*impl_, ring, kek->version));
                              return impl_->envelopes.decrypt_data_key(blob);
                          });
}

Result<Bytes> Keyward::wrap_key_raw(const std::string& keyring, std::uint32_t version,
                                    ByteView key) {
    return impl_->audited(core::ops::datakey_wrap_raw, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring + "/v" + std::to_string(version),
                          [&](AuditNote&) -> Result<Bytes> {
                              KW_TRY_STATUS(check_encryption_policy(*impl_, keyring, version));
                              return impl_->envelopes.wrap_key_raw(keyring, version, key);
                          });
}

Result<SecretBytes> Keyward::unwrap_key_raw(const std::string& keyring, std::uint32_t version,
                                            ByteView wrapped) {
    return impl_->audited(core::ops::datakey_unwrap_raw, core::Resource::of_keyring(keyring),
                          "keyring:" + keyring + "/v" + std::to_string(version),
                          [&](AuditNote&) -> Result<SecretBytes> {
                              KW_TRY_STATUS(check_decryption_policy(*impl_, keyring, version));
                              return impl_->envelopes.unwrap_key_raw(keyring, version, wrapped);
                          });
}

std::string current_actor(const Keyward::Impl& impl) {
    return impl.caller().principal;
}

}  // namespace keyward
