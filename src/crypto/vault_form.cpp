// SPDX-License-Identifier: Apache-2.0
// Vault Transit's ciphertext form and request context (docs/FORMAT.md, "keywardd").
#include <charconv>

#include "keyward/base64.hpp"
#include "keyward/format.hpp"

namespace keyward {

namespace {

constexpr std::string_view kVaultPrefix = "vault:v";
constexpr std::string_view kTransitDomain = "keyward-transit/1";

Error bad_form(const std::string& why) {
    return Error(Errc::bad_text_form, "not a vault:v<N>: ciphertext: " + why);
}

void append_part(Bytes& out, ByteView part) {
    out.push_back(static_cast<std::uint8_t>(part.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(part.size() & 0xff));
    out.insert(out.end(), part.begin(), part.end());
}

}  // namespace

bool is_vault_form(std::string_view text) noexcept {
    return text.substr(0, kVaultPrefix.size()) == kVaultPrefix;
}

Result<std::string> to_vault_form(ByteView envelope) {
    KW_TRY(auto header, inspect_blob(envelope));
    if (header.kind != BlobKind::envelope) {
        return Error(Errc::bad_magic, "a vault:v<N>: ciphertext holds an envelope (kwe1)");
    }
    return std::string(kVaultPrefix) + std::to_string(header.kek_version) + ":" +
           base64_encode(envelope);
}

Result<Bytes> from_vault_form(std::string_view text) {
    if (!is_vault_form(text)) return bad_form("it does not start with vault:v");
    const std::string_view rest = text.substr(kVaultPrefix.size());
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) {
        return bad_form("no version number followed by ':'");
    }
    std::uint32_t version = 0;
    const char* first = rest.data();
    const char* last = rest.data() + colon;
    auto [end, ec] = std::from_chars(first, last, version);
    if (ec != std::errc() || end != last || rest[0] == '0' || version == 0) {
        return bad_form("the version is not a number from 1");
    }
    Bytes binary;
    if (auto failure = base64_decode(rest.substr(colon + 1), binary)) {
        return bad_form("the payload is not base64 (" + std::string(base64_reason(failure->why)) +
                        " at character " +
                        std::to_string(failure->offset + kVaultPrefix.size() + colon + 1) + ")");
    }
    KW_TRY(auto header, inspect_blob(binary));
    if (header.kind != BlobKind::envelope) return bad_form("the payload is not an envelope");
    if (header.kek_version != version) {
        return bad_form("its prefix says version " + std::to_string(version) +
                        " but the envelope names version " + std::to_string(header.kek_version));
    }
    return binary;
}

Result<Bytes> transit_context(ByteView context, ByteView associated_data) {
    if (context.empty() && associated_data.empty()) return Bytes{};
    const std::size_t size =
        kTransitDomain.size() + 2 + context.size() + 2 + associated_data.size();
    if (size > 65535) {
        return Error(Errc::usage, "context and associated_data together are " +
                                      std::to_string(context.size() + associated_data.size()) +
                                      " bytes; at most " +
                                      std::to_string(65535 - kTransitDomain.size() - 4) +
                                      " are allowed");
    }
    Bytes out(kTransitDomain.begin(), kTransitDomain.end());
    append_part(out, context);
    append_part(out, associated_data);
    return out;
}

}  // namespace keyward
