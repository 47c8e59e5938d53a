// SPDX-License-Identifier: Apache-2.0
// RFC 5649 AES key wrap with padding on the host (OpenSSL's id-aes*-wrap-pad). keyward's own
// envelopes are wrapped in the token; this serves the software fake HSM, the token's
// known-answer test and the Wycheproof checks of both.
#pragma once

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::crypto {

/// kek 16, 24 or 32 bytes; key 1 byte or more. Output 8*ceil(len/8) + 8 bytes.
Result<Bytes> aes_kwp_wrap(ByteView kek, ByteView key);

/// Errc::auth_failed for any integrity failure (bad length, bad ICV, bad padding).
Result<SecretBytes> aes_kwp_unwrap(ByteView kek, ByteView wrapped);

}  // namespace keyward::crypto
