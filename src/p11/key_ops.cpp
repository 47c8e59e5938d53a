// SPDX-License-Identifier: Apache-2.0
// Token operations on secret keys, each in one session, each through the KW_P11_CALL funnel.
#include "p11/key_ops.hpp"

#include "p11/attributes.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

bool is_handle_error(CK_RV rv) {
    return rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
           rv == CKR_WRAPPING_KEY_HANDLE_INVALID || rv == CKR_UNWRAPPING_KEY_HANDLE_INVALID;
}

// The KEK's handle went stale (destroyed, replaced): not_found lets P11Hsm look it up again.
// A key used for what its attributes forbid (a suite 2 KEK asked to wrap) is token_mismatch:
// the token holds another kind of key under that label than the caller expects.
Error op_error(const Call& c) {
    if (is_handle_error(c.rv())) return c.error(Errc::not_found);
    if (c.rv() == CKR_KEY_FUNCTION_NOT_PERMITTED || c.rv() == CKR_KEY_TYPE_INCONSISTENT ||
        c.rv() == CKR_WRAPPING_KEY_TYPE_INCONSISTENT ||
        c.rv() == CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT) {
        return c.error(Errc::token_mismatch);
    }
    return c.error(Errc::hsm_error);
}

// For calls that check integrity (unwrap, decrypt): those failures are one indistinct error.
Error integrity_op_error(const Call& c) {
    if (is_integrity_failure(c.rv())) return auth_failed_error();
    return op_error(c);
}

// The one CKM_AES_GCM parameter block, for encryption and decryption alike: a 96-bit IV (its
// length in bytes and in bits: modules read one or the other), the AAD and a 128-bit tag. The
// mechanism points into the object, so it is built in place and never copied or moved.
struct GcmMechanism {
    CK_GCM_PARAMS params{};
    CK_MECHANISM mechanism{CKM_AES_GCM, &params, sizeof params};

    GcmMechanism(std::uint8_t* iv, ByteView aad) {
        params.pIv = iv;
        params.ulIvLen = kGcmIvSize;
        params.ulIvBits = kGcmIvSize * 8;
        params.pAAD = const_cast<std::uint8_t*>(aad.data());
        params.ulAADLen = static_cast<CK_ULONG>(aad.size());
        params.ulTagBits = kGcmTagSize * 8;
    }
    GcmMechanism(const GcmMechanism&) = delete;
    GcmMechanism& operator=(const GcmMechanism&) = delete;
};

}  // namespace

Result<ObjectGuard> import_session_key(const Session& s, ByteView value, KeyUse use) {
    Template t;
    const bool aes = use == KeyUse::aes_wrapping_key || use == KeyUse::aes_encryption_key;
    // CKA_PRIVATE false: a session object is visible to this process only anyway, and SoftHSM
    // encrypts a private object's value with the token key on every create and use (measured
    // on 2.6.1: suite 1 wrap 8.9k/s private, 12.8k/s not).
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, aes ? CKK_AES : CKK_GENERIC_SECRET)
        .add_bool(CKA_TOKEN, false)
        .add_bool(CKA_PRIVATE, false)
        .add_bool(CKA_SENSITIVE, use != KeyUse::data_key)
        .add_bool(CKA_EXTRACTABLE, !aes)
        .add_bool(CKA_WRAP, use == KeyUse::aes_wrapping_key)
        .add_bool(CKA_UNWRAP, use == KeyUse::aes_wrapping_key)
        .add_bool(CKA_ENCRYPT, use == KeyUse::aes_encryption_key)
        .add_bool(CKA_DECRYPT, use == KeyUse::aes_encryption_key)
        .add_bool(CKA_SIGN, false)
        .add_bool(CKA_VERIFY, false)
        .add_bool(CKA_DERIVE, false)
        .add_bytes(CKA_VALUE, value);
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    auto c = KW_P11_CALL(s.functions(), C_CreateObject, s.handle(), t.data(), t.size(), &handle);
    if (!c.ok()) return c.error();
    return ObjectGuard(s, handle);
}

Result<Bytes> wrap_key(const Session& s, CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE wrapping_key,
                       CK_OBJECT_HANDLE key, std::size_t size_hint) {
    CK_MECHANISM mech{mechanism, nullptr, 0};
    // One call with a buffer of the expected size: a size query would double the token work.
    Bytes out(size_hint);
    auto size = static_cast<CK_ULONG>(out.size());
    auto c = KW_P11_CALL(s.functions(), C_WrapKey, s.handle(), &mech, wrapping_key, key,
                         out.empty() ? nullptr : out.data(), &size);
    if (out.empty() || c.rv() == CKR_BUFFER_TOO_SMALL) {
        if (!out.empty() || c.ok()) {
            out.resize(size);
            c = KW_P11_CALL(s.functions(), C_WrapKey, s.handle(), &mech, wrapping_key, key,
                            out.data(), &size);
        }
    }
    if (!c.ok()) return op_error(c);
    out.resize(size);
    return out;
}

Result<ObjectGuard> unwrap_key(const Session& s, CK_MECHANISM_TYPE mechanism,
                               CK_OBJECT_HANDLE unwrapping_key, ByteView wrapped, bool sensitive) {
    Template t;  // session object, not private: see import_session_key
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
        .add_bool(CKA_TOKEN, false)
        .add_bool(CKA_PRIVATE, false)
        .add_bool(CKA_SENSITIVE, sensitive)
        .add_bool(CKA_EXTRACTABLE, true)
        .add_bool(CKA_WRAP, false)
        .add_bool(CKA_UNWRAP, false)
        .add_bool(CKA_ENCRYPT, false)
        .add_bool(CKA_DECRYPT, false)
        .add_bool(CKA_SIGN, false)
        .add_bool(CKA_VERIFY, false)
        .add_bool(CKA_DERIVE, false);
    CK_MECHANISM mech{mechanism, nullptr, 0};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    auto c = KW_P11_CALL(s.functions(), C_UnwrapKey, s.handle(), &mech, unwrapping_key,
                         const_cast<std::uint8_t*>(wrapped.data()),
                         static_cast<CK_ULONG>(wrapped.size()), t.data(), t.size(), &handle);
    if (!c.ok()) return integrity_op_error(c);
    return ObjectGuard(s, handle);
}

Result<SecretBytes> read_key_value(const Session& s, CK_OBJECT_HANDLE key, std::size_t max_size) {
    SecretBytes value(max_size);
    CK_ATTRIBUTE a{CKA_VALUE, value.data(), static_cast<CK_ULONG>(value.size())};
    auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), key, &a, CK_ULONG{1});
    if (!c.ok()) return op_error(c);
    if (a.ulValueLen == kUnavailable || a.ulValueLen > value.size()) {
        return Error(Errc::hsm_error, "C_GetAttributeValue: the token did not return CKA_VALUE");
    }
    value.resize(a.ulValueLen);
    return value;
}

Result<std::size_t> read_value_length(const Session& s, CK_OBJECT_HANDLE key) {
    CK_ATTRIBUTE a{CKA_VALUE, nullptr, 0};
    auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), key, &a, CK_ULONG{1});
    if (!c.ok()) return op_error(c);
    if (a.ulValueLen == kUnavailable) {
        return Error(Errc::hsm_error,
                     "C_GetAttributeValue: the token did not tell the length of CKA_VALUE");
    }
    return static_cast<std::size_t>(a.ulValueLen);
}

Result<std::size_t> read_value_len_attribute(const Session& s, CK_OBJECT_HANDLE key) {
    CK_ULONG length = 0;
    CK_ATTRIBUTE a{CKA_VALUE_LEN, &length, sizeof length};
    auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), key, &a, CK_ULONG{1});
    if (!c.ok()) return op_error(c);
    if (a.ulValueLen != sizeof length) {
        return Error(Errc::hsm_error,
                     "C_GetAttributeValue: the token did not return CKA_VALUE_LEN");
    }
    return static_cast<std::size_t>(length);
}

Result<Bytes> gcm_encrypt(const Session& s, CK_OBJECT_HANDLE key, MutableByteView iv, ByteView aad,
                          ByteView plaintext) {
    if (iv.size() != kGcmIvSize) return Error(Errc::failed, "AES-GCM needs a 12-byte IV");
    GcmMechanism gcm(iv.data(), aad);
    auto c = KW_P11_CALL(s.functions(), C_EncryptInit, s.handle(), &gcm.mechanism, key);
    if (!c.ok()) return op_error(c);
    // One call with room to spare: no size query, so the operation ends with this call.
    Bytes out(plaintext.size() + 2 * kGcmTagSize);
    auto size = static_cast<CK_ULONG>(out.size());
    // SoftHSM answers CKR_ARGUMENTS_BAD to a null data pointer even when the length is 0.
    std::uint8_t none = 0;
    auto* data = plaintext.empty() ? &none : const_cast<std::uint8_t*>(plaintext.data());
    c = KW_P11_CALL(s.functions(), C_Encrypt, s.handle(), data,
                    static_cast<CK_ULONG>(plaintext.size()), out.data(), &size);
    if (!c.ok()) return op_error(c);
    if (size != plaintext.size() + kGcmTagSize) {
        return Error(Errc::hsm_error, "C_Encrypt: CKM_AES_GCM returned " + std::to_string(size) +
                                          " bytes, expected ciphertext and a 16-byte tag");
    }
    out.resize(size);
    return out;
}

Result<SecretBytes> gcm_decrypt(const Session& s, CK_OBJECT_HANDLE key, ByteView iv, ByteView aad,
                                ByteView ciphertext_and_tag) {
    if (iv.size() != kGcmIvSize || ciphertext_and_tag.size() < kGcmTagSize) {
        return auth_failed_error();
    }
    GcmMechanism gcm(const_cast<std::uint8_t*>(iv.data()), aad);
    auto c = KW_P11_CALL(s.functions(), C_DecryptInit, s.handle(), &gcm.mechanism, key);
    if (!c.ok()) return op_error(c);
    SecretBytes out(ciphertext_and_tag.size());
    auto size = static_cast<CK_ULONG>(out.size());
    c = KW_P11_CALL(s.functions(), C_Decrypt, s.handle(),
                    const_cast<std::uint8_t*>(ciphertext_and_tag.data()),
                    static_cast<CK_ULONG>(ciphertext_and_tag.size()), out.data(), &size);
    if (!c.ok()) return integrity_op_error(c);
    if (size != ciphertext_and_tag.size() - kGcmTagSize) {
        return Error(Errc::hsm_error, "C_Decrypt: CKM_AES_GCM returned " + std::to_string(size) +
                                          " bytes, expected the ciphertext length");
    }
    out.resize(size);
    return out;
}

Status token_random(const Session& s, MutableByteView out) {
    if (out.empty()) return ok_status();
    auto c = KW_P11_CALL(s.functions(), C_GenerateRandom, s.handle(), out.data(),
                         static_cast<CK_ULONG>(out.size()));
    return c.status();
}

}  // namespace keyward::p11
