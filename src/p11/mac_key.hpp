// SPDX-License-Identifier: Apache-2.0
// The audit key (docs/AUDIT.md) as PKCS#11 objects and calls: its generation template (every
// attribute explicit, as for KEKs) and single-session CKM_SHA256_HMAC sign and verify.
#pragma once

#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "p11/attributes.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

inline constexpr std::size_t kHmacSha256Size = 32;

/// CKM_GENERIC_SECRET_KEY_GEN template: 32-byte CKK_GENERIC_SECRET token key, private,
/// sensitive, not extractable, CKA_SIGN and CKA_VERIFY only. `label` and `id` must outlive it.
Template mac_key_template(const std::string& label, ByteView id, bool modifiable);

/// CKM_SHA256_HMAC C_Sign: 32 bytes. A key whose attributes forbid signing is token_mismatch;
/// a stale handle not_found; anything else hsm_error.
Result<Bytes> hmac_sign(const Session& s, CK_OBJECT_HANDLE key, ByteView data);

/// CKM_SHA256_HMAC C_Verify: true when tag verifies, false on CKR_SIGNATURE_INVALID or
/// CKR_SIGNATURE_LEN_RANGE (a tag of the wrong length).
Result<bool> hmac_verify(const Session& s, CK_OBJECT_HANDLE key, ByteView data, ByteView tag);

}  // namespace keyward::p11
