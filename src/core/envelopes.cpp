// SPDX-License-Identifier: Apache-2.0
// Seal, open, rewrap and data keys over the Hsm port and the pure codec.
#include "core/envelopes.hpp"

#include "crypto/aes_gcm.hpp"
#include "crypto/envelope_codec.hpp"
#include "crypto/random.hpp"

namespace keyward::core {

namespace {

Error auth_failed() {
    return Error(Errc::auth_failed, "authentication failed");
}

Status check_context(ByteView context) {
    if (context.size() > kMaxContext) {
        return Error(Errc::usage, "context is " + std::to_string(context.size()) +
                                      " bytes; at most 65535 are allowed");
    }
    return {};
}

// Suite 2 binds the wrapped DEK to the keyring and version that wrap it; suite 1 has no AAD.
Bytes dek_aad(Suite suite, const std::string& keyring, std::uint32_t version) {
    if (suite == Suite::gcm) return crypto::gcm_dek_wrap_aad(keyring, version);
    return {};
}

}  // namespace

Result<Envelopes::Target> Envelopes::active_target(const std::string& keyring) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    for (auto& v : ring.versions) {
        if (v.state != KekState::active) continue;
        KW_TRY(auto kek, keyrings_.kek_for(ring, v));
        KekVersionRow version = v;
        return Target{std::move(ring), std::move(version), std::move(kek)};
    }
    std::string newest;
    if (!ring.versions.empty()) {
        const auto& last = ring.versions.back();
        newest = ": version " + std::to_string(last.version) + " is " +
                 std::string(kek_state_name(last.state)) +
                 "; make a new one with keyward keyring "
                 "rotate " +
                 keyring + (last.state == KekState::compromised ? " --reencrypt" : "");
    }
    return Error(Errc::state_refused, "keyring \"" + keyring + "\" has no active version" + newest +
                                          " (see keyward keyring show " + keyring + ")");
}

Result<Envelopes::Target> Envelopes::named_target(const std::string& keyring,
                                                  std::uint32_t version) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    for (auto& v : ring.versions) {
        if (v.version != version) continue;
        KW_TRY(auto kek, keyrings_.kek_for(ring, v));
        KekVersionRow row = v;
        return Target{std::move(ring), std::move(row), std::move(kek)};
    }
    std::string have =
        ring.versions.empty() ? "none" : "1-" + std::to_string(ring.versions.back().version);
    return Error(Errc::not_found, "keyring \"" + keyring + "\" has no version " +
                                      std::to_string(version) + " (versions " + have +
                                      " exist; see keyward keyring show " + keyring + ")");
}

Result<Bytes> Envelopes::wrap(const Target& t, ByteView dek) {
    if (t.ring.suite == Suite::gcm) KW_TRY_STATUS(budget_.take(t.ring.name, t.version.version));
    return hsm_.wrap_dek(t.kek, dek, dek_aad(t.ring.suite, t.ring.name, t.version.version));
}

Result<SecretBytes> Envelopes::unwrap(const Target& t, ByteView wrapped) {
    return hsm_.unwrap_dek(t.kek, wrapped, dek_aad(t.ring.suite, t.ring.name, t.version.version));
}

Result<Bytes> Envelopes::seal(const std::string& keyring, ByteView plaintext, ByteView context) {
    if (plaintext.size() > kMaxPlaintext) {
        return Error(Errc::input_too_large, "input is " + std::to_string(plaintext.size()) +
                                                " bytes; envelopes hold at most 64 MiB");
    }
    KW_TRY_STATUS(check_context(context));
    KW_TRY(auto target, active_target(keyring));

    SecretBytes dek(kDekSize);
    Bytes nonce(kNonceSize);
    KW_TRY_STATUS(crypto::random_bytes(dek));
    KW_TRY_STATUS(crypto::random_bytes(nonce));
    KW_TRY(auto wrapped, wrap(target, dek));
    KW_TRY(auto sealed,
           crypto::aes256gcm_seal(dek, nonce, crypto::payload_aad(target.ring.suite, context),
                                  plaintext));
    crypto::KeyHeader header{target.ring.suite, target.ring.name, target.version.version,
                             std::move(wrapped)};
    ByteView body(sealed);
    return crypto::serialize_envelope(header, nonce, body.first(body.size() - kTagSize),
                                      body.last(kTagSize));
}

Result<SecretBytes> Envelopes::open(ByteView envelope, ByteView context) {
    KW_TRY_STATUS(check_context(context));
    KW_TRY(auto env, crypto::parse_envelope(envelope));
    KW_TRY(auto target, named_target(env.header.keyring, env.header.kek_version));
    // A suite the keyring does not use cannot have been written by it.
    if (env.header.suite != target.ring.suite) return auth_failed();
    KW_TRY(auto dek, unwrap(target, env.header.wrapped_dek));
    if (dek.size() != kDekSize) return auth_failed();
    return crypto::aes256gcm_open(dek, env.nonce, crypto::payload_aad(env.header.suite, context),
                                  env.ciphertext, env.tag);
}

Result<Bytes> Envelopes::rewrap(ByteView input) {
    const auto kind = crypto::detect_kind(input);
    if (kind == BlobKind::unknown) {
        // Let the envelope reader name the first broken rule.
        KW_TRY(auto env, crypto::parse_envelope(input));
        (void)env;
        return Error(Errc::bad_magic, "input is neither a keyward envelope nor a data key blob");
    }
    crypto::KeyHeader header;
    crypto::EnvelopeView env;
    if (kind == BlobKind::envelope) {
        KW_TRY(env, crypto::parse_envelope(input));
        header = env.header;
    } else {
        KW_TRY(header, crypto::parse_data_key_blob(input));
    }
    KW_TRY(auto from, named_target(header.keyring, header.kek_version));
    if (header.suite != from.ring.suite) return auth_failed();
    KW_TRY(auto to, active_target(header.keyring));
    if (to.version.version == from.version.version) return Bytes(input.begin(), input.end());

    if (to.ring.suite == Suite::gcm) KW_TRY_STATUS(budget_.take(to.ring.name, to.version.version));
    KW_TRY(auto wrapped,
           hsm_.rewrap_dek(from.kek, header.wrapped_dek,
                           dek_aad(from.ring.suite, from.ring.name, from.version.version), to.kek,
                           dek_aad(to.ring.suite, to.ring.name, to.version.version),
                           kind == BlobKind::envelope ? kDekSize : 0));
    header.kek_version = to.version.version;
    header.wrapped_dek = std::move(wrapped);
    if (kind == BlobKind::data_key) return crypto::serialize_data_key_blob(header);
    return crypto::serialize_envelope(header, env.nonce, env.ciphertext, env.tag);
}

Result<DataKey> Envelopes::generate_data_key(const std::string& keyring, std::size_t bytes,
                                             std::uint32_t version) {
    KW_TRY(auto target, wrap_target(keyring, version));
    if (target.ring.suite == Suite::gcm && bytes != kDekSize) {
        return Error(Errc::usage, "keyring \"" + keyring +
                                      "\" uses suite 2, whose data keys are always 32 bytes");
    }
    if (bytes < kMinDataKeySize || bytes > kMaxDataKeySize) {
        return Error(Errc::usage,
                     "data key size " + std::to_string(bytes) + " is outside 16-64 bytes");
    }
    DataKey out;
    out.key.resize(bytes);
    KW_TRY_STATUS(crypto::random_bytes(out.key));
    KW_TRY(out.blob, wrap_data_key(keyring, out.key, target.version.version));
    return out;
}

Result<Bytes> Envelopes::wrap_data_key(const std::string& keyring, ByteView key,
                                       std::uint32_t version) {
    KW_TRY(auto target, wrap_target(keyring, version));
    if (target.ring.suite == Suite::gcm && key.size() != kDekSize) {
        return Error(Errc::usage, "keyring \"" + keyring +
                                      "\" uses suite 2, whose data keys are always 32 bytes");
    }
    if (key.size() < kMinDataKeySize || key.size() > kMaxDataKeySize) {
        return Error(Errc::usage,
                     "data key size " + std::to_string(key.size()) + " is outside 16-64 bytes");
    }
    KW_TRY(auto wrapped, wrap(target, key));
    crypto::KeyHeader header{target.ring.suite, target.ring.name, target.version.version,
                             std::move(wrapped)};
    return crypto::serialize_data_key_blob(header);
}

Result<SecretBytes> Envelopes::decrypt_data_key(ByteView blob) {
    KW_TRY(auto header, crypto::parse_data_key_blob(blob));
    KW_TRY(auto target, named_target(header.keyring, header.kek_version));
    if (header.suite != target.ring.suite) return auth_failed();
    KW_TRY(auto dek, unwrap(target, header.wrapped_dek));
    // The blob's w admits several DEK lengths; the unwrapped one must fit that w exactly.
    if (dek.size() < kMinDataKeySize || dek.size() > kMaxDataKeySize ||
        crypto::wrapped_dek_length(header.suite, dek.size()) != header.wrapped_dek.size()) {
        return Error(Errc::bad_dek_length, "data key blob holds a " + std::to_string(dek.size()) +
                                               "-byte key, which its wrapped length does not "
                                               "allow");
    }
    return dek;
}

Result<Envelopes::Target> Envelopes::wrap_target(const std::string& keyring,
                                                 std::uint32_t version) {
    if (version == 0) return active_target(keyring);
    KW_TRY(auto target, named_target(keyring, version));
    if (target.version.state != KekState::active) {
        return Error(Errc::state_refused, "version " + std::to_string(version) + " of keyring \"" +
                                              keyring + "\" is " +
                                              std::string(kek_state_name(target.version.state)) +
                                              "; only the active version wraps");
    }
    return target;
}

namespace {

Status require_suite1_for_raw(const std::string& keyring, Suite suite) {
    if (suite == Suite::kwp) return {};
    return Error(Errc::usage, "keyring \"" + keyring +
                                  "\" uses suite 2 (AES-GCM); raw RFC 5649 needs a suite 1 "
                                  "keyring");
}

}  // namespace

Result<Bytes> Envelopes::wrap_key_raw(const std::string& keyring, std::uint32_t version,
                                      ByteView key) {
    if (version == 0) return Error(Errc::usage, "raw RFC 5649 needs a KEK version");
    KW_TRY(auto target, wrap_target(keyring, version));
    KW_TRY_STATUS(require_suite1_for_raw(keyring, target.ring.suite));
    if (key.size() < kMinDataKeySize || key.size() > kMaxDataKeySize) {
        return Error(Errc::usage,
                     "data key size " + std::to_string(key.size()) + " is outside 16-64 bytes");
    }
    return wrap(target, key);
}

Result<SecretBytes> Envelopes::unwrap_key_raw(const std::string& keyring, std::uint32_t version,
                                              ByteView wrapped) {
    KW_TRY(auto target, named_target(keyring, version));
    KW_TRY_STATUS(require_suite1_for_raw(keyring, target.ring.suite));
    KW_TRY(auto dek, unwrap(target, wrapped));
    if (dek.size() < kMinDataKeySize || dek.size() > kMaxDataKeySize ||
        crypto::wrapped_dek_length(Suite::kwp, dek.size()) != wrapped.size()) {
        return Error(Errc::bad_dek_length, "the wrapped key holds " + std::to_string(dek.size()) +
                                               " bytes, which its wrapped length does not allow");
    }
    return dek;
}

}  // namespace keyward::core
