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
        // One object another process destroyed meanwhile, or a vendor's odd object, must not
        // end the run: an object whose label cannot be read is skipped.
        auto label = read_bytes(s, h, CKA_LABEL);
        if (!label.ok() || !label->revealed) continue;
        const std::string text(label->value.begin(), label->value.end());
        if (text.substr(0, prefix.size()) != prefix) continue;
        auto fixed = read_fixed(s, h, kBools, kUlongs);
        auto id = read_bytes(s, h, CKA_ID);
        if (!fixed.ok()) continue;
        core::KekAttributes a;
        a.label = text;
        if (id.ok()) a.id = std::move(id->value);
        a.private_ = fixed->bools[0];
        a.sensitive = fixed->bools[1];
        a.extractable = fixed->bools[2];
        a.local = fixed->bools[3];
        if (fixed->ulongs[0]) a.object_class = object_class_name(*fixed->ulongs[0]);
        if (fixed->ulongs[1]) a.key_type = key_type_name(*fixed->ulongs[1]);
        a.value_len = fixed->ulongs[2];
        out.push_back(std::move(a));
    }
    return out;
}

Result<core::KekProbe> P11Hsm::probe_kek(const core::KekRef& kek) {
    KW_TRY_STATUS(check_process());
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    // Looked up by label without the attribute gate that every use applies: a KEK whose
    // attributes are wrong is exactly the one to probe.
    KW_TRY(const CK_OBJECT_HANDLE handle, find_unique_kek(s, kek.label));
    core::KekProbe probe;
    // 1. Its value: a sensitive key's CKA_VALUE is refused with CKR_ATTRIBUTE_SENSITIVE. Any
    //    other answer is not the refusal the check needs.
    {
        SecretBytes value(64);
        CK_ATTRIBUTE read{CKA_VALUE, value.data(), value.size()};
        auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), handle, &read, 1);
        if (c.ok() && read.ulValueLen != kUnavailable) {
            probe.value_read = "C_GetAttributeValue(CKA_VALUE) returned " +
                               std::to_string(read.ulValueLen) + " bytes";
        } else if (c.rv() != CKR_ATTRIBUTE_SENSITIVE) {
            probe.inconclusive = "C_GetAttributeValue(CKA_VALUE) answered " + rv_name(c.rv()) +
                                 ", not CKR_ATTRIBUTE_SENSITIVE";
        }
    }
    // 2. Wrapping it out under a session key the token generates now: refused with
    //    CKR_KEY_UNEXTRACTABLE (or CKR_KEY_NOT_WRAPPABLE) for a key that may not leave.
    Template t;
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_AES)
        .add_ulong(CKA_VALUE_LEN, 32)
        .add_bool(CKA_TOKEN, false)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_SENSITIVE, true)
        .add_bool(CKA_EXTRACTABLE, false)
        .add_bool(CKA_WRAP, true)
        .add_bool(CKA_UNWRAP, false);
    CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE wrapping = CK_INVALID_HANDLE;
    auto made =
        KW_P11_CALL(s.functions(), C_GenerateKey, s.handle(), &gen, t.data(), t.size(), &wrapping);
    if (!made.ok()) {
        const std::string why = "no session wrapping key (C_GenerateKey: " + rv_name(made.rv()) +
                                "): the wrap-out probe did not run";
        probe.inconclusive += (probe.inconclusive.empty() ? "" : "; ") + why;
        return probe;
    }
    ObjectGuard guard(s, wrapping);
    lease.note_objects_created(1);
    const CK_MECHANISM_TYPE mechanism = mechanisms_.suite1.value_or(CKM_AES_KEY_WRAP);
    CK_MECHANISM mech{mechanism, nullptr, 0};
    SecretBytes out(64);
    CK_ULONG out_len = out.size();
    auto c = KW_P11_CALL(s.functions(), C_WrapKey, s.handle(), &mech, wrapping, handle, out.data(),
                         &out_len);
    if (c.ok()) {
        probe.wrapped_out = "C_WrapKey(" + mechanism_name(mechanism) + ") wrapped it into " +
                            std::to_string(out_len) + " bytes";
    } else if (c.rv() != CKR_KEY_UNEXTRACTABLE && c.rv() != CKR_KEY_NOT_WRAPPABLE) {
        probe.inconclusive += (probe.inconclusive.empty() ? "" : "; ") + std::string("C_WrapKey(") +
                              mechanism_name(mechanism) + ") answered " + rv_name(c.rv()) +
                              ", not CKR_KEY_UNEXTRACTABLE";
    }
    return probe;
}

Result<std::vector<core::KnownAnswer>> P11Hsm::known_answer_tests() {
    KW_TRY_STATUS(check_process());
    // A session of its own, closed right after, as at connect: the tests' unwrapped objects
    // leak on SoftHSM until their session closes.
    KW_TRY(auto session, Session::open(module_, slot_, true));
    KW_TRY(auto m, probe_mechanisms(session, quirks_.pad_as_kwp));
    std::vector<core::KnownAnswer> out;
    // Judged against the mechanisms chosen at connect, which every wrap uses: a pass under
    // another mechanism would hide a failure of the one in use.
    core::KnownAnswer kwp{"suite 1 (RFC 5649 key wrap)", false, m.suite1_report};
    if (m.suite1 && m.suite1 == mechanisms_.suite1) {
        kwp.passed = true;
        kwp.detail = mechanism_name(*m.suite1) + " passed";
    } else if (m.suite1) {
        kwp.detail = mechanism_name(*m.suite1) + " passed, but keyward wraps with " +
                     (mechanisms_.suite1 ? mechanism_name(*mechanisms_.suite1)
                                         : std::string("nothing (suite 1 unavailable)"));
    }
    out.push_back(std::move(kwp));
    out.push_back(
        {"suite 2 (AES-GCM)", m.suite2 && mechanisms_.suite2,
         m.suite2 ? std::string("CKM_AES_GCM passed, a bad tag refused") : m.suite2_report});
    return out;
}

}  // namespace keyward::p11
