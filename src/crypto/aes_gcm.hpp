// SPDX-License-Identifier: Apache-2.0
// AES-256-GCM on the host through OpenSSL EVP (AES-NI): the payload cipher of every envelope.
// Only 96-bit nonces and 128-bit tags exist here; nothing shorter can be asked for.
#pragma once

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::crypto {

/// ciphertext || tag (16 bytes). key must be 32 bytes, nonce 12; else Errc::failed.
Result<Bytes> aes256gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);

/// Plaintext, only when the tag verifies; Errc::auth_failed otherwise (no partial output:
/// the work buffer is wiped before returning the error).
Result<SecretBytes> aes256gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext,
                                   ByteView tag);

/// General form used by the Wycheproof tests: any IV length OpenSSL accepts, tag 16 bytes.
Result<SecretBytes> aes_gcm_open_any_iv(ByteView key, ByteView iv, ByteView aad,
                                        ByteView ciphertext, ByteView tag);

}  // namespace keyward::crypto
