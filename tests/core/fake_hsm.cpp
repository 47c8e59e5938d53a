// SPDX-License-Identifier: Apache-2.0
// Software Hsm for service unit tests (see fake_hsm.hpp).
#include "fake_hsm.hpp"

#include <utility>

#include "core/kek_spec.hpp"
#include "crypto/aes_gcm.hpp"
#include "crypto/aes_kwp.hpp"
#include "crypto/random.hpp"
#include "crypto/sha256.hpp"

namespace keyward::test {

namespace {

constexpr char kTestKey[] = "keyward KEK check value, v1 key!";
constexpr char kCheckAad[] = "keyward check value v1";

}  // namespace

FakeHsm::FakeHsm() : identity_{"fake-token", "fake-serial-1", "keyward tests", "FakeHsm", "1.0"} {}

core::KekAttributes FakeHsm::spec_attributes(const std::string& label, Suite suite, ByteView id) {
    core::KekAttributes a;
    const bool kwp = suite == Suite::kwp;
    a.label = label;
    a.id.assign(id.begin(), id.end());
    a.object_class = "CKO_SECRET_KEY";
    a.key_type = "CKK_AES";
    a.value_len = 32;
    a.token = a.private_ = a.sensitive = a.never_extractable = a.always_sensitive = true;
    a.local = true;
    a.extractable = a.modifiable = a.sign = a.verify = a.derive = false;
    a.wrap = a.unwrap = kwp;
    a.encrypt = a.decrypt = !kwp;
    return a;
}

Result<std::vector<core::KekAttributes>> FakeHsm::find_keks(const std::string& label) {
    std::vector<core::KekAttributes> out;
    auto [b, e] = objects_.equal_range(label);
    for (auto it = b; it != e; ++it) {
        if (it->second.attrs.private_ == true) out.push_back(it->second.attrs);
    }
    return out;
}

Result<std::size_t> FakeHsm::count_public_objects(const std::string& label) {
    std::size_t n = 0;
    auto [b, e] = objects_.equal_range(label);
    for (auto it = b; it != e; ++it) n += it->second.attrs.private_ != true ? 1 : 0;
    return n;
}

Status FakeHsm::record_state(const core::KekStateEvent& event) {
    ledger_.events.push_back(event);
    return {};
}

Result<core::KekAttributes> FakeHsm::generate_kek(const std::string& label, Suite suite,
                                                  ByteView id) {
    ++generate_calls_;
    SecretBytes key(32);
    KW_TRY_STATUS(crypto::random_bytes(key));
    auto attrs = spec_attributes(label, suite, id);
    objects_.emplace(label, Object{attrs, std::move(key)});
    return attrs;
}

void FakeHsm::plant(const core::KekAttributes& attrs, SecretBytes key) {
    objects_.emplace(attrs.label, Object{attrs, std::move(key)});
}

void FakeHsm::replace_key_material(const std::string& label) {
    auto it = objects_.find(label);
    if (it != objects_.end()) (void)crypto::random_bytes(it->second.key);
}

Status FakeHsm::destroy_kek(const std::string& label) {
    KW_TRY(auto obj, one(label));
    for (auto it = objects_.begin(); it != objects_.end(); ++it) {
        if (&it->second == obj) {
            objects_.erase(it);
            break;
        }
    }
    return {};
}

Result<const FakeHsm::Object*> FakeHsm::one(const std::string& label) const {
    const Object* found = nullptr;
    auto [b, e] = objects_.equal_range(label);
    for (auto it = b; it != e; ++it) {
        if (it->second.attrs.private_ != true) continue;  // never seen, as in the real token
        if (found != nullptr) {
            return Error(Errc::token_mismatch,
                         "several KEKs labelled " + label + " in the fake token");
        }
        found = &it->second;
    }
    if (found == nullptr)
        return Error(Errc::not_found, "no KEK labelled " + label + " in the fake token");
    return found;
}

Result<const FakeHsm::Object*> FakeHsm::usable(const core::KekRef& kek) const {
    KW_TRY(auto obj, one(kek.label));
    if (auto why = core::kek_spec_mismatch(obj->attrs, kek.suite)) {
        return Error(Errc::token_mismatch, "KEK \"" + kek.label +
                                               "\" is not a KEK keyward "
                                               "generated: " +
                                               *why);
    }
    return obj;
}

Result<Bytes> FakeHsm::check_value(const core::KekRef& kek) {
    KW_TRY(auto obj, usable(kek));
    if (obj->key.empty()) {
        // What SoftHSM answers for an object a kill left without its key value.
        return Error(Errc::hsm_error, "C_WrapKey: CKR_GENERAL_ERROR");
    }
    ByteView test_key = as_bytes(std::string_view(kTestKey, 32));
    Bytes out;
    if (kek.suite == Suite::kwp) {
        KW_TRY(out, crypto::aes_kwp_wrap(obj->key, test_key));
    } else {
        Bytes zero_iv(12, 0);
        KW_TRY(out, crypto::aes256gcm_seal(obj->key, zero_iv, as_bytes(kCheckAad), test_key));
    }
    out.resize(8);
    return out;
}

Result<Bytes> FakeHsm::wrap_dek(const core::KekRef& kek, ByteView dek, ByteView aad) {
    ++wrap_calls_;
    KW_TRY(auto obj, usable(kek));
    Result<Bytes> wrapped = Bytes{};
    if (kek.suite == Suite::kwp) {
        wrapped = crypto::aes_kwp_wrap(obj->key, dek);
    } else {
        Bytes iv(12);
        KW_TRY_STATUS(crypto::random_bytes(iv));
        KW_TRY(auto sealed, crypto::aes256gcm_seal(obj->key, iv, aad, dek));
        iv.insert(iv.end(), sealed.begin(), sealed.end());
        wrapped = std::move(iv);
    }
    if (auto hook = std::exchange(after_next_wrap, nullptr)) hook();
    return wrapped;
}

Result<SecretBytes> FakeHsm::unwrap_dek(const core::KekRef& kek, ByteView wrapped, ByteView aad) {
    KW_TRY(auto obj, usable(kek));
    if (kek.suite == Suite::kwp) return crypto::aes_kwp_unwrap(obj->key, wrapped);
    if (wrapped.size() < 28) return Error(Errc::auth_failed, "authentication failed");
    return crypto::aes256gcm_open(obj->key, wrapped.first(12), aad,
                                  wrapped.subspan(12, wrapped.size() - 28), wrapped.last(16));
}

Result<Bytes> FakeHsm::rewrap_dek(const core::KekRef& from, ByteView wrapped, ByteView from_aad,
                                  const core::KekRef& to, ByteView to_aad, std::size_t dek_size) {
    KW_TRY(auto dek, unwrap_dek(from, wrapped, from_aad));
    if (dek_size != 0 && dek.size() != dek_size) {
        return Error(Errc::auth_failed, "authentication failed");
    }
    return wrap_dek(to, dek, to_aad);
}

Result<core::KekAttributes> FakeHsm::generate_mac_key(const std::string& label, ByteView id) {
    SecretBytes key(32);
    KW_TRY_STATUS(crypto::random_bytes(key));
    auto attrs = spec_attributes(label, Suite::kwp, id);
    attrs.key_type = "CKK_GENERIC_SECRET";
    attrs.wrap = attrs.unwrap = attrs.encrypt = attrs.decrypt = false;
    attrs.sign = attrs.verify = true;
    objects_.emplace(label, Object{attrs, std::move(key)});
    return attrs;
}

Result<Bytes> FakeHsm::mac(const std::string& key_label, ByteView data) {
    ++mac_calls_;
    KW_TRY(auto obj, one(key_label));
    if (auto why = core::mac_key_spec_mismatch(obj->attrs)) {
        return Error(Errc::token_mismatch, "audit key \"" + key_label + "\": " + *why);
    }
    auto tag = crypto::hmac_sha256(obj->key, data);
    return Bytes(tag.begin(), tag.end());
}

Result<bool> FakeHsm::verify_mac(const std::string& key_label, ByteView data, ByteView tag) {
    KW_TRY(auto expected, mac(key_label, data));
    return constant_time_equal(expected, tag);
}

Result<std::vector<core::DataObject>> FakeHsm::find_data_objects(const std::string& application) {
    std::vector<core::DataObject> out;
    for (const auto& o : data_objects_) {
        if (o.application == application) out.push_back(o);
    }
    return out;
}

Status FakeHsm::create_data_object(const core::DataObject& object) {
    data_objects_.push_back(object);
    return {};
}

Status FakeHsm::destroy_data_object(const std::string& application, const std::string& label) {
    std::erase_if(data_objects_, [&](const core::DataObject& o) {
        return o.application == application && o.label == label;
    });
    return {};
}

Status FakeHsm::generate_random(MutableByteView out) {
    return crypto::random_bytes(out);
}

Result<std::vector<core::KekAttributes>> FakeHsm::objects_labelled(std::string_view prefix) {
    std::vector<core::KekAttributes> out;
    for (const auto& [label, object] : objects_) {
        if (label.substr(0, prefix.size()) == prefix) out.push_back(object.attrs);
    }
    return out;
}

Result<core::KekProbe> FakeHsm::probe_kek(const core::KekRef& kek) {
    KW_TRY(auto obj, one(kek.label));
    core::KekProbe probe;
    // The fake refuses as a token must, unless the planted object says otherwise.
    if (obj->attrs.sensitive != true) probe.value_read = "CKA_VALUE was revealed";
    if (obj->attrs.extractable != false) probe.wrapped_out = "C_WrapKey wrapped it";
    return probe;
}

Result<std::vector<core::KnownAnswer>> FakeHsm::known_answer_tests() {
    return std::vector<core::KnownAnswer>{{"suite 1 (RFC 5649)", true, "fake"},
                                          {"suite 2 (AES-GCM)", true, "fake"}};
}

}  // namespace keyward::test
