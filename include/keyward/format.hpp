// SPDX-License-Identifier: Apache-2.0
// The byte format of docs/FORMAT.md seen from outside the library: which form a buffer holds,
// what its header names (suite, keyring, KEK version), and the kwe1:/kwk1: text forms. None of
// this needs the token or the database, so a door can refuse malformed input before it logs in.
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/types.hpp"

namespace keyward {

/// An envelope (KWE1, sealed data) or a data key blob (KWK1, a wrapped key only).
enum class BlobKind { envelope, data_key, unknown };

inline constexpr std::string_view kEnvelopeTextPrefix = "kwe1:";
inline constexpr std::string_view kDataKeyTextPrefix = "kwk1:";

/// Largest envelope header (keyring of 64 bytes, largest wrapped DEK), largest envelope, and
/// the largest text form of one (prefix, padded base64, "\r\n"): a reader can refuse bigger
/// input before reading all of it.
inline constexpr std::size_t kMaxEnvelopeHeaderSize = 4 + 1 + 1 + kMaxKeyringName + 4 + 2 + 60;
inline constexpr std::size_t kMaxEnvelopeSize =
    kMaxEnvelopeHeaderSize + kNonceSize + kMaxPlaintext + kTagSize;
inline constexpr std::size_t kMaxEnvelopeTextSize = 5 + 4 * ((kMaxEnvelopeSize + 2) / 3) + 2;
inline constexpr std::size_t kMaxDataKeyBlobSize = 4 + 1 + 1 + kMaxKeyringName + 4 + 2 + 72;

/// What the header of an envelope or data key blob says.
struct BlobHeader {
    BlobKind kind = BlobKind::unknown;
    Suite suite = Suite::kwp;
    std::string keyring;
    std::uint32_t kek_version = 0;
};

/// Which form a buffer holds, judged by its first bytes: the binary magic or the text prefix.
KEYWARD_API BlobKind blob_kind(ByteView bytes) noexcept;

/// True when bytes start with "kwe1:" or "kwk1:" (text, not binary).
KEYWARD_API bool is_text_form(ByteView bytes) noexcept;

/// Checks a binary envelope or blob against every reader rule of docs/FORMAT.md, in byte order,
/// and returns its header: the data key blob rules when it starts with the KWK1 magic, the
/// envelope rules otherwise. The first broken rule is the error (bad_magic, truncated,
/// bad_keyring_name, ..., exit 3). The envelope's authenticity is not checked: only the token
/// can do that, when the envelope is opened.
KEYWARD_API Result<BlobHeader> inspect_blob(ByteView binary);

/// The text form of a binary envelope or blob: its prefix and padded base64, no newline.
KEYWARD_API std::string to_text_form(ByteView binary);

/// The binary of a text form: exactly a prefix and padded base64, optionally followed by one
/// "\n" or "\r\n". Anything else is Errc::bad_text_form.
KEYWARD_API Result<Bytes> from_text_form(std::string_view text);

/// Vault Transit's ciphertext form of an envelope (keywardd, docs/FORMAT.md): "vault:v<N>:"
/// then padded base64 of the binary envelope, N being the envelope's KEK version, so that
/// Vault's clients read the version while keyward's tools still open it.
KEYWARD_API Result<std::string> to_vault_form(ByteView envelope);
/// The binary envelope in a vault:v<N>: text. Errc::bad_text_form unless the text is exactly
/// that form, the payload an envelope, and N its KEK version.
KEYWARD_API Result<Bytes> from_vault_form(std::string_view text);
/// Whether text starts with "vault:v".
KEYWARD_API bool is_vault_form(std::string_view text) noexcept;
/// The envelope context of a Transit request (docs/FORMAT.md): empty when both parts are
/// empty, else "keyward-transit/1", then each part with a 2-byte big-endian length. Errc::usage
/// when the result would exceed 65535 bytes.
KEYWARD_API Result<Bytes> transit_context(ByteView context, ByteView associated_data);

}  // namespace keyward
