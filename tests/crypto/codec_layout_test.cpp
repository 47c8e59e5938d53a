// SPDX-License-Identifier: Apache-2.0
// The envelope and data key blob layout of docs/FORMAT.md: hand-built bytes parse into exactly
// their fields and serialize back, round trips for both suites, what the writers refuse, the
// AADs, and the 64 MiB limit. The reader rules are in codec_rules_test.cpp, the text form in
// codec_text_test.cpp.
#include <string>
#include <vector>

#include "codec_parts.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::blob_parts;
using keyward::test::build_blob;
using keyward::test::build_envelope;
using keyward::test::bytes_of;
using keyward::test::code_of;
using keyward::test::concat;
using keyward::test::header_of;
using keyward::test::hx;
using keyward::test::kKnownEnvelopeHex;
using keyward::test::Parts;
using keyward::test::same_header;
using keyward::test::seq;
using keyward::test::to_bytes;

// ---------------------------------------------------------------------------------------------
// Known bytes and round trips

TEST_CASE("a hand-built envelope parses into exactly its fields", "[codec]") {
    const Bytes env = hx(kKnownEnvelopeHex);
    REQUIRE(env.size() == 92);
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->header.suite == Suite::kwp);
    CHECK(r->header.keyring == "wallets");
    CHECK(r->header.kek_version == 3);
    CHECK(r->header.wrapped_dek == seq(0x00, 40));
    CHECK(to_bytes(r->nonce) == seq(0xA0, 12));
    CHECK(to_bytes(r->ciphertext) == bytes_of("hello"));
    CHECK(to_bytes(r->tag) == seq(0xF0, 16));
    // The views point into the parsed buffer, not into copies.
    CHECK(r->nonce.data() == env.data() + 59);
    CHECK(r->ciphertext.data() == env.data() + 71);
    CHECK(r->tag.data() == env.data() + 76);
}

TEST_CASE("serializing the hand-built header gives exactly the hand-built bytes", "[codec]") {
    KeyHeader h;
    h.suite = Suite::kwp;
    h.keyring = "wallets";
    h.kek_version = 3;
    h.wrapped_dek = seq(0x00, 40);
    auto r = serialize_envelope(h, seq(0xA0, 12), bytes_of("hello"), seq(0xF0, 16));
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(*r == hx(kKnownEnvelopeHex));
    CHECK(*r == build_envelope(Parts{}));
}

TEST_CASE("a hand-built suite 2 envelope and data key blob parse and serialize exactly",
          "[codec]") {
    Parts p;
    p.suite = 2;
    p.keyring = "a";
    p.version = 0xFFFFFFFF;
    p.wrapped = seq(0x10, 60);
    p.ct = {};
    const Bytes env = build_envelope(p);
    CHECK(env.size() == 4 + 1 + 1 + 1 + 4 + 2 + 60 + 12 + 16);
    CHECK(Bytes(env.begin(), env.begin() + 13) == hx("4b57450102 01 61 ffffffff 003c"));
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(same_header(r->header, header_of(p)));
    CHECK(r->ciphertext.empty());
    auto s = serialize_envelope(header_of(p), p.nonce, {}, p.tag);
    REQUIRE(code_of(s) == Errc::ok);
    CHECK(*s == env);

    Parts b = blob_parts();
    b.suite = 2;
    b.keyring = "a";
    b.version = 0xFFFFFFFF;
    b.wrapped = seq(0x10, 60);
    const Bytes blob = build_blob(b);
    CHECK(Bytes(blob.begin(), blob.begin() + 13) == hx("4b574b0102 01 61 ffffffff 003c"));
    auto rb = parse_data_key_blob(blob);
    REQUIRE(code_of(rb) == Errc::ok);
    CHECK(same_header(*rb, header_of(b)));
    auto sb = serialize_data_key_blob(header_of(b));
    REQUIRE(code_of(sb) == Errc::ok);
    CHECK(*sb == blob);
}

TEST_CASE("envelopes round-trip through serialize and parse for both suites", "[codec]") {
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        for (const std::string& keyring :
             {std::string("a"), std::string("0"), std::string("wallets.prod-eu_1"),
              std::string(64, 'z')}) {
            for (std::size_t ct_len : {0u, 1u, 15u, 16u, 17u, 1000u}) {
                KeyHeader h;
                h.suite = suite;
                h.keyring = keyring;
                h.kek_version = 42;
                h.wrapped_dek = seq(0x33, suite == Suite::kwp ? 40 : 60);
                const Bytes ct = seq(0x55, ct_len);
                auto s = serialize_envelope(h, seq(1, 12), ct, seq(2, 16));
                REQUIRE(code_of(s) == Errc::ok);
                CHECK(s->size() ==
                      4 + 1 + 1 + keyring.size() + 4 + 2 + h.wrapped_dek.size() + 12 + ct_len + 16);
                auto p = parse_envelope(*s);
                REQUIRE(code_of(p) == Errc::ok);
                CHECK(same_header(p->header, h));
                CHECK(to_bytes(p->nonce) == seq(1, 12));
                CHECK(to_bytes(p->ciphertext) == ct);
                CHECK(to_bytes(p->tag) == seq(2, 16));
            }
        }
    }
}

TEST_CASE("data key blobs round-trip for every allowed wrapped DEK length", "[codec]") {
    for (std::size_t w = 24; w <= 72; w += 8) {
        KeyHeader h;
        h.suite = Suite::kwp;
        h.keyring = "keys";
        h.kek_version = 1;
        h.wrapped_dek = seq(0x80, w);
        auto s = serialize_data_key_blob(h);
        REQUIRE(code_of(s) == Errc::ok);
        CHECK(*s == concat({hx("4b574b0101 04"), bytes_of("keys"), hx("00000001"),
                            Bytes{0x00, static_cast<std::uint8_t>(w)}, seq(0x80, w)}));
        auto p = parse_data_key_blob(*s);
        REQUIRE(code_of(p) == Errc::ok);
        CHECK(same_header(*p, h));
    }
    KeyHeader g;
    g.suite = Suite::gcm;
    g.keyring = "keys";
    g.kek_version = 7;
    g.wrapped_dek = seq(0x00, 60);
    auto s = serialize_data_key_blob(g);
    REQUIRE(code_of(s) == Errc::ok);
    auto p = parse_data_key_blob(*s);
    REQUIRE(code_of(p) == Errc::ok);
    CHECK(same_header(*p, g));
}

// ---------------------------------------------------------------------------------------------
// Writers

TEST_CASE("writers refuse a header that readers would refuse, with the same codes",
          "[codec][write]") {
    const Bytes nonce = seq(0, 12), tag = seq(0, 16);
    auto both = [&](const KeyHeader& h, Errc env_code, Errc blob_code) {
        CHECK(code_of(serialize_envelope(h, nonce, {}, tag)) == env_code);
        CHECK(code_of(serialize_data_key_blob(h)) == blob_code);
    };
    KeyHeader good = header_of(Parts{});
    both(good, Errc::ok, Errc::ok);

    KeyHeader h = good;
    h.suite = static_cast<Suite>(3);
    both(h, Errc::unknown_suite, Errc::unknown_suite);
    h.suite = static_cast<Suite>(0);
    both(h, Errc::unknown_suite, Errc::unknown_suite);

    h = good;
    h.keyring = "";
    both(h, Errc::bad_keyring_length, Errc::bad_keyring_length);
    h.keyring = std::string(65, 'a');
    both(h, Errc::bad_keyring_length, Errc::bad_keyring_length);
    h.keyring = std::string(64, 'a');
    both(h, Errc::ok, Errc::ok);
    for (const char* bad : {"Wallets", "_wallets", ".a", "-a", "wal lets", "wal/lets", "wäl"}) {
        CAPTURE(bad);
        h.keyring = bad;
        both(h, Errc::bad_keyring_name, Errc::bad_keyring_name);
    }

    h = good;
    h.kek_version = 0;
    both(h, Errc::bad_kek_version, Errc::bad_kek_version);

    h = good;
    for (std::size_t w : {0u, 8u, 16u, 24u, 32u, 39u, 41u, 48u, 60u, 72u, 80u}) {
        CAPTURE(w);
        h.wrapped_dek = seq(0, w);
        const bool blob_ok = w >= 24 && w <= 72 && w % 8 == 0;
        both(h, w == 40 ? Errc::ok : Errc::bad_wrapped_dek_length,
             blob_ok ? Errc::ok : Errc::bad_wrapped_dek_length);
    }
    h.suite = Suite::gcm;
    for (std::size_t w : {40u, 59u, 60u, 61u}) {
        CAPTURE(w);
        h.wrapped_dek = seq(0, w);
        const Errc want = w == 60 ? Errc::ok : Errc::bad_wrapped_dek_length;
        both(h, want, want);
    }
}

TEST_CASE("serialize_envelope refuses a nonce that is not 12 bytes or a tag that is not 16",
          "[codec][write]") {
    const KeyHeader h = header_of(Parts{});
    CHECK(code_of(serialize_envelope(h, seq(0, 11), {}, seq(0, 16))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 13), {}, seq(0, 16))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), {}, seq(0, 15))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), {}, {})) == Errc::failed);
}

TEST_CASE("wrapped_dek_length is 8*ceil(n/8)+8 for suite 1 and 12+n+16 for suite 2", "[codec]") {
    CHECK(wrapped_dek_length(Suite::kwp, 32) == 40);
    CHECK(wrapped_dek_length(Suite::kwp, 16) == 24);
    CHECK(wrapped_dek_length(Suite::kwp, 64) == 72);
    CHECK(wrapped_dek_length(Suite::kwp, 1) == 16);
    CHECK(wrapped_dek_length(Suite::kwp, 17) == 32);
    CHECK(wrapped_dek_length(Suite::gcm, 32) == 60);
}

// ---------------------------------------------------------------------------------------------
// AADs

TEST_CASE("the payload AAD is magic, suite, 32-bit context length and context", "[codec][aad]") {
    CHECK(payload_aad(Suite::kwp, {}) == hx("4b574501 01 00000000"));
    CHECK(payload_aad(Suite::gcm, {}) == hx("4b574501 02 00000000"));
    CHECK(payload_aad(Suite::kwp, as_bytes("record:ns/name#1")) ==
          hx("4b574501 01 00000010 7265636f72643a6e732f6e616d652331"));
    const Bytes big(65535, 0x61);
    const Bytes aad = payload_aad(Suite::gcm, big);
    CHECK(Bytes(aad.begin(), aad.begin() + 9) == hx("4b574501 02 0000ffff"));
    CHECK(aad.size() == 9 + 65535);
    CHECK(Bytes(aad.begin() + 9, aad.end()) == big);
}

TEST_CASE("the suite 2 DEK-wrap AAD is the envelope magic, suite 2, keyring and KEK version",
          "[codec][aad]") {
    CHECK(gcm_dek_wrap_aad("wallets", 3) == hx("4b574501 02 07 77616c6c657473 00000003"));
    CHECK(gcm_dek_wrap_aad("a", 0x01020304) == hx("4b574501 02 01 61 01020304"));
    // The same bytes serve envelopes and data key blobs: the magic is always "KWE".
    CHECK(gcm_dek_wrap_aad(std::string(64, 'k'), 0xFFFFFFFF).size() == 4 + 1 + 1 + 64 + 4);
}

// ---------------------------------------------------------------------------------------------
// 64 MiB limit

TEST_CASE("an envelope with 64 MiB of ciphertext parses and one byte more is input_too_large",
          "[codec][limit]") {
    Parts p;
    p.ct.assign(kMaxPlaintext, 0x5A);
    Bytes env = build_envelope(p);
    {
        auto r = parse_envelope(env);
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->ciphertext.size() == kMaxPlaintext);
        CHECK(env.size() <= kMaxEnvelopeSize);
    }
    env.push_back(0);
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::input_too_large);
    CHECK(exit_code(r.error().code()) == 1);
    // Header faults are still reported first: the size rule comes after the header in byte
    // order.
    env[0] = 0;
    CHECK(code_of(parse_envelope(env)) == Errc::bad_magic);
}

TEST_CASE("serialize_envelope refuses more than 64 MiB of ciphertext", "[codec][limit]") {
    const KeyHeader h = header_of(Parts{});
    Bytes ct(kMaxPlaintext, 0x11);
    auto ok = serialize_envelope(h, seq(0, 12), ct, seq(0, 16));
    REQUIRE(code_of(ok) == Errc::ok);
    CHECK(ok->size() == 59 + 12 + kMaxPlaintext + 16);
    ct.push_back(0x11);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), ct, seq(0, 16))) == Errc::input_too_large);
    // Even with a header that is also wrong: the size is checked before anything else.
    KeyHeader bad = h;
    bad.kek_version = 0;
    CHECK(code_of(serialize_envelope(bad, seq(0, 12), ct, seq(0, 16))) == Errc::input_too_large);
}
