// Envelope and blob input/output forms for the CLI.
#include "cli/envelope_io.hpp"

#include <string_view>

#include "crypto/envelope_codec.hpp"
#include "keyward/types.hpp"

namespace keyward::cli {

std::size_t max_envelope_input() noexcept {
    constexpr std::size_t header = 4 + 1 + 1 + kMaxKeyringName + 4 + 2 + 60;
    constexpr std::size_t binary = header + kNonceSize + kMaxPlaintext + kTagSize;
    return 5 + 4 * ((binary + 2) / 3) + 2;
}

Result<EncodedInput> decode_envelope_input(const SecretBytes& raw) {
    EncodedInput out;
    if (!crypto::looks_like_text(raw)) {
        out.bytes.assign(raw.begin(), raw.end());
        return out;
    }
    std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
    auto prefix = text.rfind(crypto::kDataKeyTextPrefix, 0) == 0 ? crypto::kDataKeyTextPrefix
                                                                 : crypto::kEnvelopeTextPrefix;
    KW_TRY(out.bytes, crypto::from_text(prefix, text));
    out.was_text = true;
    return out;
}

std::string text_form(ByteView binary) {
    auto prefix = crypto::detect_kind(binary) == crypto::BlobKind::data_key
                      ? crypto::kDataKeyTextPrefix
                      : crypto::kEnvelopeTextPrefix;
    return crypto::to_text(prefix, binary) + "\n";
}

}  // namespace keyward::cli
