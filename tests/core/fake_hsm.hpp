// SPDX-License-Identifier: Apache-2.0
// A software Hsm for unit tests of the services: same interface as the PKCS#11 adapter, keys
// in host memory, RFC 5649 and GCM through keyward's host crypto. Never a substitute for the
// SoftHSM tests; it lets the services be tested for logic and failure paths.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "core/hsm.hpp"

namespace keyward::test {

class FakeHsm final : public core::Hsm {
  public:
    FakeHsm();

    const core::TokenIdentity& identity() const override { return identity_; }
    Result<std::vector<core::KekAttributes>> find_keks(const std::string& label) override;
    Result<std::size_t> count_public_objects(const std::string& label) override;
    Result<core::StateLedger> read_state_ledger() override { return ledger_; }
    Status record_state(const core::KekStateEvent& event) override;
    Result<core::KekAttributes> generate_kek(const std::string& label, Suite suite,
                                             ByteView id) override;
    Status destroy_kek(const std::string& label) override;
    Result<Bytes> check_value(const core::KekRef& kek) override;
    Result<Bytes> wrap_dek(const core::KekRef& kek, ByteView dek, ByteView aad) override;
    Result<SecretBytes> unwrap_dek(const core::KekRef& kek, ByteView wrapped,
                                   ByteView aad) override;
    Result<Bytes> rewrap_dek(const core::KekRef& from, ByteView wrapped, ByteView from_aad,
                             const core::KekRef& to, ByteView to_aad,
                             std::size_t dek_size) override;
    Result<core::KekAttributes> generate_mac_key(const std::string& label, ByteView id) override;
    Result<Bytes> mac(const std::string& key_label, ByteView data) override;
    Result<bool> verify_mac(const std::string& key_label, ByteView data, ByteView tag) override;
    Result<std::vector<core::DataObject>> find_data_objects(
        const std::string& application) override;
    Status create_data_object(const core::DataObject& object) override;
    Status destroy_data_object(const std::string& application, const std::string& label) override;
    Status generate_random(MutableByteView out) override;
    Result<bool> logged_in() override { return true; }
    Result<std::vector<core::KekAttributes>> objects_labelled(std::string_view prefix) override;
    Result<core::KekProbe> probe_kek(const core::KekRef& kek) override;
    Result<std::vector<core::KnownAnswer>> known_answer_tests() override;

    // Test controls.
    void set_identity(core::TokenIdentity id) { identity_ = std::move(id); }
    /// Adds an object as a crash or another tool would have left it (a public one when
    /// attrs.private_ is false: invisible to find_keks, as in a real token's logged-in search).
    void plant(const core::KekAttributes& attrs, SecretBytes key);
    /// The token's data objects (tests read and remove checkpoints).
    std::vector<core::DataObject>& data_objects() { return data_objects_; }
    /// The ledger as the token holds it (tests read and plant events).
    core::StateLedger& ledger() { return ledger_; }
    /// Replaces the key material behind a label (a swapped KEK keeping its CKA_ID).
    void replace_key_material(const std::string& label);
    /// Runs once, after the next wrap_dek has wrapped (and is cleared before it runs): lets a
    /// test act between a seal and the store write that follows it.
    std::function<void()> after_next_wrap;
    int generate_calls() const { return generate_calls_; }
    int wrap_calls() const { return wrap_calls_; }
    /// mac and verify_mac calls so far.
    int mac_calls() const { return mac_calls_; }

    static core::KekAttributes spec_attributes(const std::string& label, Suite suite, ByteView id);

  private:
    struct Object {
        core::KekAttributes attrs;
        SecretBytes key;
    };
    Result<const Object*> one(const std::string& label) const;
    /// one(), refused (token_mismatch) unless its attributes are keyward's for the suite.
    Result<const Object*> usable(const core::KekRef& kek) const;

    core::TokenIdentity identity_;
    std::multimap<std::string, Object> objects_;
    core::StateLedger ledger_;
    std::vector<core::DataObject> data_objects_;
    int generate_calls_ = 0;
    int wrap_calls_ = 0;
    int mac_calls_ = 0;
};

}  // namespace keyward::test
