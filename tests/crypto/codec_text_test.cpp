// SPDX-License-Identifier: Apache-2.0
// The text form of envelopes and data key blobs ("kwe1:" / "kwk1:" and RFC 4648 base64): what it
// accepts and refuses and the faults it names, round trips checked against Botan's base64, its
// size limit, and telling the forms apart.
#include <botan/base64.h>

#include <string>
#include <vector>

#include "codec_parts.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"
#include "keyward/base64.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::blob_parts;
using keyward::test::build_blob;
using keyward::test::build_envelope;
using keyward::test::bytes_of;
using keyward::test::code_of;
using keyward::test::header_of;
using keyward::test::hx;
using keyward::test::kKnownEnvelopeHex;
using keyward::test::Parts;
using keyward::test::same_header;
using keyward::test::seq;

// ---------------------------------------------------------------------------------------------
// Text form

TEST_CASE("the text form is the prefix plus RFC 4648 base64", "[codec][text]") {
    const std::pair<const char*, const char*> rfc4648[] = {
        {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, b64] : rfc4648) {
        CHECK(to_text(kEnvelopeTextPrefix, as_bytes(raw)) == std::string("kwe1:") + b64);
        CHECK(to_text(kDataKeyTextPrefix, as_bytes(raw)) == std::string("kwk1:") + b64);
        auto back = from_text(kEnvelopeTextPrefix, std::string("kwe1:") + b64);
        REQUIRE(code_of(back) == Errc::ok);
        CHECK(*back == bytes_of(raw));
    }
    CHECK(to_text(kEnvelopeTextPrefix, hx("fbff")) == "kwe1:+/8=");
    CHECK(to_text(kEnvelopeTextPrefix, hx(kKnownEnvelopeHex)) ==
          "kwe1:S1dFAQEHd2FsbGV0cwAAAAMAKAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJiegoa"
          "KjpKWmp6ipqqtoZWxsb/Dx8vP09fb3+Pn6+/z9/v8=");
}

TEST_CASE("base64_encode_secret gives the RFC 4648 test vectors byte for byte", "[codec][text]") {
    // RFC 4648 section 10, the empty string included.
    const std::pair<const char*, const char*> rfc4648[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, b64] : rfc4648) {
        INFO(raw);
        const SecretString text = base64_encode_secret(as_bytes(raw));
        CHECK(std::string(text.data(), text.size()) == b64);
    }
    // Every alphabet character, + and / included, and the same text as base64_encode.
    const Bytes all = hx(
        "00108310518720928b30d38f41149351559761969b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39e"
        "bbf3dfbf");
    const SecretString text = base64_encode_secret(all);
    CHECK(std::string(text.data(), text.size()) ==
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    for (std::size_t len = 0; len <= 64; ++len) {
        const Bytes data = seq(static_cast<std::uint8_t>(0xF0 + len), len);
        const SecretString secret = base64_encode_secret(data);
        CHECK(std::string(secret.data(), secret.size()) == base64_encode(data));
    }
}

TEST_CASE("the text form accepts prefix and padded base64 with at most one final newline",
          "[codec][text]") {
    const std::pair<std::string, Bytes> good[] = {
        {"kwe1:AAAA", Bytes{0, 0, 0}},         {"kwe1:AAAA\n", Bytes{0, 0, 0}},
        {"kwe1:AAAA\r\n", Bytes{0, 0, 0}},     {"kwe1:QQ==", bytes_of("A")},
        {"kwe1:QUI=", bytes_of("AB")},         {"kwe1:QUJD", bytes_of("ABC")},
        {"kwe1:QUJDRA==\n", bytes_of("ABCD")}, {"kwe1:+/+/", hx("fbffbf")},
        {"kwe1:AA==\r\n", Bytes{0}},
    };
    for (const auto& [text, bytes] : good) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(*r == bytes);
    }
    auto k = from_text(kDataKeyTextPrefix, "kwk1:QUJD\n");
    REQUIRE(code_of(k) == Errc::ok);
    CHECK(*k == bytes_of("ABC"));
}

TEST_CASE("the text form rejects everything else as bad_text_form", "[codec][text]") {
    const std::string bad[] = {
        "",                              // nothing
        "\n",                            // only a newline
        "kwe1:",                         // empty payload
        "kwe1:\n",                       // empty payload with newline
        "kwe1:\r\n",                     // empty payload with CRLF
        "KWE1:AAAA",                     // prefix in upper case
        "kwk1:AAAA",                     // the other form's prefix
        "kwe2:AAAA",                     // another version
        "kwe:AAAA",                      // prefix without version
        "kwe1AAAA",                      // prefix without colon
        " kwe1:AAAA",                    // leading space
        "\nkwe1:AAAA",                   // leading newline
        "kwe1: AAAA",                    // space after the prefix
        "kwe1:AA AA",                    // inner space
        "kwe1:AA\nAA",                   // inner newline
        "kwe1:AA\tAA",                   // inner tab
        "kwe1:AAAA ",                    // trailing space
        "kwe1:AAAA\t",                   // trailing tab
        "kwe1:AAAA\n\n",                 // two newlines
        "kwe1:AAAA\r",                   // lone CR
        "kwe1:AAAA\n\r",                 // LF CR
        "kwe1:AAAA\r\n\n",               // CRLF then LF
        "kwe1:AAAA\r\r\n",               // CR CRLF
        "kwe1:AAA",                      // missing padding (3 chars)
        "kwe1:AA",                       // missing padding (2 chars)
        "kwe1:A",                        // one char
        "kwe1:AA=",                      // half padding
        "kwe1:A===",                     // three pad characters
        "kwe1:====",                     // only padding
        "kwe1:AAAA=",                    // extra pad after a full group
        "kwe1:AAAA==",                   // two extra pads
        "kwe1:AA==AAAA",                 // padding in the middle
        "kwe1:A=AA",                     // pad inside a group
        "kwe1:AB==",                     // non-canonical: pad bits set (4 bits)
        "kwe1:AAB=",                     // non-canonical: pad bits set (2 bits)
        "kwe1:QR==",                     // non-canonical
        "kwe1:-_-_",                     // URL-safe alphabet
        "kwe1:AA-A",                     // URL-safe '-'
        "kwe1:AA_A",                     // URL-safe '_'
        "kwe1:AA.A",                     // not base64
        "kwe1:QUJD\x01",                 // control character
        "kwe1:QUJD\xc3\xa9",             // non-ASCII
        std::string("kwe1:QUJD\0", 10),  // NUL
        std::string("kwe1:\0QUJD", 10),  // NUL first
    };
    REQUIRE(std::size(bad) >= 15);
    for (const auto& text : bad) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::bad_text_form);
        CHECK(r.error().message().find('\n') == std::string::npos);
        CHECK(exit_code(r.error().code()) == 3);
    }
    CHECK(code_of(from_text(kDataKeyTextPrefix, "kwe1:AAAA")) == Errc::bad_text_form);
    CHECK(code_of(from_text(kDataKeyTextPrefix, "kwk1:AAA")) == Errc::bad_text_form);
}

// Issue 9, item 12: a second line end or a lone CR after "Zg==" was reported as "padding '='
// at position 7 before the end"; the message must name what is really wrong, and where.
TEST_CASE("the text form names a stray line end or character after the base64, not the padding",
          "[codec][text]") {
    const std::string tail = "; expected \"kwe1:\" followed by padded standard base64 on one line";
    const std::string one_end = " (only one final \"\\n\" or \"\\r\\n\" is allowed)";
    const std::pair<std::string, std::string> cases[] = {
        {"kwe1:Zg==\n\n", "a second line end at position 10" + one_end},
        {"kwe1:Zg==\r\n\n", "a second line end at position 11" + one_end},
        {"kwe1:Zg==\n\r\n", "a second line end at position 10" + one_end},
        {"kwe1:QUJD\n\n", "a second line end at position 10" + one_end},
        {"kwe1:Zg==\r", "a carriage return at position 9 without a line feed after it" + one_end},
        {"kwe1:Zg==\r\r\n",
         "a carriage return at position 9 without a line feed after it" + one_end},
        {"kwe1:Zg==\n\r",
         "a carriage return at position 10 without a line feed after it" + one_end},
        {"kwe1:Zg== ", "whitespace at position 9 after the base64" + one_end},
        {"kwe1:Zg==\t\n", "whitespace at position 9 after the base64" + one_end},
        {"kwe1:Zg==*", "a character outside the base64 alphabet at position 9"},
        {"kwe1:Zg==\x01", "a character outside the base64 alphabet at position 9"},
        {"kwe1:Zm8=-", "URL-safe base64 character at position 9 (use + and /)"},
        // A '=' that really is early is still named as such.
        {"kwe1:Zg==AAAA", "padding '=' at position 7 before the end"},
        {"kwe1:A=AA", "padding '=' at position 6 before the end"},
        {"kwe1:Zg==\nAAAA",
         "whitespace or a line break at position 9 (only one final newline "
         "is allowed)"},
    };
    for (const auto& [text, reason] : cases) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::bad_text_form);
        CHECK(r.error().message() == "text form is malformed: " + reason + tail);
    }
    auto k = from_text(kDataKeyTextPrefix, "kwk1:QUI=\n\n");
    REQUIRE(code_of(k) == Errc::bad_text_form);
    CHECK_THAT(k.error().message(), Catch::Contains("a second line end at position 10"));
}

TEST_CASE("the text form round-trips every length and agrees with Botan's base64",
          "[codec][text]") {
    for (std::size_t len = 1; len <= 300; ++len) {
        Bytes data(len);
        for (std::size_t i = 0; i < len; ++i) {
            data[i] = static_cast<std::uint8_t>(i * 7 + len * 13);
        }
        const std::string text = to_text(kEnvelopeTextPrefix, data);
        CHECK(text == "kwe1:" + Botan::base64_encode(data.data(), data.size()));
        auto back = from_text(kEnvelopeTextPrefix, text + "\n");
        REQUIRE(code_of(back) == Errc::ok);
        CHECK(*back == data);
    }
    Bytes all(256);
    for (std::size_t i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
    auto back = from_text(kDataKeyTextPrefix, to_text(kDataKeyTextPrefix, all));
    REQUIRE(code_of(back) == Errc::ok);
    CHECK(*back == all);
}

TEST_CASE("an envelope survives serialize, text form and parse byte for byte", "[codec][text]") {
    const Bytes env = build_envelope(Parts{});
    const std::string text = to_text(kEnvelopeTextPrefix, env) + "\n";
    auto bytes = from_text(kEnvelopeTextPrefix, text);
    REQUIRE(code_of(bytes) == Errc::ok);
    CHECK(*bytes == env);
    auto parsed = parse_envelope(*bytes);
    REQUIRE(code_of(parsed) == Errc::ok);
    CHECK(same_header(parsed->header, header_of(Parts{})));
}

TEST_CASE("text longer than the largest envelope is input_too_large before decoding",
          "[codec][text][limit]") {
    // The largest envelope still decodes.
    const Bytes largest(kMaxEnvelopeSize, 0);
    auto ok = from_text(kEnvelopeTextPrefix, to_text(kEnvelopeTextPrefix, largest));
    REQUIRE(code_of(ok) == Errc::ok);
    CHECK(ok->size() == kMaxEnvelopeSize);
    // Four more characters cannot be an envelope; even invalid base64 is not looked at.
    std::string text = "kwe1:" + std::string((kMaxEnvelopeSize + 2) / 3 * 4 + 4, '*');
    auto r = from_text(kEnvelopeTextPrefix, text);
    CHECK(code_of(r) == Errc::input_too_large);
}

TEST_CASE("detect_kind recognises the binary magics and the text prefixes", "[codec][text]") {
    CHECK(detect_kind(build_envelope(Parts{})) == BlobKind::envelope);
    CHECK(detect_kind(build_blob(blob_parts())) == BlobKind::data_key);
    CHECK(detect_kind(as_bytes("kwe1:AAAA")) == BlobKind::envelope);
    CHECK(detect_kind(as_bytes("kwk1:AAAA")) == BlobKind::data_key);
    CHECK(detect_kind(as_bytes("kwe1:")) == BlobKind::envelope);
    // Another binary version is still recognised, so the parser can name the version problem.
    CHECK(detect_kind(hx("4b574502")) == BlobKind::envelope);
    CHECK(detect_kind(hx("4b574b09")) == BlobKind::data_key);
    CHECK(detect_kind(hx("4b5745")) == BlobKind::envelope);
    // Upper-case "KWE1:" text starts with the binary "KWE": it goes to the binary parser,
    // which refuses it as format version 0x31.
    CHECK(detect_kind(as_bytes("KWE1:AAAA")) == BlobKind::envelope);
    CHECK(code_of(parse_envelope(as_bytes("KWE1:AAAA"))) == Errc::unsupported_format_version);
    for (const Bytes& unknown :
         {Bytes{}, hx("4b"), hx("4b57"), hx("4b5746"), hx("00000000"), bytes_of("kwe1"),
          bytes_of("kwe2:AAAA"), bytes_of("Kwe1:AAAA"), bytes_of(" kwe1:AAAA"), bytes_of("{}")}) {
        CAPTURE(unknown);
        CHECK(detect_kind(unknown) == BlobKind::unknown);
    }
}

TEST_CASE("looks_like_text is true exactly for the kwe1: and kwk1: prefixes", "[codec][text]") {
    CHECK(looks_like_text(as_bytes("kwe1:")));
    CHECK(looks_like_text(as_bytes("kwk1:QUJD")));
    CHECK_FALSE(looks_like_text(as_bytes("kwe1")));
    CHECK_FALSE(looks_like_text(as_bytes("KWE1:QUJD")));
    CHECK_FALSE(looks_like_text(as_bytes("kwx1:QUJD")));
    CHECK_FALSE(looks_like_text(build_envelope(Parts{})));
    CHECK_FALSE(looks_like_text(Bytes{}));
}
