// SPDX-License-Identifier: Apache-2.0
// Reading envelopes and blobs in either form (binary, or kwe1:/kwk1: text) and writing them back.
#pragma once

#include <optional>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::cli {

/// Largest text or binary envelope worth reading: a 64 MiB payload plus the largest header,
/// in base64 with its prefix and line end. Anything larger cannot be valid.
std::size_t max_envelope_input() noexcept;

struct EncodedInput {
    Bytes bytes;  // binary form
    bool was_text = false;
};

/// Binary as is, or text (kwe1:/kwk1:) decoded strictly.
Result<EncodedInput> decode_envelope_input(const SecretBytes& raw);

/// Text form of a binary envelope or data key blob, ending in one newline.
std::string text_form(ByteView binary);

}  // namespace keyward::cli
