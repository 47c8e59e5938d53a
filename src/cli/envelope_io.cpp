// SPDX-License-Identifier: Apache-2.0
// Envelope and blob input/output forms for the CLI.
#include "envelope_io.hpp"

#include <string_view>

#include "keyward/format.hpp"

namespace keyward::cli {

std::size_t max_envelope_input() noexcept {
    // keywardd's "vault:v4294967295:" prefix is 13 bytes longer than "kwe1:".
    return kMaxEnvelopeTextSize + 13;
}

Result<EncodedInput> decode_envelope_input(const SecretBytes& raw) {
    EncodedInput out;
    std::string_view all(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (is_vault_form(all)) {
        // keywardd's Transit ciphertext (docs/FORMAT.md), with one optional final line break.
        if (all.size() >= 1 && all.back() == '\n') all.remove_suffix(1);
        if (all.size() >= 1 && all.back() == '\r') all.remove_suffix(1);
        KW_TRY(out.bytes, from_vault_form(all));
        out.was_text = true;
        return out;
    }
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
