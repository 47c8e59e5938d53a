// SPDX-License-Identifier: Apache-2.0
// Strict standard base64 (RFC 4648 section 4, padded), shared by the kwe1:/kwk1: text forms
// and by anything that reads a base64 value (keyward import's "value_b64"). Our own codec:
// OpenSSL's decoder is lax (it skips whitespace and accepts non-canonical pad bits), and the
// spec demands that each byte string have exactly one accepted text.
#pragma once

#include "keyward/export.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"

namespace keyward {

/// Why a text is not strict base64, and where. The offending character is deliberately not
/// carried: the text may encode a secret, and callers word their own one-line message.
struct Base64Failure {
    enum class Why {
        whitespace,     // a space, tab or line break
        url_safe,       // '-' or '_' (base64url), where '+' and '/' are required
        early_padding,  // '=' somewhere other than the last one or two characters
        not_alphabet,   // any other byte outside A-Z a-z 0-9 + /
        bad_length,     // length not a multiple of 4: padding missing or text cut short
        non_canonical,  // the unused bits of the last group are not zero
    };
    Why why;
    std::size_t offset;  // of the offending character; the text's length for bad_length
};

/// A short English reason for a failure ("URL-safe base64 character (use + and /)").
KEYWARD_API std::string_view base64_reason(Base64Failure::Why why) noexcept;

/// Padded standard base64 of bytes.
KEYWARD_API std::string base64_encode(ByteView bytes);

/// The same text for bytes that are secret (a data key, a plaintext): written straight into
/// memory that is wiped when freed, so no plain copy of the encoding is ever left behind.
KEYWARD_API SecretString base64_encode_secret(ByteView bytes);

/// Exact decoded size of a text that decodes (length / 4 * 3 minus padding); callers use it to
/// refuse oversized input before allocating anything.
KEYWARD_API std::size_t base64_decoded_size(std::string_view text) noexcept;

/// Strict decoding into out (replaced). Empty text decodes to zero bytes. Characters are
/// checked before the length, so a stray character is reported at its own offset. out is
/// cleared on failure. The SecretBytes overload is for text that encodes a secret.
KEYWARD_API std::optional<Base64Failure> base64_decode(std::string_view text, Bytes& out);
KEYWARD_API std::optional<Base64Failure> base64_decode(std::string_view text, SecretBytes& out);

}  // namespace keyward
