// Text form of envelopes and data key blobs ("kwe1:"/"kwk1:" + strict padded base64) and the
// detection of which form an input holds. The base64 codec is our own: OpenSSL's decoder is
// lax (it skips whitespace and accepts non-canonical pad bits), and the spec demands strictness.
#include "crypto/envelope_codec.hpp"

#include <array>
#include <string>

namespace keyward::crypto {
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

bool starts_with(ByteView bytes, std::string_view prefix) {
    if (bytes.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (bytes[i] != static_cast<std::uint8_t>(prefix[i])) return false;
    }
    return true;
}

std::string base64_encode(ByteView in) {
    std::string out;
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
    return out;
}

Error malformed(std::string_view prefix, const std::string& reason) {
    return Error(Errc::bad_text_form, "text form is malformed: " + reason + "; expected \"" +
                                          std::string(prefix) +
                                          "\" followed by padded standard base64 on one line");
}

// Why a byte is not base64, in the words a user needs to fix it. The byte itself is not
// echoed (it is public envelope text, but it may also be anything the user piped in).
std::string bad_char_reason(char c, std::size_t pos) {
    const std::string at = " at position " + std::to_string(pos);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        return "whitespace or a line break" + at + " (only one final newline is allowed)";
    }
    if (c == '-' || c == '_') return "URL-safe base64 character" + at + " (use + and /)";
    if (c == '=') return "padding '='" + at + " before the end";
    return "a character outside the base64 alphabet" + at;
}

// Strict RFC 4648 section 4 decoding: length a multiple of 4, '=' only as 1 or 2 final
// characters, pad bits zero (so each byte string has exactly one accepted text).
Result<Bytes> base64_decode(std::string_view prefix, std::string_view b64) {
    if (b64.empty()) return malformed(prefix, "nothing follows the prefix");
    std::size_t pad = 0;
    if (b64.back() == '=') pad = b64.size() >= 2 && b64[b64.size() - 2] == '=' ? 2 : 1;
    const std::size_t data_chars = b64.size() - pad;
    for (std::size_t i = 0; i < data_chars; ++i) {
        if (kDecode[static_cast<unsigned char>(b64[i])] == kInvalid) {
            return malformed(prefix, bad_char_reason(b64[i], prefix.size() + i));
        }
    }
    if (b64.size() % 4 != 0) {
        return malformed(prefix, "base64 length " + std::to_string(b64.size()) +
                                     " is not a multiple of 4 ('=' padding missing, or the "
                                     "text was cut short)");
    }

    Bytes out;
    out.reserve(b64.size() / 4 * 3);
    std::uint32_t acc = 0;
    for (std::size_t i = 0; i < data_chars; ++i) {
        acc = acc << 6 | kDecode[static_cast<unsigned char>(b64[i])];
        if (i % 4 == 3) {
            out.push_back(static_cast<std::uint8_t>(acc >> 16));
            out.push_back(static_cast<std::uint8_t>(acc >> 8));
            out.push_back(static_cast<std::uint8_t>(acc));
            acc = 0;
        }
    }
    // A final group of 2 or 3 characters carries 4 or 2 bits beyond the last whole byte;
    // they must be zero, else two texts would decode to the same bytes.
    if (pad == 2) {
        if ((acc & 0x0F) != 0) return malformed(prefix, "non-canonical base64 (pad bits set)");
        out.push_back(static_cast<std::uint8_t>(acc >> 4));
    } else if (pad == 1) {
        if ((acc & 0x03) != 0) return malformed(prefix, "non-canonical base64 (pad bits set)");
        out.push_back(static_cast<std::uint8_t>(acc >> 10));
        out.push_back(static_cast<std::uint8_t>(acc >> 2));
    }
    return out;
}

}  // namespace

std::string to_text(std::string_view prefix, ByteView bytes) {
    return std::string(prefix) + base64_encode(bytes);
}

Result<Bytes> from_text(std::string_view prefix, std::string_view text) {
    // Exactly one optional line end: "\r\n" or "\n". Anything else left over fails below as
    // whitespace inside the base64.
    if (text.ends_with("\r\n")) {
        text.remove_suffix(2);
    } else if (text.ends_with('\n')) {
        text.remove_suffix(1);
    }
    if (!text.starts_with(prefix)) {
        if (prefix == kEnvelopeTextPrefix && text.starts_with(kDataKeyTextPrefix)) {
            return malformed(prefix, "this is a data key blob (kwk1:), not an envelope");
        }
        if (prefix == kDataKeyTextPrefix && text.starts_with(kEnvelopeTextPrefix)) {
            return malformed(prefix, "this is an envelope (kwe1:), not a data key blob");
        }
        return malformed(prefix, "it does not start with \"" + std::string(prefix) + "\"");
    }
    const std::string_view b64 = text.substr(prefix.size());
    // Refuse before decoding anything: no envelope is larger than this.
    if (b64.size() / 4 * 3 > kMaxEnvelopeSize + 2) {
        return Error(Errc::input_too_large,
                     "text form is " + std::to_string(text.size()) +
                         " characters, larger than any envelope (at most 64 MiB of ciphertext)");
    }
    return base64_decode(prefix, b64);
}

bool looks_like_text(ByteView bytes) noexcept {
    return starts_with(bytes, kEnvelopeTextPrefix) || starts_with(bytes, kDataKeyTextPrefix);
}

BlobKind detect_kind(ByteView bytes) noexcept {
    if (starts_with(bytes, kEnvelopeTextPrefix)) return BlobKind::envelope;
    if (starts_with(bytes, kDataKeyTextPrefix)) return BlobKind::data_key;
    // Binary forms are recognised by "KWE"/"KWK" without the version byte, so that a future
    // version reaches the parser and gets its precise "unsupported format version" error.
    if (bytes.size() >= 3 && bytes[0] == kEnvelopeMagic[0] && bytes[1] == kEnvelopeMagic[1]) {
        if (bytes[2] == kEnvelopeMagic[2]) return BlobKind::envelope;
        if (bytes[2] == kDataKeyMagic[2]) return BlobKind::data_key;
    }
    return BlobKind::unknown;
}

}  // namespace keyward::crypto
