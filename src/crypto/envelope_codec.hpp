// SPDX-License-Identifier: Apache-2.0
// Pure codec of docs/FORMAT.md: the KWE1 envelope, the KWK1 data key blob, their AADs and
// their text forms. Bytes in, bytes out: no token, no I/O, no allocation of secrets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/format.hpp"
#include "keyward/types.hpp"

namespace keyward::crypto {

inline constexpr std::uint8_t kEnvelopeMagic[4] = {0x4B, 0x57, 0x45, 0x01};  // "KWE" v1
inline constexpr std::uint8_t kDataKeyMagic[4] = {0x4B, 0x57, 0x4B, 0x01};   // "KWK" v1
// The text prefixes, size limits and BlobKind are public (keyward/format.hpp).

/// The part shared by envelopes and data key blobs.
struct KeyHeader {
    Suite suite = Suite::kwp;
    std::string keyring;
    std::uint32_t kek_version = 0;
    Bytes wrapped_dek;
};

/// A parsed envelope. The views point into the buffer that was parsed.
struct EnvelopeView {
    KeyHeader header;
    ByteView nonce;
    ByteView ciphertext;
    ByteView tag;
};

/// Wrapped DEK length for a DEK of dek_len bytes (suite 1: 8*ceil(n/8)+8; suite 2: 12+n+16).
std::size_t wrapped_dek_length(Suite suite, std::size_t dek_len) noexcept;

/// Checks every reader rule in byte order; the first broken rule is reported with its own
/// Errc (bad_magic, unsupported_format_version, unknown_suite, bad_keyring_length,
/// bad_keyring_name, bad_kek_version, bad_wrapped_dek_length, truncated, too_short) and
/// input_too_large when the ciphertext exceeds 64 MiB.
Result<EnvelopeView> parse_envelope(ByteView envelope);

/// Header || nonce || ciphertext || tag. Errc::input_too_large above 64 MiB of ciphertext.
Result<Bytes> serialize_envelope(const KeyHeader& header, ByteView nonce, ByteView ciphertext,
                                 ByteView tag);

/// The same rules for a KWK1 blob; bytes after the wrapped DEK are Errc::trailing_bytes.
/// Suite 1 accepts w = 24..72 in steps of 8; suite 2 only 60.
Result<KeyHeader> parse_data_key_blob(ByteView blob);
Result<Bytes> serialize_data_key_blob(const KeyHeader& header);

/// Payload AAD: magic || suite || u32 context length || context.
Bytes payload_aad(Suite suite, ByteView context);

/// Suite 2 DEK-wrap AAD: 4B 57 45 01 02 || n || keyring || u32 KEK version.
Bytes gcm_dek_wrap_aad(std::string_view keyring, std::uint32_t kek_version);

/// Which form a buffer holds, judged by its first bytes (binary or text).
BlobKind detect_kind(ByteView bytes) noexcept;

/// "kwe1:" / "kwk1:" + standard padded base64, no newline.
std::string to_text(std::string_view prefix, ByteView bytes);

/// Strict reader: exactly prefix + padded base64, optionally followed by one "\n" or "\r\n".
/// Anything else is Errc::bad_text_form.
Result<Bytes> from_text(std::string_view prefix, std::string_view text);

/// True when bytes start with "kwe1:" or "kwk1:" (the input is text, not binary).
bool looks_like_text(ByteView bytes) noexcept;

}  // namespace keyward::crypto
