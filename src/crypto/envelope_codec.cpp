// SPDX-License-Identifier: Apache-2.0
// Binary codec of docs/FORMAT.md: reads and writes KWE1 envelopes and KWK1 data key blobs,
// checking the reader rules in byte order so the first broken rule is the one reported.
#include "crypto/envelope_codec.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace keyward::crypto {
namespace {

// Offsets of the fixed part of the header (the keyring name starts at kNameOffset).
constexpr std::size_t kMagicSize = 4;
constexpr std::size_t kSuiteOffset = 4;
constexpr std::size_t kNameLenOffset = 5;
constexpr std::size_t kNameOffset = 6;

// The two forms share the header; they differ in magic, in the allowed wrapped DEK lengths
// and in what follows the wrapped DEK.
enum class Form { envelope, data_key };

const char* noun(Form form) {
    return form == Form::envelope ? "envelope" : "data key blob";
}

const std::uint8_t* magic_of(Form form) {
    return form == Form::envelope ? kEnvelopeMagic : kDataKeyMagic;
}

std::string hex_byte(std::uint8_t b) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return std::string("0x") + digits[b >> 4] + digits[b & 0x0f];
}

bool starts_with(ByteView bytes, std::string_view prefix) {
    return bytes.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), bytes.begin(),
                      [](char c, std::uint8_t b) { return static_cast<std::uint8_t>(c) == b; });
}

bool is_name_start(std::uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_name_char(std::uint8_t c) {
    return is_name_start(c) || c == '.' || c == '_' || c == '-';
}

std::uint32_t read_u32(ByteView in, std::size_t at) {
    return static_cast<std::uint32_t>(in[at]) << 24 | static_cast<std::uint32_t>(in[at + 1]) << 16 |
           static_cast<std::uint32_t>(in[at + 2]) << 8 | static_cast<std::uint32_t>(in[at + 3]);
}

void put_u32(Bytes& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

bool valid_wrapped_length(Form form, Suite suite, std::size_t w) {
    if (suite == Suite::gcm) return w == wrapped_dek_length(Suite::gcm, kDekSize);
    if (form == Form::envelope) return w == wrapped_dek_length(Suite::kwp, kDekSize);
    return w % 8 == 0 && w >= wrapped_dek_length(Suite::kwp, kMinDataKeySize) &&
           w <= wrapped_dek_length(Suite::kwp, kMaxDataKeySize);
}

std::string allowed_wrapped_lengths(Form form, Suite suite) {
    if (suite == Suite::gcm) return "60";
    return form == Form::envelope ? "40" : "a multiple of 8 from 24 to 72";
}

Error bad_magic(Form form, ByteView in) {
    const Form other = form == Form::envelope ? Form::data_key : Form::envelope;
    std::string msg = std::string("input is not a keyward ") + noun(form);
    // Say what it is when we can tell, because that is what the user has to fix. Never echo
    // the bytes themselves: the input may be anything, including a raw key.
    if (in.size() >= 3 && std::memcmp(in.data(), magic_of(other), 3) == 0) {
        msg += std::string(": it is a ") + noun(other) + ", which this operation does not take";
    } else if (starts_with(in, kEnvelopeTextPrefix) || starts_with(in, kDataKeyTextPrefix)) {
        msg += ": it is in text form (kwe1:/kwk1: + base64); decode the text form first";
    } else {
        msg += form == Form::envelope ? " (it must start with 4B 57 45 01, \"KWE\" version 1)"
                                      : " (it must start with 4B 57 4B 01, \"KWK\" version 1)";
    }
    return Error(Errc::bad_magic, msg);
}

Error truncated(Form form, std::size_t have, const char* field) {
    return Error(Errc::truncated, std::string(noun(form)) + " is truncated: it ends after " +
                                      std::to_string(have) + " bytes, in the header's " + field +
                                      "; supply the complete " + noun(form));
}

struct ParsedHeader {
    KeyHeader header;
    std::size_t end = 0;  // offset of the first byte after the wrapped DEK
};

// The header rules shared by both forms, in byte order. Bytes that are present are checked
// before a missing byte is reported, so a damaged short input names its real fault.
Result<ParsedHeader> parse_header(ByteView in, Form form) {
    const std::uint8_t* magic = magic_of(form);
    const std::size_t magic_have = std::min(in.size(), kMagicSize);
    for (std::size_t i = 0; i < std::min<std::size_t>(magic_have, 3); ++i) {
        if (in[i] != magic[i]) return bad_magic(form, in);
    }
    if (magic_have == kMagicSize && in[3] != magic[3]) {
        return Error(Errc::unsupported_format_version,
                     std::string(noun(form)) + " format version " + std::to_string(in[3]) +
                         " is not supported (this keyward reads version 1); use a keyward "
                         "release that knows that version");
    }
    if (in.size() < kMagicSize) return truncated(form, in.size(), "magic");

    if (in.size() <= kSuiteOffset) return truncated(form, in.size(), "suite");
    const std::uint8_t suite_byte = in[kSuiteOffset];
    if (suite_byte != 1 && suite_byte != 2) {
        return Error(Errc::unknown_suite, std::string(noun(form)) + " has unknown suite " +
                                              hex_byte(suite_byte) +
                                              " (known: 0x01 KWP, 0x02 GCM); the " + noun(form) +
                                              " is damaged or from a newer keyward");
    }
    ParsedHeader out;
    out.header.suite = static_cast<Suite>(suite_byte);

    if (in.size() <= kNameLenOffset) {
        return truncated(form, in.size(), "keyring length");
    }
    const std::size_t n = in[kNameLenOffset];
    if (n == 0 || n > kMaxKeyringName) {
        return Error(Errc::bad_keyring_length, std::string(noun(form)) + " keyring length is " +
                                                   std::to_string(n) + " (must be 1 to 64); the " +
                                                   noun(form) + " is damaged");
    }

    const std::size_t name_have = std::min(n, in.size() - kNameOffset);
    for (std::size_t i = 0; i < name_have; ++i) {
        const std::uint8_t c = in[kNameOffset + i];
        if (i == 0 ? !is_name_start(c) : !is_name_char(c)) {
            return Error(Errc::bad_keyring_name,
                         std::string(noun(form)) + " keyring name has byte " + hex_byte(c) +
                             " at position " + std::to_string(i) +
                             " (allowed: a-z 0-9 first, then a-z 0-9 . _ -); the " + noun(form) +
                             " is damaged");
        }
    }
    const std::size_t version_at = kNameOffset + n;
    const std::size_t w_len_at = version_at + 4;
    const std::size_t dek_at = w_len_at + 2;
    if (name_have < n) return truncated(form, in.size(), "keyring name");
    out.header.keyring.assign(in.begin() + kNameOffset, in.begin() + version_at);

    if (in.size() < w_len_at) return truncated(form, in.size(), "KEK version");
    out.header.kek_version = read_u32(in, version_at);
    if (out.header.kek_version == 0) {
        return Error(Errc::bad_kek_version, std::string(noun(form)) +
                                                " names KEK version 0 (versions start at 1); the " +
                                                noun(form) + " is damaged");
    }

    if (in.size() < dek_at) return truncated(form, in.size(), "wrapped DEK length");
    const std::size_t w = static_cast<std::size_t>(in[w_len_at]) << 8 | in[w_len_at + 1];
    if (!valid_wrapped_length(form, out.header.suite, w)) {
        return Error(Errc::bad_wrapped_dek_length,
                     std::string(noun(form)) + " wrapped DEK length is " + std::to_string(w) +
                         " bytes, suite " + std::to_string(suite_byte) + " needs " +
                         allowed_wrapped_lengths(form, out.header.suite) + "; the " + noun(form) +
                         " is damaged");
    }

    out.end = dek_at + w;
    if (in.size() < out.end) return truncated(form, in.size(), "wrapped DEK");
    out.header.wrapped_dek.assign(in.begin() + static_cast<std::ptrdiff_t>(dek_at),
                                  in.begin() + static_cast<std::ptrdiff_t>(out.end));
    return out;
}

// Writers refuse headers a reader would refuse, with the same codes.
Status validate_header(const KeyHeader& h, Form form) {
    const auto suite_byte = static_cast<std::uint8_t>(h.suite);
    if (h.suite != Suite::kwp && h.suite != Suite::gcm) {
        return Error(Errc::unknown_suite, std::string("cannot write a ") + noun(form) +
                                              " with unknown suite " + hex_byte(suite_byte));
    }
    if (h.keyring.empty() || h.keyring.size() > kMaxKeyringName) {
        return Error(Errc::bad_keyring_length, "keyring name must be 1 to 64 characters, got " +
                                                   std::to_string(h.keyring.size()));
    }
    if (!is_valid_keyring_name(h.keyring)) {
        return Error(
            Errc::bad_keyring_name,
            "keyring name \"" + h.keyring + "\" is not valid (a-z 0-9 first, then a-z 0-9 . _ -)");
    }
    if (h.kek_version == 0) {
        return Error(Errc::bad_kek_version, "KEK version must be 1 or more, got 0");
    }
    if (!valid_wrapped_length(form, h.suite, h.wrapped_dek.size())) {
        return Error(Errc::bad_wrapped_dek_length,
                     "wrapped DEK is " + std::to_string(h.wrapped_dek.size()) + " bytes, suite " +
                         std::to_string(suite_byte) + " " + noun(form) + " needs " +
                         allowed_wrapped_lengths(form, h.suite));
    }
    return ok_status();
}

void append_header(Bytes& out, const KeyHeader& h, Form form) {
    const std::uint8_t* magic = magic_of(form);
    out.insert(out.end(), magic, magic + kMagicSize);
    out.push_back(static_cast<std::uint8_t>(h.suite));
    out.push_back(static_cast<std::uint8_t>(h.keyring.size()));
    out.insert(out.end(), h.keyring.begin(), h.keyring.end());
    put_u32(out, h.kek_version);
    out.push_back(static_cast<std::uint8_t>(h.wrapped_dek.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(h.wrapped_dek.size()));
    out.insert(out.end(), h.wrapped_dek.begin(), h.wrapped_dek.end());
}

Error ciphertext_too_large(std::size_t size) {
    return Error(Errc::input_too_large, "envelope ciphertext is " + std::to_string(size) +
                                            " bytes, over the 64 MiB limit (67108864 bytes); "
                                            "keyward seals at most 64 MiB per envelope");
}

}  // namespace

std::size_t wrapped_dek_length(Suite suite, std::size_t dek_len) noexcept {
    switch (suite) {
        case Suite::kwp:
            return (dek_len + 7) / 8 * 8 + 8;
        case Suite::gcm:
            return kNonceSize + dek_len + kTagSize;
    }
    return 0;
}

Result<EnvelopeView> parse_envelope(ByteView envelope) {
    KW_TRY(ParsedHeader parsed, parse_header(envelope, Form::envelope));
    const std::size_t rest = envelope.size() - parsed.end;
    if (rest < kNonceSize + kTagSize) {
        return Error(Errc::too_short,
                     "envelope is too short: " + std::to_string(rest) +
                         " bytes follow the header, at least 28 are needed (12-byte nonce and "
                         "16-byte tag); supply the complete envelope");
    }
    const std::size_t ct_len = rest - kNonceSize - kTagSize;
    if (ct_len > kMaxPlaintext) return ciphertext_too_large(ct_len);

    EnvelopeView view;
    view.header = std::move(parsed.header);
    view.nonce = envelope.subspan(parsed.end, kNonceSize);
    view.ciphertext = envelope.subspan(parsed.end + kNonceSize, ct_len);
    view.tag = envelope.subspan(parsed.end + kNonceSize + ct_len, kTagSize);
    return view;
}

Result<Bytes> serialize_envelope(const KeyHeader& header, ByteView nonce, ByteView ciphertext,
                                 ByteView tag) {
    if (ciphertext.size() > kMaxPlaintext) return ciphertext_too_large(ciphertext.size());
    KW_TRY_STATUS(validate_header(header, Form::envelope));
    if (nonce.size() != kNonceSize) {
        return Error(Errc::failed,
                     "envelope nonce must be 12 bytes, got " + std::to_string(nonce.size()));
    }
    if (tag.size() != kTagSize) {
        return Error(Errc::failed,
                     "envelope tag must be 16 bytes, got " + std::to_string(tag.size()));
    }
    Bytes out;
    out.reserve(kNameOffset + header.keyring.size() + 6 + header.wrapped_dek.size() + kNonceSize +
                ciphertext.size() + kTagSize);
    append_header(out, header, Form::envelope);
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    out.insert(out.end(), tag.begin(), tag.end());
    return out;
}

Result<KeyHeader> parse_data_key_blob(ByteView blob) {
    KW_TRY(ParsedHeader parsed, parse_header(blob, Form::data_key));
    if (blob.size() != parsed.end) {
        return Error(Errc::trailing_bytes,
                     "data key blob goes on for " + std::to_string(blob.size() - parsed.end) +
                         " bytes after the wrapped DEK, where it must end; the blob is damaged "
                         "or was joined to other data");
    }
    return std::move(parsed.header);
}

Result<Bytes> serialize_data_key_blob(const KeyHeader& header) {
    KW_TRY_STATUS(validate_header(header, Form::data_key));
    Bytes out;
    out.reserve(kNameOffset + header.keyring.size() + 6 + header.wrapped_dek.size());
    append_header(out, header, Form::data_key);
    return out;
}

Bytes payload_aad(Suite suite, ByteView context) {
    Bytes aad(kEnvelopeMagic, kEnvelopeMagic + kMagicSize);
    aad.reserve(kMagicSize + 1 + 4 + context.size());
    aad.push_back(static_cast<std::uint8_t>(suite));
    put_u32(aad, static_cast<std::uint32_t>(context.size()));
    aad.insert(aad.end(), context.begin(), context.end());
    return aad;
}

Bytes gcm_dek_wrap_aad(std::string_view keyring, std::uint32_t kek_version) {
    // Always the envelope magic, also for data key blobs: a wrapped DEK can move between forms.
    Bytes aad(kEnvelopeMagic, kEnvelopeMagic + kMagicSize);
    aad.reserve(kMagicSize + 2 + keyring.size() + 4);
    aad.push_back(static_cast<std::uint8_t>(Suite::gcm));
    aad.push_back(static_cast<std::uint8_t>(keyring.size()));
    aad.insert(aad.end(), keyring.begin(), keyring.end());
    put_u32(aad, kek_version);
    return aad;
}

}  // namespace keyward::crypto
