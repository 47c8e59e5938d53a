// SPDX-License-Identifier: Apache-2.0
// What compliance runs ask the token (docs/COMPLIANCE.md): the objects carrying keyward's
// labels, public ones included; negative probes on a live KEK; the mechanism known-answer
// tests, run again.
#include <array>

#include "p11/attributes.hpp"
#include "p11/kek_attributes.hpp"
#include "p11/key_ops.hpp"
#include "p11/mechanism_probe.hpp"
#include "p11/objects.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

// The fixed value of the session key the wrap probe wraps under: the probe must show that the
// token refuses, so nothing about the key matters but that it may wrap.
constexpr std::array<std::uint8_t, 32> kProbeWrappingKey = {
    0x6b, 0x65, 0x79, 0x77, 0x61, 0x72, 0x64, 0x20, 0x70, 0x72, 0x6f, 0x62, 0x65, 0x20, 0x6b, 0x65,
    0x79, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x2c, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x20, 0x6b, 0x65};

}  // namespace

Result<std::vector<core::KekAttributes>> P11Hsm::objects_labelled(std::string_view prefix) {
    KW_TRY_STATUS(check_process());
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    // Every token object the logged-in session sees: private ones, and public ones that
    // anyone could have made without the PIN. PKCS#11 has no prefix search.
    Template match;
    match.add_bool(CKA_TOKEN, true);
    KW_TRY(auto handles, find_objects(s, match.span()));
    static constexpr std::array<CK_ATTRIBUTE_TYPE, 4> kBools = {CKA_PRIVATE, CKA_SENSITIVE,
                                                                CKA_EXTRACTABLE, CKA_LOCAL};
    static constexpr std::array<CK_ATTRIBUTE_TYPE, 3> kUlongs = {CKA_CLASS, CKA_KEY_TYPE,
                                                                 CKA_VALUE_LEN};
    std::vector<core::KekAttributes> out;
    for (CK_OBJECT_HANDLE h : handles) {
        KW_TRY(auto label, read_bytes(s, h, CKA_LABEL));
        const std::string text(label.value.begin(), label.value.end());
        if (!label.revealed || text.substr(0, prefix.size()) != prefix) continue;
        KW_TRY(auto fixed, read_fixed(s, h, kBools, kUlongs));
        KW_TRY(auto id, read_bytes(s, h, CKA_ID));
        core::KekAttributes a;
        a.label = text;
        a.id = std::move(id.value);
        a.private_ = fixed.bools[0];
        a.sensitive = fixed.bools[1];
        a.extractable = fixed.bools[2];
        a.local = fixed.bools[3];
        if (fixed.ulongs[0]) a.object_class = object_class_name(*fixed.ulongs[0]);
        if (fixed.ulongs[1]) a.key_type = key_type_name(*fixed.ulongs[1]);
        a.value_len = fixed.ulongs[2];
        out.push_back(std::move(a));
    }
    return out;
}

Result<core::KekProbe> P11Hsm::probe_kek(const core::KekRef& kek) {
    KW_TRY_STATUS(check_process());
    // The handle as every use finds it: looked up by label, its attributes checked first.
    KW_TRY(auto lease, this->lease());
    KW_TRY(const CK_OBJECT_HANDLE handle, kek_handle(lease.session(), kek));
    {
        const Session& s = lease.session();
        core::KekProbe probe;
        // 1. The value: a sensitive key's CKA_VALUE is refused (CKR_ATTRIBUTE_SENSITIVE).
        std::array<std::uint8_t, 64> value{};
        CK_ATTRIBUTE read{CKA_VALUE, value.data(), value.size()};
        auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), handle, &read, 1);
        if (c.ok() && read.ulValueLen != kUnavailable) {
            probe.value_read = "C_GetAttributeValue(CKA_VALUE) returned " +
                               std::to_string(read.ulValueLen) + " bytes";
        }
        volatile std::uint8_t* wipe = value.data();
        for (std::size_t i = 0; i < value.size(); ++i) wipe[i] = 0;
        // 2. Wrapping it out under a session key this process knows: refused for a key that
        //    is not extractable (CKR_KEY_UNEXTRACTABLE).
        KW_TRY(auto wrapping,
               import_session_key(s, ByteView(kProbeWrappingKey.data(), kProbeWrappingKey.size()),
                                  KeyUse::aes_wrapping_key));
        lease.note_objects_created(1);
        const CK_MECHANISM_TYPE mechanism = mechanisms_.suite1.value_or(CKM_AES_KEY_WRAP_PAD);
        auto wrapped = wrap_key(s, mechanism, wrapping.handle(), handle, 48);
        if (wrapped.ok()) {
            probe.wrapped_out = "C_WrapKey(" + mechanism_name(mechanism) + ") wrapped it into " +
                                std::to_string(wrapped->size()) + " bytes";
        }
        return probe;
    }
}

Result<std::vector<core::KnownAnswer>> P11Hsm::known_answer_tests() {
    KW_TRY_STATUS(check_process());
    // A session of its own, closed right after, as at connect: the tests' unwrapped objects
    // leak on SoftHSM until their session closes.
    KW_TRY(auto session, Session::open(module_, slot_, true));
    KW_TRY(auto m, probe_mechanisms(session, quirks_.pad_as_kwp));
    std::vector<core::KnownAnswer> out;
    out.push_back({"suite 1 (RFC 5649 key wrap)", m.suite1.has_value(),
                   m.suite1 ? mechanism_name(*m.suite1) + " passed" : m.suite1_report});
    out.push_back(
        {"suite 2 (AES-GCM)", m.suite2,
         m.suite2 ? std::string("CKM_AES_GCM passed, a bad tag refused") : m.suite2_report});
    return out;
}

}  // namespace keyward::p11
