// SPDX-License-Identifier: Apache-2.0
// Audit key template and HMAC-SHA256 in the token.
#include "p11/mac_key.hpp"

#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

// C_SignInit / C_VerifyInit failures that mean "not this key".
Error key_refused(const Call& c, const char* what) {
    if (c.rv() == CKR_OBJECT_HANDLE_INVALID || c.rv() == CKR_KEY_HANDLE_INVALID) {
        return Error(Errc::not_found, std::string(what) + ": the audit key's handle is stale");
    }
    if (c.rv() == CKR_KEY_FUNCTION_NOT_PERMITTED || c.rv() == CKR_KEY_TYPE_INCONSISTENT) {
        return Error(Errc::token_mismatch, std::string(what) +
                                               ": the token refuses HMAC with the audit key (" +
                                               c.error().message() + ")");
    }
    return c.error().context(what);
}

}  // namespace

Template mac_key_template(const std::string& label, ByteView id, bool modifiable) {
    Template t;
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
        .add_ulong(CKA_VALUE_LEN, 32)
        .add_string(CKA_LABEL, label)
        .add_bytes(CKA_ID, id)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_SENSITIVE, true)
        .add_bool(CKA_EXTRACTABLE, false)
        .add_bool(CKA_MODIFIABLE, modifiable)
        .add_bool(CKA_WRAP, false)
        .add_bool(CKA_UNWRAP, false)
        .add_bool(CKA_ENCRYPT, false)
        .add_bool(CKA_DECRYPT, false)
        .add_bool(CKA_SIGN, true)
        .add_bool(CKA_VERIFY, true)
        .add_bool(CKA_DERIVE, false);
    return t;
}

Result<Bytes> hmac_sign(const Session& s, CK_OBJECT_HANDLE key, ByteView data) {
    CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
    auto init = KW_P11_CALL(s.functions(), C_SignInit, s.handle(), &mech, key);
    if (!init.ok()) return key_refused(init, "HMAC in the token");
    Bytes out(kHmacSha256Size);
    CK_ULONG len = out.size();
    // PKCS#11 takes non-const data pointers; C_Sign only reads it.
    auto* in = const_cast<CK_BYTE*>(data.data());
    auto c = KW_P11_CALL(s.functions(), C_Sign, s.handle(), in, data.size(), out.data(), &len);
    if (!c.ok()) return c.error().context("HMAC in the token");
    if (len != kHmacSha256Size) {
        return Error(Errc::hsm_error,
                     "HMAC in the token: " + std::to_string(len) + " bytes instead of 32");
    }
    return out;
}

Result<bool> hmac_verify(const Session& s, CK_OBJECT_HANDLE key, ByteView data, ByteView tag) {
    CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
    auto init = KW_P11_CALL(s.functions(), C_VerifyInit, s.handle(), &mech, key);
    if (!init.ok()) return key_refused(init, "HMAC check in the token");
    auto* in = const_cast<CK_BYTE*>(data.data());
    auto* sig = const_cast<CK_BYTE*>(tag.data());
    auto c = KW_P11_CALL(s.functions(), C_Verify, s.handle(), in, data.size(), sig, tag.size());
    if (c.ok()) return true;
    if (c.rv() == CKR_SIGNATURE_INVALID || c.rv() == CKR_SIGNATURE_LEN_RANGE) return false;
    return c.error().context("HMAC check in the token");
}

}  // namespace keyward::p11
