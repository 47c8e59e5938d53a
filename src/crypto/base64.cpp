// SPDX-License-Identifier: Apache-2.0
// Strict RFC 4648 base64: length a multiple of 4, '=' only as 1 or 2 final characters, pad
// bits zero, no whitespace and no URL-safe alphabet.
#include "keyward/base64.hpp"

#include <array>
#include <cstdint>

namespace keyward {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
    std::array<std::uint8_t, 256> table{};
    for (auto& v : table) v = kInvalid;
    for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
    return table;
}
constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

Base64Failure::Why classify(char c) noexcept {
    using Why = Base64Failure::Why;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        return Why::whitespace;
    }
    if (c == '-' || c == '_') return Why::url_safe;
    if (c == '=') return Why::early_padding;
    return Why::not_alphabet;
}

std::size_t padding_of(std::string_view text) noexcept {
    if (text.empty() || text.back() != '=') return 0;
    return text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
}

// One template for both containers, so public blobs do not pay for a zeroizing copy and
// secrets never pass through a plain buffer.
template <typename Out>
std::optional<Base64Failure> decode_into(std::string_view text, Out& out) {
    out.clear();
    const std::size_t pad = padding_of(text);
    const std::size_t data_chars = text.size() - pad;
    // Characters first, then the length: "AA-" names the '-' rather than the length.
    for (std::size_t i = 0; i < data_chars; ++i) {
        if (kDecode[static_cast<unsigned char>(text[i])] == kInvalid) {
            return Base64Failure{classify(text[i]), i};
        }
    }
    if (text.size() % 4 != 0) return Base64Failure{Base64Failure::Why::bad_length, text.size()};

    out.reserve(base64_decoded_size(text));
    std::uint32_t acc = 0;
    for (std::size_t i = 0; i < data_chars; ++i) {
        acc = acc << 6 | kDecode[static_cast<unsigned char>(text[i])];
        if (i % 4 == 3) {
            out.push_back(static_cast<std::uint8_t>(acc >> 16));
            out.push_back(static_cast<std::uint8_t>(acc >> 8));
            out.push_back(static_cast<std::uint8_t>(acc));
            acc = 0;
        }
    }
    // A final group of 2 or 3 characters carries 4 or 2 bits beyond the last whole byte;
    // they must be zero, else two texts would decode to the same bytes.
    const std::uint32_t unused_bits = pad == 2 ? 0x0F : pad == 1 ? 0x03 : 0;
    if ((acc & unused_bits) != 0) {
        out.clear();
        return Base64Failure{Base64Failure::Why::non_canonical, data_chars - 1};
    }
    if (pad == 2) {
        out.push_back(static_cast<std::uint8_t>(acc >> 4));
    } else if (pad == 1) {
        out.push_back(static_cast<std::uint8_t>(acc >> 10));
        out.push_back(static_cast<std::uint8_t>(acc >> 2));
    }
    return std::nullopt;
}

// One template for both containers, as for decoding: the whole text is reserved up front, so
// a SecretString is never reallocated while it fills (a reallocation would be wiped anyway).
template <typename Out>
void encode_into(ByteView in, Out& out) {
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = static_cast<std::uint32_t>(in[i]) << 16 |
                                static_cast<std::uint32_t>(in[i + 1]) << 8 | in[i + 2];
        out.push_back(kAlphabet[v >> 18 & 0x3F]);
        out.push_back(kAlphabet[v >> 12 & 0x3F]);
        out.push_back(kAlphabet[v >> 6 & 0x3F]);
        out.push_back(kAlphabet[v & 0x3F]);
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t v = static_cast<std::uint32_t>(in[i]) << 16;
        out.push_back(kAlphabet[v >> 18 & 0x3F]);
        out.push_back(kAlphabet[v >> 12 & 0x3F]);
        out.append("==");
    } else if (rest == 2) {
        const std::uint32_t v =
            static_cast<std::uint32_t>(in[i]) << 16 | static_cast<std::uint32_t>(in[i + 1]) << 8;
        out.push_back(kAlphabet[v >> 18 & 0x3F]);
        out.push_back(kAlphabet[v >> 12 & 0x3F]);
        out.push_back(kAlphabet[v >> 6 & 0x3F]);
        out.push_back('=');
    }
}

}  // namespace

std::string_view base64_reason(Base64Failure::Why why) noexcept {
    switch (why) {
        case Base64Failure::Why::whitespace:
            return "whitespace or a line break";
        case Base64Failure::Why::url_safe:
            return "URL-safe base64 character (use + and /)";
        case Base64Failure::Why::early_padding:
            return "padding '=' before the end";
        case Base64Failure::Why::not_alphabet:
            return "a character outside the base64 alphabet";
        case Base64Failure::Why::bad_length:
            return "length is not a multiple of 4 ('=' padding missing, or the text was cut "
                   "short)";
        case Base64Failure::Why::non_canonical:
            return "non-canonical base64 (pad bits set)";
    }
    return "invalid base64";
}

std::string base64_encode(ByteView in) {
    std::string out;
    encode_into(in, out);
    return out;
}

SecretString base64_encode_secret(ByteView in) {
    SecretString out;
    encode_into(in, out);
    return out;
}

std::size_t base64_decoded_size(std::string_view text) noexcept {
    const std::size_t groups = text.size() / 4 * 3;
    const std::size_t pad = padding_of(text);
    return groups >= pad ? groups - pad : 0;
}

std::optional<Base64Failure> base64_decode(std::string_view text, Bytes& out) {
    return decode_into(text, out);
}

std::optional<Base64Failure> base64_decode(std::string_view text, SecretBytes& out) {
    return decode_into(text, out);
}

}  // namespace keyward
