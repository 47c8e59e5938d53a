// SPDX-License-Identifier: Apache-2.0
// What the codec test files share (codec_layout_test, codec_rules_test, codec_text_test):
// envelopes and data key blobs built field by field by hand, independently of serialize_*, and
// the hand-written reference envelope.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"
#include "keyward/bytes.hpp"
#include "keyward/types.hpp"

namespace keyward::test {

inline Bytes seq(std::uint8_t start, std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(start + i);
    return out;
}

// Every field of an envelope or blob, built by hand (independently of serialize_*), with
// overrides for the length fields so that inconsistent inputs can be made.
struct Parts {
    Bytes magic{0x4B, 0x57, 0x45, 0x01};
    std::uint8_t suite = 1;
    std::optional<std::uint8_t> n;  // default: keyring.size()
    std::string keyring = "wallets";
    std::uint32_t version = 3;
    std::optional<std::uint16_t> w;  // default: wrapped.size()
    Bytes wrapped = seq(0x00, 40);
    Bytes nonce = seq(0xA0, 12);
    Bytes ct = bytes_of("hello");
    Bytes tag = seq(0xF0, 16);
    Bytes tail;  // anything after the end
};

inline Parts blob_parts() {
    Parts p;
    p.magic = {0x4B, 0x57, 0x4B, 0x01};
    return p;
}

inline Bytes build_header(const Parts& p) {
    Bytes out = p.magic;
    out.push_back(p.suite);
    out.push_back(p.n.value_or(static_cast<std::uint8_t>(p.keyring.size())));
    out.insert(out.end(), p.keyring.begin(), p.keyring.end());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(p.version >> shift));
    }
    const std::uint16_t w = p.w.value_or(static_cast<std::uint16_t>(p.wrapped.size()));
    out.push_back(static_cast<std::uint8_t>(w >> 8));
    out.push_back(static_cast<std::uint8_t>(w));
    out.insert(out.end(), p.wrapped.begin(), p.wrapped.end());
    return out;
}

inline Bytes build_envelope(const Parts& p) {
    return concat({build_header(p), p.nonce, p.ct, p.tag, p.tail});
}

inline Bytes build_blob(const Parts& p) {
    return concat({build_header(p), p.tail});
}

inline crypto::KeyHeader header_of(const Parts& p) {
    crypto::KeyHeader h;
    h.suite = static_cast<Suite>(p.suite);
    h.keyring = p.keyring;
    h.kek_version = p.version;
    h.wrapped_dek = p.wrapped;
    return h;
}

inline bool same_header(const crypto::KeyHeader& a, const crypto::KeyHeader& b) {
    return a.suite == b.suite && a.keyring == b.keyring && a.kek_version == b.kek_version &&
           a.wrapped_dek == b.wrapped_dek;
}

inline Bytes to_bytes(ByteView v) {
    return Bytes(v.begin(), v.end());
}

// The hand-written reference envelope of the first test, as one hex string per field.
inline const char* const kKnownEnvelopeHex =
    "4b574501"        // magic "KWE" 1
    "01"              // suite 1
    "07"              // n = 7
    "77616c6c657473"  // "wallets"
    "00000003"        // KEK version 3
    "0028"            // w = 40
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"
    "a0a1a2a3a4a5a6a7a8a9aaab"           // nonce
    "68656c6c6f"                         // ciphertext "hello"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";  // tag

}  // namespace keyward::test
