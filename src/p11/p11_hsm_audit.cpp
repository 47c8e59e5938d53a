// SPDX-License-Identifier: Apache-2.0
// P11Hsm's audit-key and data-object operations: generating the audit key, HMAC sign and
// verify in the token, and write-once private data objects (docs/AUDIT.md).
#include "core/kek_spec.hpp"
#include "p11/data_objects.hpp"
#include "p11/kek_attributes.hpp"
#include "p11/mac_key.hpp"
#include "p11/objects.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

Result<CK_OBJECT_HANDLE> P11Hsm::mac_key_handle(const Session& s, const std::string& label) {
    {
        std::lock_guard lock(cache_mutex_);
        auto it = mac_key_cache_.find(label);
        if (it != mac_key_cache_.end()) return it->second;
    }
    KW_TRY(auto handle, find_unique_kek(s, label));
    // As for KEKs: the object's own attributes decide, not the database's word for it.
    KW_TRY(auto a, read_kek_attributes(s, handle));
    if (auto why = core::mac_key_spec_mismatch(a, quirks_.modifiable_keks)) {
        return Error(Errc::token_mismatch, "audit key \"" + label + "\" in token \"" +
                                               identity_.label +
                                               "\" is not a key keyward generated: " + *why +
                                               "; keyward refuses to use it");
    }
    std::lock_guard lock(cache_mutex_);
    mac_key_cache_[label] = handle;
    return handle;
}

template <typename Op>
auto P11Hsm::with_mac_key(const std::string& label, Op&& op)
    -> decltype(op(std::declval<const Session&>(), CK_OBJECT_HANDLE{})) {
    KW_TRY(auto lease, this->lease());
    for (int attempt = 0;; ++attempt) {
        KW_TRY(CK_OBJECT_HANDLE handle, mac_key_handle(lease.session(), label));
        auto result = op(lease.session(), handle);
        if (!result.ok() && result.error().code() == Errc::not_found && attempt == 0) {
            std::lock_guard lock(cache_mutex_);
            mac_key_cache_.erase(label);
            continue;
        }
        // A sign or verify that failed unexpectedly may leave the operation active.
        if (!result.ok() && result.error().code() == Errc::hsm_error) lease.discard();
        return result;
    }
}

Result<core::KekAttributes> P11Hsm::generate_mac_key(const std::string& label, ByteView id) {
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    CK_MECHANISM mech{CKM_GENERIC_SECRET_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    auto t = mac_key_template(label, id, false);
    auto c =
        KW_P11_CALL(s.functions(), C_GenerateKey, s.handle(), &mech, t.data(), t.size(), &handle);
    if (!c.ok() && quirks_.modifiable_keks &&
        (c.rv() == CKR_ATTRIBUTE_READ_ONLY || c.rv() == CKR_TEMPLATE_INCONSISTENT ||
         c.rv() == CKR_ATTRIBUTE_VALUE_INVALID)) {
        t.set_bool(CKA_MODIFIABLE, true);
        c = KW_P11_CALL(s.functions(), C_GenerateKey, s.handle(), &mech, t.data(), t.size(),
                        &handle);
    }
    if (!c.ok()) {
        lease.discard();
        return c.error().context("generating the audit key \"" + label + "\"");
    }
    KW_TRY(auto handles, find_secret_keys_by_label(s, label));
    if (handles.size() != 1) {
        return Error(Errc::hsm_error, "the token generated the audit key \"" + label + "\" but " +
                                          std::to_string(handles.size()) +
                                          " objects carry its label now");
    }
    return read_kek_attributes(s, handles.front());
}

Result<Bytes> P11Hsm::mac(const std::string& key_label, ByteView data) {
    return with_mac_key(
        key_label, [&](const Session& s, CK_OBJECT_HANDLE key) { return hmac_sign(s, key, data); });
}

Result<bool> P11Hsm::verify_mac(const std::string& key_label, ByteView data, ByteView tag) {
    return with_mac_key(key_label, [&](const Session& s, CK_OBJECT_HANDLE key) {
        return hmac_verify(s, key, data, tag);
    });
}

Result<std::vector<core::DataObject>> P11Hsm::find_data_objects(const std::string& application) {
    KW_TRY(auto lease, this->lease());
    return read_data_objects(lease.session(), application);
}

Status P11Hsm::create_data_object(const core::DataObject& object) {
    KW_TRY(auto lease, this->lease());
    return p11::create_data_object(lease.session(), object);
}

Status P11Hsm::destroy_data_object(const std::string& application, const std::string& label) {
    KW_TRY(auto lease, this->lease());
    return destroy_data_objects(lease.session(), application, label);
}

}  // namespace keyward::p11
