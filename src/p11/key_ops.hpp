// SPDX-License-Identifier: Apache-2.0
// Single-session token operations on secret keys: importing session keys of known value,
// C_WrapKey / C_UnwrapKey, AES-GCM C_Encrypt / C_Decrypt, reading a key value, token RNG.
// Shared by the mechanism probe's known-answer tests and by P11Hsm. None of these count the
// objects they create: the caller notes them on its session lease.
#pragma once

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "p11/objects.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

inline constexpr std::size_t kGcmIvSize = 12;   // always 96-bit IVs (docs/FORMAT.md)
inline constexpr std::size_t kGcmTagSize = 16;  // always 128-bit tags: SoftHSM accepts 0..

enum class KeyUse {
    data_key,            // CKK_GENERIC_SECRET, extractable, not sensitive (value readable)
    sealed_data_key,     // CKK_GENERIC_SECRET, extractable, sensitive (wrap only, never read)
    aes_wrapping_key,    // CKK_AES, CKA_WRAP/CKA_UNWRAP
    aes_encryption_key,  // CKK_AES, CKA_ENCRYPT/CKA_DECRYPT
};

/// C_CreateObject of a session secret key (CKA_TOKEN false) with this value and use.
Result<ObjectGuard> import_session_key(const Session& s, ByteView value, KeyUse use);

/// C_WrapKey(mechanism, wrapping_key, key) into a buffer of size_hint bytes (grown if the token
/// says CKR_BUFFER_TOO_SMALL; 0 asks the size first). Handle errors (the KEK vanished) are
/// Errc::not_found so the caller can refresh its handle cache; a key whose attributes forbid
/// the use is Errc::token_mismatch; others Errc::hsm_error (the same for every function here).
Result<Bytes> wrap_key(const Session& s, CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE wrapping_key,
                       CK_OBJECT_HANDLE key, std::size_t size_hint);

/// RFC 5649 output size for a key of key_size bytes: 8 * ceil(key_size / 8) + 8.
constexpr std::size_t kwp_wrapped_size(std::size_t key_size) noexcept {
    return (key_size + 7) / 8 * 8 + 8;
}

/// C_UnwrapKey into a session CKK_GENERIC_SECRET key (extractable; sensitive as asked). Every
/// integrity failure, including SoftHSM's CKR_GENERAL_ERROR for a bad blob, is
/// Errc::auth_failed "authentication failed".
Result<ObjectGuard> unwrap_key(const Session& s, CK_MECHANISM_TYPE mechanism,
                               CK_OBJECT_HANDLE unwrapping_key, ByteView wrapped, bool sensitive);

/// CKA_VALUE of a non-sensitive key, at most max_size bytes.
Result<SecretBytes> read_key_value(const Session& s, CK_OBJECT_HANDLE key, std::size_t max_size);

/// The length of a non-sensitive key's CKA_VALUE, without reading the value (pValue = NULL).
/// Errc::hsm_error when the token will not tell it.
Result<std::size_t> read_value_length(const Session& s, CK_OBJECT_HANDLE key);

/// CKA_VALUE_LEN of a secret key (sensitive or not). Errc::hsm_error when the token will not
/// tell it. SoftHSM 2.6.1 answers 0 for unwrapped generic secrets (quirk value-len-zero).
Result<std::size_t> read_value_len_attribute(const Session& s, CK_OBJECT_HANDLE key);

/// CKM_AES_GCM encryption with a 96-bit IV and 128-bit tag: ciphertext || tag. `iv` is passed
/// to the token; a token that writes its own IV into the parameters leaves it there.
Result<Bytes> gcm_encrypt(const Session& s, CK_OBJECT_HANDLE key, MutableByteView iv, ByteView aad,
                          ByteView plaintext);

/// Inverse of gcm_encrypt; any integrity failure is Errc::auth_failed.
Result<SecretBytes> gcm_decrypt(const Session& s, CK_OBJECT_HANDLE key, ByteView iv, ByteView aad,
                                ByteView ciphertext_and_tag);

/// C_GenerateRandom.
Status token_random(const Session& s, MutableByteView out);

}  // namespace keyward::p11
