// SPDX-License-Identifier: Apache-2.0
// Host randomness from OpenSSL's private DRBG (RAND_priv_bytes), for DEKs and nonces.
#pragma once

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::crypto {

Status random_bytes(MutableByteView out);

}  // namespace keyward::crypto
