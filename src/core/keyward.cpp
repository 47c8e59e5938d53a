// SPDX-License-Identifier: Apache-2.0
// The public facade over the services: a handle assembled from any Hsm and Store. The one
// place that knows PKCS#11 and SQLite is Keyward::open, in src/api (keyward_open.cpp).
#include "keyward/keyward.hpp"

#include <unistd.h>

#include <cstdlib>

#include "core/assemble.hpp"
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"

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
                                          const Config& config, const OpenOptions& open) {
    auto impl = std::make_unique<Keyward::Impl>(std::move(hsm), std::move(store), config);
    KW_TRY_STATUS(impl->keyrings.verify_binding(open.diagnose));
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
    if (cryptoperiod_days == 0 || cryptoperiod_days > 36500) {
        return Error(Errc::usage, "a cryptoperiod is 1 to 36500 days");
    }
    KW_TRY(auto ring, impl_->keyrings.create(name, suite, cryptoperiod_days));
    return to_info(*impl_->store, ring);
}

Result<KeyringInfo> Keyward::keyring(const std::string& name) {
    KW_TRY(auto ring, impl_->keyrings.show(name));
    return to_info(*impl_->store, ring);
}

Result<std::vector<KeyringInfo>> Keyward::keyrings() {
    KW_TRY(auto rings, impl_->keyrings.list());
    std::vector<KeyringInfo> out;
    for (const auto& ring : rings) {
        KW_TRY(auto info, to_info(*impl_->store, ring));
        out.push_back(std::move(info));
    }
    return out;
}

Result<Bytes> Keyward::seal(const std::string& keyring, ByteView plaintext, ByteView context) {
    return impl_->envelopes.seal(keyring, plaintext, context);
}

Result<SecretBytes> Keyward::open(ByteView envelope, ByteView context) {
    return impl_->envelopes.open(envelope, context);
}

Result<Bytes> Keyward::rewrap(ByteView envelope_or_blob) {
    return impl_->envelopes.rewrap(envelope_or_blob);
}

Result<DataKey> Keyward::generate_data_key(const std::string& keyring, std::size_t bytes) {
    return impl_->envelopes.generate_data_key(keyring, bytes);
}

Result<SecretBytes> Keyward::decrypt_data_key(ByteView blob) {
    return impl_->envelopes.decrypt_data_key(blob);
}

// Who made a change: the OS user, until access control names principals.
std::string current_actor() {
    const char* user = std::getenv("USER");
    return user != nullptr && *user != '\0' ? user : "uid:" + std::to_string(::getuid());
}

}  // namespace keyward
