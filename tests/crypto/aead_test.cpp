// SPDX-License-Identifier: Apache-2.0
// Tests of the host ciphers: AES-256-GCM seal/open, AES-KWP wrap/unwrap and the RNG, with
// published known answers, exhaustive tampering, and Botan as an independent implementation.
#include <botan/aead.h>
#include <botan/block_cipher.h>
#include <botan/exceptn.h>
#include <botan/nist_keywrap.h>

#include <set>
#include <string>

#include "crypto/aes_gcm.hpp"
#include "crypto/aes_kwp.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"
#include "crypto/random.hpp"
#include "keyward/types.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::bytes_of;
using keyward::test::code_of;
using keyward::test::concat;
using keyward::test::hx;
using keyward::test::plain;

namespace {

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 31);
    return out;
}

// The one failure every tampered input must produce, message included.
void check_auth_failed(const Result<SecretBytes>& r) {
    REQUIRE(code_of(r) == Errc::auth_failed);
    CHECK(r.error().message() == "authentication failed");
}

Bytes botan_gcm(Botan::Cipher_Dir dir, ByteView key, ByteView nonce, ByteView aad, ByteView in) {
    auto mode =
        Botan::AEAD_Mode::create_or_throw("AES-" + std::to_string(key.size() * 8) + "/GCM", dir);
    mode->set_key(key.data(), key.size());
    mode->set_associated_data(aad.data(), aad.size());
    mode->start(nonce.data(), nonce.size());
    Botan::secure_vector<std::uint8_t> buf(in.begin(), in.end());
    mode->finish(buf);
    return Bytes(buf.begin(), buf.end());
}

std::unique_ptr<Botan::BlockCipher> botan_aes(ByteView kek) {
    auto aes = Botan::BlockCipher::create_or_throw("AES-" + std::to_string(kek.size() * 8));
    aes->set_key(kek.data(), kek.size());
    return aes;
}

// GCM spec (McGrew & Viega) test cases 13, 14 and 16, AES-256 with 96-bit IVs.
const char* const kTc16Key = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char* const kTc16Iv = "cafebabefacedbaddecaf888";
const char* const kTc16Pt =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
    "49a6b525b16aedf5aa0de657ba637b39";
const char* const kTc16Aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const char* const kTc16Ct =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
    "56828838c5f61e6393ba7a0abcc9f662";
const char* const kTc16Tag = "76fc6ece0f4e1768cddf8853bb2d551b";

}  // namespace

// ---------------------------------------------------------------------------------------------
// AES-256-GCM

TEST_CASE("AES-256-GCM seal gives the published known answers", "[gcm]") {
    auto tc13 = aes256gcm_seal(Bytes(32, 0), Bytes(12, 0), {}, {});
    REQUIRE(code_of(tc13) == Errc::ok);
    CHECK(*tc13 == hx("530f8afbc74536b9a963b4f1c4cb738b"));

    auto tc14 = aes256gcm_seal(Bytes(32, 0), Bytes(12, 0), {}, Bytes(16, 0));
    REQUIRE(code_of(tc14) == Errc::ok);
    CHECK(*tc14 == hx("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"));

    auto tc16 = aes256gcm_seal(hx(kTc16Key), hx(kTc16Iv), hx(kTc16Aad), hx(kTc16Pt));
    REQUIRE(code_of(tc16) == Errc::ok);
    CHECK(*tc16 == concat({hx(kTc16Ct), hx(kTc16Tag)}));
}

TEST_CASE("AES-256-GCM open returns the known plaintext", "[gcm]") {
    auto r = aes256gcm_open(hx(kTc16Key), hx(kTc16Iv), hx(kTc16Aad), hx(kTc16Ct), hx(kTc16Tag));
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(plain(*r) == hx(kTc16Pt));

    auto empty =
        aes256gcm_open(Bytes(32, 0), Bytes(12, 0), {}, {}, hx("530f8afbc74536b9a963b4f1c4cb738b"));
    REQUIRE(code_of(empty) == Errc::ok);
    CHECK(empty->empty());
}

TEST_CASE("AES-256-GCM round-trips with empty and non-empty plaintext and AAD", "[gcm]") {
    const Bytes key = pattern(32, 1), nonce = pattern(12, 2);
    for (std::size_t pt_len : {0u, 1u, 15u, 16u, 17u, 255u, 4096u}) {
        for (std::size_t aad_len : {0u, 1u, 13u, 1000u}) {
            CAPTURE(pt_len, aad_len);
            const Bytes pt = pattern(pt_len, 3), aad = pattern(aad_len, 4);
            auto sealed = aes256gcm_seal(key, nonce, aad, pt);
            REQUIRE(code_of(sealed) == Errc::ok);
            REQUIRE(sealed->size() == pt_len + 16);
            const ByteView ct = ByteView(*sealed).first(pt_len);
            const ByteView tag = ByteView(*sealed).last(16);
            auto opened = aes256gcm_open(key, nonce, aad, ct, tag);
            REQUIRE(code_of(opened) == Errc::ok);
            CHECK(plain(*opened) == pt);
        }
    }
}

TEST_CASE(
    "AES-256-GCM open refuses every tampered byte of ciphertext, tag and AAD with one "
    "error",
    "[gcm][tamper]") {
    const Bytes key = pattern(32, 9), nonce = pattern(12, 8), aad = pattern(24, 7),
                pt = pattern(40, 6);
    auto sealed = aes256gcm_seal(key, nonce, aad, pt);
    REQUIRE(code_of(sealed) == Errc::ok);
    const Bytes ct(sealed->begin(), sealed->begin() + 40);
    const Bytes tag(sealed->begin() + 40, sealed->end());

    for (std::size_t i = 0; i < ct.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(i, bit);
            Bytes bad = ct;
            bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1u << bit));
            check_auth_failed(aes256gcm_open(key, nonce, aad, bad, tag));
        }
    }
    for (std::size_t i = 0; i < tag.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(i, bit);
            Bytes bad = tag;
            bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1u << bit));
            check_auth_failed(aes256gcm_open(key, nonce, aad, ct, bad));
        }
    }
    for (std::size_t i = 0; i < aad.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(i, bit);
            Bytes bad = aad;
            bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1u << bit));
            check_auth_failed(aes256gcm_open(key, nonce, bad, ct, tag));
        }
    }
    for (std::size_t i = 0; i < nonce.size(); ++i) {
        Bytes bad = nonce;
        bad[i] ^= 0x01;
        check_auth_failed(aes256gcm_open(key, bad, aad, ct, tag));
    }
    // Missing, extra or cut pieces are tampering too.
    check_auth_failed(aes256gcm_open(key, nonce, {}, ct, tag));
    check_auth_failed(aes256gcm_open(key, nonce, concat({aad, Bytes{0}}), ct, tag));
    check_auth_failed(aes256gcm_open(key, nonce, aad, ByteView(ct).first(39), tag));
    check_auth_failed(aes256gcm_open(key, nonce, aad, concat({ct, Bytes{0}}), tag));
    check_auth_failed(aes256gcm_open(key, nonce, aad, {}, tag));
}

TEST_CASE("AES-256-GCM open under a wrong key is auth_failed", "[gcm][tamper]") {
    const Bytes key = pattern(32, 1), nonce = pattern(12, 2);
    auto sealed = aes256gcm_seal(key, nonce, {}, bytes_of("secret"));
    REQUIRE(code_of(sealed) == Errc::ok);
    const ByteView ct = ByteView(*sealed).first(6), tag = ByteView(*sealed).last(16);
    for (std::size_t i = 0; i < 32; ++i) {
        Bytes wrong = key;
        wrong[i] ^= 0x80;
        check_auth_failed(aes256gcm_open(wrong, nonce, {}, ct, tag));
    }
    check_auth_failed(aes256gcm_open(Bytes(32, 0), nonce, {}, ct, tag));
}

TEST_CASE("AES-256-GCM refuses keys, nonces and tags of the wrong size as failed", "[gcm]") {
    const Bytes pt = bytes_of("x");
    for (std::size_t n : {0u, 16u, 24u, 31u, 33u}) {
        CHECK(code_of(aes256gcm_seal(Bytes(n, 1), Bytes(12, 0), {}, pt)) == Errc::failed);
        CHECK(code_of(aes256gcm_open(Bytes(n, 1), Bytes(12, 0), {}, pt, Bytes(16, 0))) ==
              Errc::failed);
    }
    for (std::size_t n : {0u, 8u, 11u, 13u, 16u}) {
        CHECK(code_of(aes256gcm_seal(Bytes(32, 1), Bytes(n, 0), {}, pt)) == Errc::failed);
        CHECK(code_of(aes256gcm_open(Bytes(32, 1), Bytes(n, 0), {}, pt, Bytes(16, 0))) ==
              Errc::failed);
    }
    for (std::size_t n : {0u, 4u, 12u, 15u, 17u}) {
        CHECK(code_of(aes256gcm_open(Bytes(32, 1), Bytes(12, 0), {}, pt, Bytes(n, 0))) ==
              Errc::failed);
        CHECK(code_of(aes_gcm_open_any_iv(Bytes(32, 1), Bytes(12, 0), {}, pt, Bytes(n, 0))) ==
              Errc::failed);
    }
}

TEST_CASE(
    "AES-GCM with any IV opens 128, 192 and 256-bit keys and refuses an empty IV as "
    "auth_failed",
    "[gcm]") {
    for (std::size_t key_len : {16u, 24u, 32u}) {
        for (std::size_t iv_len : {1u, 8u, 12u, 16u, 64u, 128u}) {
            CAPTURE(key_len, iv_len);
            const Bytes key = pattern(key_len, 5), iv = pattern(iv_len, 6);
            const Bytes pt = pattern(33, 7), aad = pattern(5, 8);
            const Bytes sealed = botan_gcm(Botan::ENCRYPTION, key, iv, aad, pt);
            auto r = aes_gcm_open_any_iv(key, iv, aad, ByteView(sealed).first(33),
                                         ByteView(sealed).last(16));
            REQUIRE(code_of(r) == Errc::ok);
            CHECK(plain(*r) == pt);
        }
        check_auth_failed(
            aes_gcm_open_any_iv(pattern(key_len, 5), {}, {}, Bytes(4, 0), Bytes(16, 0)));
    }
    // OpenSSL 3.0 caps GCM IVs at 128 bytes: longer ones are "unsupported", not a forgery.
    CHECK(code_of(aes_gcm_open_any_iv(Bytes(16, 0), Bytes(129, 0), {}, {}, Bytes(16, 0))) ==
          Errc::unsupported);
    CHECK(code_of(aes_gcm_open_any_iv(Bytes(20, 0), Bytes(12, 0), {}, {}, Bytes(16, 0))) ==
          Errc::failed);
}

TEST_CASE("AES-256-GCM refuses more than 64 MiB with input_too_large", "[gcm][limit]") {
    const Bytes key = pattern(32, 1), nonce = pattern(12, 2);
    Bytes big(kMaxPlaintext + 1, 0x42);
    CHECK(code_of(aes256gcm_seal(key, nonce, {}, big)) == Errc::input_too_large);
    CHECK(code_of(aes256gcm_open(key, nonce, {}, big, Bytes(16, 0))) == Errc::input_too_large);
    big.pop_back();
    auto sealed = aes256gcm_seal(key, nonce, {}, big);
    REQUIRE(code_of(sealed) == Errc::ok);
    auto opened = aes256gcm_open(key, nonce, {}, ByteView(*sealed).first(kMaxPlaintext),
                                 ByteView(*sealed).last(16));
    REQUIRE(code_of(opened) == Errc::ok);
    CHECK(opened->size() == kMaxPlaintext);
    CHECK(std::equal(opened->begin(), opened->end(), big.begin()));
}

TEST_CASE("Botan decrypts what aes256gcm_seal writes and we decrypt what Botan writes",
          "[gcm][botan]") {
    for (std::size_t pt_len : {0u, 1u, 16u, 31u, 100u, 1000u}) {
        for (std::size_t aad_len : {0u, 9u, 64u}) {
            CAPTURE(pt_len, aad_len);
            const Bytes key = pattern(32, static_cast<std::uint8_t>(pt_len)),
                        nonce = pattern(12, static_cast<std::uint8_t>(aad_len)),
                        pt = pattern(pt_len, 0x21), aad = pattern(aad_len, 0x43);
            auto ours = aes256gcm_seal(key, nonce, aad, pt);
            REQUIRE(code_of(ours) == Errc::ok);
            CHECK(botan_gcm(Botan::DECRYPTION, key, nonce, aad, *ours) == pt);

            const Bytes theirs = botan_gcm(Botan::ENCRYPTION, key, nonce, aad, pt);
            CHECK(theirs == *ours);
            auto opened = aes256gcm_open(key, nonce, aad, ByteView(theirs).first(pt_len),
                                         ByteView(theirs).last(16));
            REQUIRE(code_of(opened) == Errc::ok);
            CHECK(plain(*opened) == pt);
        }
    }
    // And Botan refuses a tag we would refuse.
    const Bytes key = pattern(32, 1), nonce = pattern(12, 2);
    auto ours = aes256gcm_seal(key, nonce, {}, bytes_of("abc"));
    REQUIRE(code_of(ours) == Errc::ok);
    Bytes bad = *ours;
    bad.back() ^= 1;
    CHECK_THROWS_AS(botan_gcm(Botan::DECRYPTION, key, nonce, {}, bad),
                    Botan::Invalid_Authentication_Tag);
}

// ---------------------------------------------------------------------------------------------
// AES key wrap with padding

TEST_CASE("AES-KWP gives the RFC 5649 known answers", "[kwp]") {
    const Bytes kek = hx("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    auto w20 = aes_kwp_wrap(kek, hx("c37b7e6492584340bed12207808941155068f738"));
    REQUIRE(code_of(w20) == Errc::ok);
    CHECK(*w20 == hx("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"));
    auto w7 = aes_kwp_wrap(kek, hx("466f7250617369"));
    REQUIRE(code_of(w7) == Errc::ok);
    CHECK(*w7 == hx("afbeb0f07dfbf5419200f2ccb50bb24f"));

    auto u20 = aes_kwp_unwrap(kek, *w20);
    REQUIRE(code_of(u20) == Errc::ok);
    CHECK(plain(*u20) == hx("c37b7e6492584340bed12207808941155068f738"));
    auto u7 = aes_kwp_unwrap(kek, *w7);
    REQUIRE(code_of(u7) == Errc::ok);
    CHECK(plain(*u7) == hx("466f7250617369"));
}

TEST_CASE(
    "AES-KWP round-trips key sizes 1 to 64 under 128, 192 and 256-bit KEKs, and Botan "
    "agrees both ways",
    "[kwp][botan]") {
    for (std::size_t kek_len : {16u, 24u, 32u}) {
        const Bytes kek = pattern(kek_len, 0x5C);
        const auto aes = botan_aes(kek);
        for (std::size_t n = 1; n <= 64; ++n) {
            CAPTURE(kek_len, n);
            const Bytes key = pattern(n, static_cast<std::uint8_t>(n));
            auto wrapped = aes_kwp_wrap(kek, key);
            REQUIRE(code_of(wrapped) == Errc::ok);
            CHECK(wrapped->size() == (n + 7) / 8 * 8 + 8);
            CHECK(wrapped->size() == wrapped_dek_length(Suite::kwp, n));

            auto unwrapped = aes_kwp_unwrap(kek, *wrapped);
            REQUIRE(code_of(unwrapped) == Errc::ok);
            CHECK(plain(*unwrapped) == key);

            const auto botan_plain =
                Botan::nist_key_unwrap_padded(wrapped->data(), wrapped->size(), *aes);
            CHECK(Bytes(botan_plain.begin(), botan_plain.end()) == key);
            const auto botan_wrapped = Botan::nist_key_wrap_padded(key.data(), key.size(), *aes);
            CHECK(Bytes(botan_wrapped.begin(), botan_wrapped.end()) == *wrapped);
            auto from_botan = aes_kwp_unwrap(kek, botan_wrapped);
            REQUIRE(code_of(from_botan) == Errc::ok);
            CHECK(plain(*from_botan) == key);
        }
    }
}

TEST_CASE("AES-KWP unwrap refuses every damaged blob with one error", "[kwp][tamper]") {
    const Bytes kek = pattern(32, 0x11);
    const Bytes dek = pattern(32, 0x22);
    auto wrapped = aes_kwp_wrap(kek, dek);
    REQUIRE(code_of(wrapped) == Errc::ok);
    REQUIRE(wrapped->size() == 40);

    for (std::size_t i = 0; i < wrapped->size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(i, bit);
            Bytes bad = *wrapped;
            bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1u << bit));
            check_auth_failed(aes_kwp_unwrap(kek, bad));
        }
    }
    for (std::size_t len = 0; len < wrapped->size(); ++len) {
        CAPTURE(len);
        check_auth_failed(aes_kwp_unwrap(kek, ByteView(*wrapped).first(len)));
    }
    for (std::size_t extra : {1u, 7u, 8u, 16u}) {
        CAPTURE(extra);
        check_auth_failed(aes_kwp_unwrap(kek, concat({*wrapped, Bytes(extra, 0)})));
    }
    // Wrong KEKs, of the same and of other sizes.
    check_auth_failed(aes_kwp_unwrap(pattern(32, 0x12), *wrapped));
    check_auth_failed(aes_kwp_unwrap(pattern(16, 0x11), *wrapped));
    check_auth_failed(aes_kwp_unwrap(pattern(24, 0x11), *wrapped));
    // Garbage of plausible sizes.
    for (std::size_t len : {16u, 24u, 40u, 72u})
        check_auth_failed(aes_kwp_unwrap(kek, Bytes(len, 0)));
    // An RFC 3394 (unpadded) wrap of the same key is not a KWP blob: different ICV.
    const auto aes = botan_aes(kek);
    const auto kw = Botan::nist_key_wrap(dek.data(), dek.size(), *aes);
    check_auth_failed(aes_kwp_unwrap(kek, kw));
}

TEST_CASE("AES-KWP refuses bad KEK sizes and an empty key as failed", "[kwp]") {
    for (std::size_t n : {0u, 8u, 15u, 17u, 20u, 31u, 33u, 64u}) {
        CAPTURE(n);
        CHECK(code_of(aes_kwp_wrap(Bytes(n, 1), Bytes(32, 2))) == Errc::failed);
        CHECK(code_of(aes_kwp_unwrap(Bytes(n, 1), Bytes(40, 2))) == Errc::failed);
    }
    CHECK(code_of(aes_kwp_wrap(Bytes(32, 1), {})) == Errc::failed);
}

// ---------------------------------------------------------------------------------------------
// Envelope-level properties

TEST_CASE("re-wrapping a DEK changes only the header: nonce, ciphertext and tag stay the same",
          "[kwp][gcm][codec]") {
    const Bytes kek_v1 = pattern(32, 0x01), kek_v2 = pattern(32, 0x02);
    const Bytes dek = pattern(32, 0x03), nonce = pattern(12, 0x04);
    const Bytes context = bytes_of("record:wallets/alice#1");
    const Bytes pt = bytes_of("the wallet seed");

    auto sealed = aes256gcm_seal(dek, nonce, payload_aad(Suite::kwp, context), pt);
    REQUIRE(code_of(sealed) == Errc::ok);
    const ByteView ct = ByteView(*sealed).first(pt.size()), tag = ByteView(*sealed).last(16);

    KeyHeader h1{Suite::kwp, "wallets", 1, {}};
    auto w1 = aes_kwp_wrap(kek_v1, dek);
    REQUIRE(code_of(w1) == Errc::ok);
    h1.wrapped_dek = *w1;
    auto env1 = serialize_envelope(h1, nonce, ct, tag);
    REQUIRE(code_of(env1) == Errc::ok);

    // Re-wrap: unwrap under v1, wrap under v2, write a new header in front of the same payload.
    auto parsed1 = parse_envelope(*env1);
    REQUIRE(code_of(parsed1) == Errc::ok);
    auto dek_again = aes_kwp_unwrap(kek_v1, parsed1->header.wrapped_dek);
    REQUIRE(code_of(dek_again) == Errc::ok);
    KeyHeader h2 = parsed1->header;
    h2.kek_version = 2;
    auto w2 = aes_kwp_wrap(kek_v2, plain(*dek_again));
    REQUIRE(code_of(w2) == Errc::ok);
    h2.wrapped_dek = *w2;
    auto env2 = serialize_envelope(h2, parsed1->nonce, parsed1->ciphertext, parsed1->tag);
    REQUIRE(code_of(env2) == Errc::ok);

    const std::size_t header_len = env1->size() - 12 - pt.size() - 16;
    REQUIRE(env2->size() == env1->size());
    CHECK(Bytes(env1->begin() + static_cast<std::ptrdiff_t>(header_len), env1->end()) ==
          Bytes(env2->begin() + static_cast<std::ptrdiff_t>(header_len), env2->end()));
    CHECK(Bytes(env1->begin(), env1->begin() + static_cast<std::ptrdiff_t>(header_len)) !=
          Bytes(env2->begin(), env2->begin() + static_cast<std::ptrdiff_t>(header_len)));

    auto parsed2 = parse_envelope(*env2);
    REQUIRE(code_of(parsed2) == Errc::ok);
    auto dek2 = aes_kwp_unwrap(kek_v2, parsed2->header.wrapped_dek);
    REQUIRE(code_of(dek2) == Errc::ok);
    auto opened = aes256gcm_open(plain(*dek2), parsed2->nonce, payload_aad(Suite::kwp, context),
                                 parsed2->ciphertext, parsed2->tag);
    REQUIRE(code_of(opened) == Errc::ok);
    CHECK(plain(*opened) == pt);
    // The wrong context, or the AAD of the other suite, does not open it.
    check_auth_failed(aes256gcm_open(plain(*dek2), parsed2->nonce, payload_aad(Suite::kwp, {}),
                                     parsed2->ciphertext, parsed2->tag));
    check_auth_failed(aes256gcm_open(plain(*dek2), parsed2->nonce, payload_aad(Suite::gcm, context),
                                     parsed2->ciphertext, parsed2->tag));
}

TEST_CASE("a suite 2 wrapped DEK is bound to its keyring and KEK version by the AAD",
          "[gcm][codec]") {
    const Bytes kek = pattern(32, 0x0A), dek = pattern(32, 0x0B), iv = pattern(12, 0x0C);
    auto ct = aes256gcm_seal(kek, iv, gcm_dek_wrap_aad("wallets", 4), dek);
    REQUIRE(code_of(ct) == Errc::ok);
    const Bytes wrapped = concat({iv, *ct});
    CHECK(wrapped.size() == wrapped_dek_length(Suite::gcm, 32));
    const ByteView body = ByteView(wrapped).subspan(12, 32), tag = ByteView(wrapped).last(16);
    auto ok = aes256gcm_open(kek, iv, gcm_dek_wrap_aad("wallets", 4), body, tag);
    REQUIRE(code_of(ok) == Errc::ok);
    CHECK(plain(*ok) == dek);
    check_auth_failed(aes256gcm_open(kek, iv, gcm_dek_wrap_aad("wallets", 5), body, tag));
    check_auth_failed(aes256gcm_open(kek, iv, gcm_dek_wrap_aad("wallet", 4), body, tag));
}

// ---------------------------------------------------------------------------------------------
// Random

TEST_CASE("random_bytes fills the buffer with fresh bytes every call", "[random]") {
    CHECK(random_bytes({}).ok());
    std::set<Bytes> seen;
    for (int i = 0; i < 100; ++i) {
        Bytes b(32, 0);
        REQUIRE(random_bytes(b).ok());
        seen.insert(b);
    }
    CHECK(seen.size() == 100);
    CHECK(seen.count(Bytes(32, 0)) == 0);
    // A large request is filled completely (its last bytes are not left zero).
    Bytes big(1 << 20, 0);
    REQUIRE(random_bytes(big).ok());
    CHECK(std::count(big.end() - 64, big.end(), 0) < 16);
}
