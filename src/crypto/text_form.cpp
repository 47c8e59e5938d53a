// SPDX-License-Identifier: Apache-2.0
// Text form of envelopes and data key blobs ("kwe1:"/"kwk1:" + strict padded base64) and the
// detection of which form an input holds. The strict base64 codec is in crypto/base64.cpp.
#include "crypto/envelope_codec.hpp"

#include <optional>
#include <string>

#include "keyward/base64.hpp"

namespace keyward::crypto {
namespace {

bool starts_with(ByteView bytes, std::string_view prefix) {
    if (bytes.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (bytes[i] != static_cast<std::uint8_t>(prefix[i])) return false;
    }
    return true;
}

Error malformed(std::string_view prefix, const std::string& reason) {
    return Error(Errc::bad_text_form, "text form is malformed: " + reason + "; expected \"" +
                                          std::string(prefix) +
                                          "\" followed by padded standard base64 on one line");
}

// Why the text is not base64, in the words a user needs to fix it. The byte itself is not
// echoed (it is public envelope text, but it may also be anything the user piped in).
std::string failure_reason(const Base64Failure& f, std::size_t prefix_size) {
    const std::string at = " at position " + std::to_string(prefix_size + f.offset);
    switch (f.why) {
        case Base64Failure::Why::whitespace:
            return "whitespace or a line break" + at + " (only one final newline is allowed)";
        case Base64Failure::Why::url_safe:
            return "URL-safe base64 character" + at + " (use + and /)";
        case Base64Failure::Why::early_padding:
            return "padding '='" + at + " before the end";
        case Base64Failure::Why::not_alphabet:
            return "a character outside the base64 alphabet" + at;
        case Base64Failure::Why::bad_length:
            return "base64 length " + std::to_string(f.offset) +
                   " is not a multiple of 4 ('=' padding missing, or the text was cut short)";
        case Base64Failure::Why::non_canonical:
            return "non-canonical base64 (pad bits set)";
    }
    return "invalid base64";
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

constexpr std::string_view kOneLineEnd = " (only one final \"\\n\" or \"\\r\\n\" is allowed)";

// Whitespace after the base64, left over once the one allowed line end is taken off. It is
// named itself: the decoder, reading it as part of the base64, would otherwise blame the
// final '=' ("padding before the end"), which is not the fault. `line_end` is what from_text
// took off (empty, "\n" or "\r\n").
std::optional<std::string> trailing_space(std::string_view b64, std::string_view line_end,
                                          std::size_t prefix_size) {
    std::size_t start = b64.size();
    while (start > 0 && is_space(b64[start - 1])) --start;
    if (start == b64.size() || start == 0) return std::nullopt;  // none, or nothing else
    const std::string_view tail = b64.substr(start);
    const auto at = [&](std::size_t i) {
        return " at position " + std::to_string(prefix_size + i);
    };
    if (tail.find_first_not_of("\r\n") != std::string_view::npos) {
        const std::size_t i = start + tail.find_first_not_of("\r\n");
        return "whitespace" + at(i) + " after the base64" + std::string(kOneLineEnd);
    }
    // Only CRs and LFs: walk the line ends in order; the first that is not a whole line end,
    // or the second whole one, is the fault.
    std::string full(tail);
    full += line_end;
    std::size_t i = 0;
    bool seen_one = false;
    while (i < full.size()) {
        if (full[i] == '\r' && (i + 1 == full.size() || full[i + 1] != '\n')) {
            return "a carriage return" + at(start + i) + " without a line feed after it" +
                   std::string(kOneLineEnd);
        }
        if (seen_one) return "a second line end" + at(start + i) + std::string(kOneLineEnd);
        seen_one = true;
        i += full[i] == '\r' ? 2 : 1;
    }
    return std::nullopt;  // not reached: tail is not empty
}

// "Zg==*": the '=' would be right where the text ended; the fault is the character after them.
Base64Failure blame_after_padding(std::string_view b64, Base64Failure failure) {
    if (failure.why != Base64Failure::Why::early_padding) return failure;
    std::size_t k = failure.offset;
    while (k < b64.size() && b64[k] == '=') ++k;
    if (k == b64.size()) return failure;
    Bytes ignored;
    const auto single = base64_decode(b64.substr(k, 1), ignored);
    if (!single || single->why == Base64Failure::Why::bad_length) return failure;  // alphabet
    return Base64Failure{single->why, k};
}

Result<Bytes> decode_payload(std::string_view prefix, std::string_view b64,
                             std::string_view line_end) {
    if (b64.empty()) return malformed(prefix, "nothing follows the prefix");
    if (auto fault = trailing_space(b64, line_end, prefix.size())) return malformed(prefix, *fault);
    Bytes out;
    if (auto failure = base64_decode(b64, out)) {
        return malformed(prefix, failure_reason(blame_after_padding(b64, *failure), prefix.size()));
    }
    return out;
}

}  // namespace

std::string to_text(std::string_view prefix, ByteView bytes) {
    return std::string(prefix) + base64_encode(bytes);
}

Result<Bytes> from_text(std::string_view prefix, std::string_view text) {
    // Exactly one optional line end: "\r\n" or "\n". Any other whitespace left over is named
    // by decode_payload.
    std::string_view line_end;
    if (text.ends_with("\r\n")) {
        line_end = "\r\n";
    } else if (text.ends_with('\n')) {
        line_end = "\n";
    }
    text.remove_suffix(line_end.size());
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
    return decode_payload(prefix, b64, line_end);
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
