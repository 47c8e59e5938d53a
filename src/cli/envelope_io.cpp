// SPDX-License-Identifier: Apache-2.0
// Envelope and blob input/output forms for the CLI.
#include "envelope_io.hpp"

#include <string_view>

#include "keyward/format.hpp"

namespace keyward::cli {

std::size_t max_envelope_input() noexcept {
    return kMaxEnvelopeTextSize;
}

Result<EncodedInput> decode_envelope_input(const SecretBytes& raw) {
    EncodedInput out;
    if (!is_text_form(raw)) {
        out.bytes.assign(raw.begin(), raw.end());
        return out;
    }
    std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
    KW_TRY(out.bytes, from_text_form(text));
    out.was_text = true;
    return out;
}

std::string text_form(ByteView binary) {
    return to_text_form(binary) + "\n";
}

}  // namespace keyward::cli
