// SPDX-License-Identifier: Apache-2.0
// keyward/format.hpp: the envelope codec's reading side, exported for the doors.
#include "keyward/format.hpp"

#include "crypto/envelope_codec.hpp"

namespace keyward {

namespace {

BlobHeader header_of(BlobKind kind, crypto::KeyHeader&& h) {
    return BlobHeader{kind, h.suite, std::move(h.keyring), h.kek_version};
}

}  // namespace

BlobKind blob_kind(ByteView bytes) noexcept {
    return crypto::detect_kind(bytes);
}

bool is_text_form(ByteView bytes) noexcept {
    return crypto::looks_like_text(bytes);
}

Result<BlobHeader> inspect_blob(ByteView binary) {
    if (!crypto::looks_like_text(binary) && crypto::detect_kind(binary) == BlobKind::data_key) {
        KW_TRY(auto header, crypto::parse_data_key_blob(binary));
        return header_of(BlobKind::data_key, std::move(header));
    }
    KW_TRY(auto parsed, crypto::parse_envelope(binary));
    return header_of(BlobKind::envelope, std::move(parsed.header));
}

std::string to_text_form(ByteView binary) {
    const auto prefix = crypto::detect_kind(binary) == BlobKind::data_key ? kDataKeyTextPrefix
                                                                          : kEnvelopeTextPrefix;
    return crypto::to_text(prefix, binary);
}

Result<Bytes> from_text_form(std::string_view text) {
    const auto prefix =
        text.starts_with(kDataKeyTextPrefix) ? kDataKeyTextPrefix : kEnvelopeTextPrefix;
    return crypto::from_text(prefix, text);
}

}  // namespace keyward
