// SPDX-License-Identifier: Apache-2.0
// Envelope service: seal, open, rewrap and data keys (docs/FORMAT.md). The DEK is made on the
// host by OpenSSL's DRBG, wrapped by the token, used for AES-256-GCM on the host, and wiped.
#pragma once

#include <string>

#include "core/hsm.hpp"
#include "core/keyrings.hpp"
#include "core/store.hpp"
#include "core/wrap_budget.hpp"

namespace keyward::core {

class Envelopes {
  public:
    Envelopes(Hsm& hsm, Keyrings& keyrings, WrapBudget& budget)
        : hsm_(hsm), keyrings_(keyrings), budget_(budget) {}

    /// KWE1 envelope of plaintext under the keyring's active KEK.
    Result<Bytes> seal(const std::string& keyring, ByteView plaintext, ByteView context);

    /// Plaintext, only when every check passes: reader rules (one Errc per rule), the KEK
    /// version's state, and authentication (Errc::auth_failed, whichever check failed).
    Result<SecretBytes> open(ByteView envelope, ByteView context);

    /// The envelope or KWK1 blob with its DEK re-wrapped under the keyring's active version
    /// (header only changes). Returned unchanged when it already names the active version.
    Result<Bytes> rewrap(ByteView envelope_or_blob);

    /// A fresh data key of `bytes` bytes (suite 1: 16..64; suite 2: 32) and its KWK1 blob,
    /// under the active version; under `version` when it is not 0, refused unless that is the
    /// active one (a caller that pinned a version gets that version or an error, even when a
    /// rotation lands between its check and the wrap).
    Result<DataKey> generate_data_key(const std::string& keyring, std::size_t bytes,
                                      std::uint32_t version = 0);
    /// The KWK1 blob of a caller's data key (16-64 bytes; suite 2: 32), versions as above.
    Result<Bytes> wrap_data_key(const std::string& keyring, ByteView key,
                                std::uint32_t version = 0);

    /// The DEK inside a KWK1 blob.
    Result<SecretBytes> decrypt_data_key(ByteView blob);

    /// Raw RFC 5649 (no keyward header) of a caller's data key (16-64 bytes) under `version`,
    /// which must be the active version of a suite 1 keyring: what `openssl enc
    /// -id-aes256-wrap-pad` makes with the KEK's value, for peers that only speak the RFC.
    Result<Bytes> wrap_key_raw(const std::string& keyring, std::uint32_t version, ByteView key);
    /// Inverse of wrap_key_raw under a version named by the caller (the output carries none):
    /// active, decrypt-only or compromised, as for blobs.
    Result<SecretBytes> unwrap_key_raw(const std::string& keyring, std::uint32_t version,
                                       ByteView wrapped);

  private:
    struct Target {
        KeyringRow ring;
        KekVersionRow version;
        KekRef kek;
    };
    Result<Target> active_target(const std::string& keyring);
    Result<Target> named_target(const std::string& keyring, std::uint32_t version);
    /// The active version's target; with version != 0, that version's, refused unless active.
    Result<Target> wrap_target(const std::string& keyring, std::uint32_t version);
    Result<Bytes> wrap(const Target& t, ByteView dek);
    Result<SecretBytes> unwrap(const Target& t, ByteView wrapped);

    Hsm& hsm_;
    Keyrings& keyrings_;
    WrapBudget& budget_;
};

}  // namespace keyward::core
