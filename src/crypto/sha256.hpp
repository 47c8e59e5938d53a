// SPDX-License-Identifier: Apache-2.0
// SHA-256 on the host (the audit chain's links) and HMAC-SHA256 (only the fake token of the
// unit tests computes one on the host; keyward's own MACs are made in the token).
#pragma once

#include <array>
#include <cstdint>

#include "keyward/bytes.hpp"

namespace keyward::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    Sha256& update(ByteView data);
    Sha256& update(std::string_view text);
    /// Appends v as 8 big-endian bytes.
    Sha256& update_u64(std::uint64_t v);
    /// Appends a 4-byte big-endian length and the bytes: fields cannot run into each other.
    Sha256& update_field(std::string_view text);
    Sha256Digest finish();

  private:
    void* ctx_;  // EVP_MD_CTX*, kept out of this header
};

Sha256Digest sha256(ByteView data);

/// HMAC-SHA256 on the host.
Sha256Digest hmac_sha256(ByteView key, ByteView data);

}  // namespace keyward::crypto
