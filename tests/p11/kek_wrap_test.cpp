// SPDX-License-Identifier: Apache-2.0
// DEK wrapping through P11Hsm against a fresh SoftHSM token: both suites' round trips, the data
// key lengths suite 1 wraps (and SoftHSM's zero padding), suite 2's layout and AAD, every
// single-byte change of a wrapped DEK refused as authentication failed, and re-wrapping between
// KEKs of either suite. The KEK objects themselves are in kek_objects_test.cpp.
#include "support/catch_errc.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>

#include "kek_test_aad.hpp"
#include "keyward/types.hpp"
#include "p11/key_ops.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"
#include "support/test_env.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::Suite;
using keyward::core::KekRef;
using keyward::test::kAad;
using keyward::test::plain;
using keyward::test::random_bytes;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;

namespace {

// A private token AES key of known value with wrap and unwrap (what keyward itself never makes:
// CKA_LOCAL is false), for tests that compare the token with OpenSSL under the same key.
void import_known_kek(const RawToken& raw, const std::string& label, const Bytes& value) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    std::string text = label;
    Bytes copy = value;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof cls},         {CKA_KEY_TYPE, &aes, sizeof aes},
        {CKA_TOKEN, &yes, sizeof yes},         {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_WRAP, &yes, sizeof yes},          {CKA_UNWRAP, &yes, sizeof yes},
        {CKA_LABEL, text.data(), text.size()}, {CKA_VALUE, copy.data(), copy.size()}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    REQUIRE(raw.f()->C_CreateObject(raw.h(), t, 8, &h) == CKR_OK);
}

}  // namespace

TEST_CASE("a DEK wrapped under suite 1 unwraps to the same bytes") {
    SoftHsmToken token("kw-kwp");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:w:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:w:v1", Suite::kwp};
    Bytes dek = random_bytes(32);
    auto wrapped = hsm->wrap_dek(kek, dek, {});
    REQUIRE(wrapped.ok());
    CHECK(wrapped->size() == 40);
    auto again = hsm->wrap_dek(kek, dek, {});
    REQUIRE(again.ok());
    CHECK(*again == *wrapped);  // RFC 5649 is deterministic
    auto unwrapped = hsm->unwrap_dek(kek, *wrapped, {});
    REQUIRE(unwrapped.ok());
    CHECK(plain(*unwrapped) == dek);
}

TEST_CASE("suite 1 wraps data keys of 16 to 64 bytes that SoftHSM can wrap as RFC 5649 says") {
    SoftHsmToken token("kw-sizes");
    auto hsm = token.connect();
    // SoftHSM 2.6.1 zero-pads a key to a multiple of 8 before RFC 5649: other lengths would give
    // non-standard blobs, so they are refused rather than wrapped wrongly.
    CHECK_FALSE(hsm->suite1_wraps_any_length());
    REQUIRE(hsm->generate_kek("keyward:w:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:w:v1", Suite::kwp};
    int wrapped_count = 0;
    int refused_count = 0;
    for (std::size_t n = keyward::kMinDataKeySize; n <= keyward::kMaxDataKeySize; ++n) {
        INFO("data key of " << n << " bytes");
        Bytes dek = random_bytes(n);
        auto wrapped = hsm->wrap_dek(kek, dek, {});
        if (n % 8 != 0) {
            REQUIRE_FALSE(wrapped.ok());
            CHECK(wrapped.error().code() == Errc::unsupported);
            CHECK(wrapped.error().message().find("multiple of 8") != std::string::npos);
            ++refused_count;
            continue;
        }
        REQUIRE(wrapped.ok());
        CHECK(wrapped->size() == n + 8);
        auto unwrapped = hsm->unwrap_dek(kek, *wrapped, {});
        REQUIRE(unwrapped.ok());
        CHECK(plain(*unwrapped) == dek);
        // Length unknown to the caller (a data key blob): the token is asked. Known: not.
        auto rewrapped = hsm->rewrap_dek(kek, *wrapped, {}, kek, {}, 0);
        REQUIRE(rewrapped.ok());
        CHECK(*rewrapped == *wrapped);
        auto told = hsm->rewrap_dek(kek, *wrapped, {}, kek, {}, n);
        REQUIRE(told.ok());
        CHECK(*told == *wrapped);
        ++wrapped_count;
    }
    CHECK(wrapped_count == 7);
    CHECK(refused_count == 42);
}

TEST_CASE("a re-wrap never changes a data key's length, even on a token that zero-pads") {
    // SoftHSM 2.6.1 answers CKA_VALUE_LEN = 0 for an unwrapped key and zero-pads before
    // wrapping: a correct RFC 5649 blob of a 20-byte key, made elsewhere, once came back from
    // rewrap_dek as a 24-byte key. The blob is made by OpenSSL under a token key of known value.
    SoftHsmToken token("kw-rewrap-len");
    auto hsm = token.connect_with_known_keks();  // v1 is imported with a known value
    REQUIRE(hsm->generate_kek("keyward:l:v2", Suite::kwp, Bytes{2}).ok());
    RawToken raw(token);
    Bytes kek_value = random_bytes(32);
    import_known_kek(raw, "keyward:l:v1", kek_value);
    auto rfc5649 = [&](const Bytes& key) {
        Bytes out(key.size() + 16);
        EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        int n = 0, m = 0;
        REQUIRE(EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), nullptr, kek_value.data(), nullptr) ==
                1);
        REQUIRE(EVP_EncryptUpdate(c, out.data(), &n, key.data(), static_cast<int>(key.size())) ==
                1);
        REQUIRE(EVP_EncryptFinal_ex(c, out.data() + n, &m) == 1);
        EVP_CIPHER_CTX_free(c);
        out.resize(static_cast<std::size_t>(n + m));
        return out;
    };
    KekRef v1{"keyward:l:v1", Suite::kwp};
    KekRef v2{"keyward:l:v2", Suite::kwp};

    const Bytes key20 = random_bytes(20);
    const Bytes blob20 = rfc5649(key20);
    REQUIRE(blob20.size() == 32);
    auto opened = hsm->unwrap_dek(v1, blob20, {});
    REQUIRE(opened.ok());
    CHECK(plain(*opened) == key20);

    auto moved = hsm->rewrap_dek(v1, blob20, {}, v2, {}, 0);
    if (hsm->suite1_wraps_any_length()) {
        REQUIRE(moved.ok());
        auto back = hsm->unwrap_dek(v2, *moved, {});
        REQUIRE(back.ok());
        CHECK(plain(*back) == key20);
    } else {
        REQUIRE_FALSE(moved.ok());
        CHECK(moved.error().code() == Errc::unsupported);
        CHECK(moved.error().message().find("multiple of 8") != std::string::npos);
    }
    // A caller that says 32 bytes is told that this blob cannot hold them.
    auto claimed = hsm->rewrap_dek(v1, blob20, {}, v2, {}, 32);
    REQUIRE_FALSE(claimed.ok());
    CHECK(claimed.error().code() == Errc::auth_failed);

    // A length the token wraps correctly goes through, and stays what it was.
    const Bytes key24 = random_bytes(24);
    auto moved24 = hsm->rewrap_dek(v1, rfc5649(key24), {}, v2, {}, 0);
    REQUIRE(moved24.ok());
    auto back24 = hsm->unwrap_dek(v2, *moved24, {});
    REQUIRE(back24.ok());
    CHECK(plain(*back24) == key24);
}

TEST_CASE("a DEK wrapped under suite 2 is IV || ciphertext || tag and needs the same AAD") {
    SoftHsmToken token("kw-gcm");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:w:v1", Suite::gcm, Bytes{1}).ok());
    KekRef kek{"keyward:w:v1", Suite::gcm};
    Bytes dek = random_bytes(32);
    auto wrapped = hsm->wrap_dek(kek, dek, kAad);
    REQUIRE(wrapped.ok());
    CHECK(wrapped->size() == 60);
    auto second = hsm->wrap_dek(kek, dek, kAad);
    REQUIRE(second.ok());
    CHECK(Bytes(wrapped->begin(), wrapped->begin() + 12) !=
          Bytes(second->begin(), second->begin() + 12));  // a fresh IV each time

    auto unwrapped = hsm->unwrap_dek(kek, *wrapped, kAad);
    REQUIRE(unwrapped.ok());
    CHECK(plain(*unwrapped) == dek);

    Bytes other_aad = kAad;
    other_aad.back() = 0x02;
    auto wrong = hsm->unwrap_dek(kek, *wrapped, other_aad);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code() == Errc::auth_failed);
    CHECK(wrong.error().message() == "authentication failed");
}

TEST_CASE("every single-byte change of a wrapped DEK is one error: authentication failed") {
    SoftHsmToken token("kw-tamper");
    auto hsm = token.connect(2);
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        INFO("suite " << keyward::suite_name(suite));
        const std::string label = suite == Suite::kwp ? "keyward:t:v1" : "keyward:t:v2";
        REQUIRE(hsm->generate_kek(label, suite, Bytes{1}).ok());
        KekRef kek{label, suite};
        Bytes dek = random_bytes(32);
        auto wrapped = hsm->wrap_dek(kek, dek, kAad);
        REQUIRE(wrapped.ok());
        std::size_t rejected = 0;
        for (std::size_t i = 0; i < wrapped->size(); ++i) {
            for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
                Bytes bad = *wrapped;
                bad[i] ^= flip;
                auto r = hsm->unwrap_dek(kek, bad, kAad);
                INFO("byte " << i << " xor " << int(flip));
                REQUIRE_FALSE(r.ok());
                CHECK(r.error().code() == Errc::auth_failed);
                CHECK(r.error().message() == "authentication failed");
                ++rejected;
            }
        }
        CHECK(rejected == 3 * wrapped->size());
        // Shorter, longer and empty blobs are the same error.
        for (Bytes bad : {Bytes(wrapped->begin(), wrapped->end() - 1),
                          Bytes(wrapped->begin(), wrapped->end() - 8), Bytes{}}) {
            auto r = hsm->unwrap_dek(kek, bad, kAad);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code() == Errc::auth_failed);
        }
        Bytes longer = *wrapped;
        longer.insert(longer.end(), 8, 0x00);
        auto r = hsm->unwrap_dek(kek, longer, kAad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::auth_failed);

        // The sessions that saw the failures still work, and none had to be thrown away.
        auto good = hsm->unwrap_dek(kek, *wrapped, kAad);
        REQUIRE(good.ok());
        CHECK(plain(*good) == dek);
    }
    CHECK(hsm->pool_stats().discarded == 0);
}

TEST_CASE("re-wrapping moves a DEK to another KEK in any suite combination") {
    SoftHsmToken token("kw-rewrap");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:r:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:r:v2", Suite::kwp, Bytes{2}).ok());
    REQUIRE(hsm->generate_kek("keyward:r:v3", Suite::gcm, Bytes{3}).ok());
    KekRef v1{"keyward:r:v1", Suite::kwp};
    KekRef v2{"keyward:r:v2", Suite::kwp};
    KekRef v3{"keyward:r:v3", Suite::gcm};
    Bytes dek = random_bytes(32);
    auto w1 = hsm->wrap_dek(v1, dek, {});
    REQUIRE(w1.ok());

    SECTION("suite 1 to suite 1 in the token") {
        auto w2 = hsm->rewrap_dek(v1, *w1, {}, v2, {}, 32);
        REQUIRE(w2.ok());
        CHECK(w2->size() == 40);
        CHECK(*w2 != *w1);
        auto direct = hsm->wrap_dek(v2, dek, {});
        REQUIRE(direct.ok());
        CHECK(*w2 == *direct);
        auto back = hsm->unwrap_dek(v2, *w2, {});
        REQUIRE(back.ok());
        CHECK(plain(*back) == dek);
        auto wrong_kek = hsm->unwrap_dek(v1, *w2, {});
        REQUIRE_FALSE(wrong_kek.ok());
        CHECK(wrong_kek.error().code() == Errc::auth_failed);
    }
    SECTION("suite 1 to suite 2 and back") {
        auto w3 = hsm->rewrap_dek(v1, *w1, {}, v3, kAad, 32);
        REQUIRE(w3.ok());
        CHECK(w3->size() == 60);
        auto back = hsm->rewrap_dek(v3, *w3, kAad, v2, {}, 32);
        REQUIRE(back.ok());
        auto dek2 = hsm->unwrap_dek(v2, *back, {});
        REQUIRE(dek2.ok());
        CHECK(plain(*dek2) == dek);
    }
    SECTION("a tampered blob is not re-wrapped") {
        Bytes bad = *w1;
        bad[5] ^= 0x10;
        auto r = hsm->rewrap_dek(v1, bad, {}, v2, {}, 32);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::auth_failed);
        CHECK(r.error().message() == "authentication failed");
    }
}

TEST_CASE("suite 1 in the token is RFC 5649 exactly as openssl enc -id-aes256-wrap-pad makes it") {
    // The known-answer test behind the OpenSSL provider's raw mode (docs/PROVIDER.md): a key of
    // known value, imported into this throw-away token (P11Hsm looks KEKs up among private token
    // objects only), wraps data keys through the same P11Hsm::wrap_dek call as raw mode,
    // and the stock openssl binary, given the same key and RFC 5649's alternative IV A65959A6,
    // must print the very same bytes; the token unwraps openssl's output back to the key.
    SoftHsmToken token("kw-raw-kat");
    auto hsm = token.connect_with_known_keks();  // the KEK is imported with a known value
    RawToken raw(token);
    const Bytes kek_value =
        keyward::test::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    import_known_kek(raw, "keyward:kat:v1", kek_value);
    const KekRef kek{"keyward:kat:v1", Suite::kwp};
    const auto dir = keyward::test::fresh_dir("raw-kat");
    int compared = 0;
    for (std::size_t n : {16, 24, 32, 48, 64}) {
        INFO("data key of " << n << " bytes");
        Bytes dek(n);
        for (std::size_t i = 0; i < n; ++i) dek[i] = static_cast<unsigned char>(0xa0 + i);
        const auto in = dir / ("dek" + std::to_string(n));
        const auto out = dir / ("wrapped" + std::to_string(n));
        {
            std::ofstream f(in, std::ios::binary);
            f.write(reinterpret_cast<const char*>(dek.data()), static_cast<std::streamsize>(n));
        }
        const std::string command =
            "openssl enc -id-aes256-wrap-pad -iv A65959A6 -K "
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
            "1d1e1f -in '" +
            in.string() + "' -out '" + out.string() + "'";
        REQUIRE(std::system(command.c_str()) == 0);
        const std::string by_openssl = keyward::test::read_file(out);
        REQUIRE(by_openssl.size() == n + 8);

        auto by_token = hsm->wrap_dek(kek, dek, {});
        REQUIRE(by_token.ok());
        CHECK(std::string(by_token->begin(), by_token->end()) == by_openssl);

        auto back = hsm->unwrap_dek(kek, Bytes(by_openssl.begin(), by_openssl.end()), {});
        REQUIRE(back.ok());
        CHECK(plain(*back) == dek);
        ++compared;
    }
    CHECK(compared == 5);
}
