// SPDX-License-Identifier: Apache-2.0
// Host randomness for DEKs and nonces: OpenSSL's private DRBG, kept apart from the public one
// so that bytes which are published (salts, IDs) never share a stream with keys.
#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstddef>

namespace keyward::crypto {

Status random_bytes(MutableByteView out) {
    // RAND_priv_bytes takes an int; nobody asks for 2 GiB at once, but chunk rather than assume.
    std::size_t done = 0;
    while (done < out.size()) {
        const std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
        if (RAND_priv_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
            secure_wipe(out.data(), out.size());
            return Error(Errc::failed,
                         "the random number generator failed (OpenSSL RAND_priv_bytes); check "
                         "the system entropy source");
        }
        done += chunk;
    }
    return ok_status();
}

}  // namespace keyward::crypto
