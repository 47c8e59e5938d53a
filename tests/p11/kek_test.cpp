// KEK objects and DEK wrapping through P11Hsm against a fresh SoftHSM token: the attributes of
// spec/ENVELOPE.md as the token stores them, what the token refuses to do with a KEK, check
// values, both suites' round trips and tamper rejection, re-wrapping, concurrency.
#include "support/catch_errc.hpp"

#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "keyward/types.hpp"
#include "p11/attributes.hpp"
#include "p11/key_ops.hpp"
#include "p11/rv.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::ByteView;
using keyward::Errc;
using keyward::SecretBytes;
using keyward::Suite;
using keyward::core::KekAttributes;
using keyward::core::KekRef;
using keyward::test::random_bytes;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;

namespace {

const Bytes kAad = {0x4B, 0x57, 0x45, 0x01, 0x02, 0x01, 'w', 0x00, 0x00, 0x00, 0x01};

Bytes to_bytes(const SecretBytes& s) {
    return Bytes(s.begin(), s.end());
}

void require_spec_attributes(const KekAttributes& a, const std::string& label, const Bytes& id,
                             Suite suite) {
    const bool kwp = suite == Suite::kwp;
    CHECK(a.label == label);
    CHECK(a.id == id);
    CHECK(a.object_class == "CKO_SECRET_KEY");
    CHECK(a.key_type == "CKK_AES");
    CHECK(a.value_len == 32ul);
    CHECK(a.token == true);
    CHECK(a.private_ == true);
    CHECK(a.sensitive == true);
    CHECK(a.extractable == false);
    CHECK(a.never_extractable == true);
    CHECK(a.always_sensitive == true);
    CHECK(a.modifiable == false);
    CHECK(a.wrap == kwp);
    CHECK(a.unwrap == kwp);
    CHECK(a.encrypt == !kwp);
    CHECK(a.decrypt == !kwp);
    CHECK(a.sign == false);
    CHECK(a.verify == false);
    CHECK(a.derive == false);
}

void require_raw_spec_attributes(const RawToken& raw, CK_OBJECT_HANDLE o, const std::string& label,
                                 const Bytes& id, Suite suite) {
    const bool kwp = suite == Suite::kwp;
    CHECK(raw.get_ulong(o, CKA_CLASS) == CKO_SECRET_KEY);
    CHECK(raw.get_ulong(o, CKA_KEY_TYPE) == CKK_AES);
    CHECK(raw.get_ulong(o, CKA_VALUE_LEN) == 32ul);
    Bytes raw_label = raw.get_bytes(o, CKA_LABEL);
    CHECK(std::string(raw_label.begin(), raw_label.end()) == label);
    CHECK(raw.get_bytes(o, CKA_ID) == id);
    CHECK(raw.get_bool(o, CKA_TOKEN));
    CHECK(raw.get_bool(o, CKA_PRIVATE));
    CHECK(raw.get_bool(o, CKA_SENSITIVE));
    CHECK_FALSE(raw.get_bool(o, CKA_EXTRACTABLE));
    CHECK(raw.get_bool(o, CKA_NEVER_EXTRACTABLE));
    CHECK(raw.get_bool(o, CKA_ALWAYS_SENSITIVE));
    CHECK_FALSE(raw.get_bool(o, CKA_MODIFIABLE));
    CHECK(raw.get_bool(o, CKA_WRAP) == kwp);
    CHECK(raw.get_bool(o, CKA_UNWRAP) == kwp);
    CHECK(raw.get_bool(o, CKA_ENCRYPT) == !kwp);
    CHECK(raw.get_bool(o, CKA_DECRYPT) == !kwp);
    CHECK_FALSE(raw.get_bool(o, CKA_SIGN));
    CHECK_FALSE(raw.get_bool(o, CKA_VERIFY));
    CHECK_FALSE(raw.get_bool(o, CKA_DERIVE));
}

}  // namespace

TEST_CASE("the mechanism probe picks CKM_AES_KEY_WRAP_PAD and AES-GCM on SoftHSM") {
    SoftHsmToken token("kw-probe");
    auto hsm = token.connect();
    INFO("suite 1: " << hsm->unavailable_reason(Suite::kwp));
    INFO("suite 2: " << hsm->unavailable_reason(Suite::gcm));
    CHECK(hsm->suite1_mechanism_name() == "CKM_AES_KEY_WRAP_PAD");
    CHECK(hsm->supports(Suite::kwp));
    CHECK(hsm->supports(Suite::gcm));
    CHECK(hsm->unavailable_reason(Suite::kwp).empty());
    CHECK(hsm->unavailable_reason(Suite::gcm).empty());
    CHECK(hsm->identity().label == token.label());
    CHECK(hsm->identity().manufacturer == "SoftHSM project");
    CHECK(hsm->identity().model == "SoftHSM v2");
    CHECK(hsm->identity().serial.size() == 16);
}

TEST_CASE("generated KEKs carry exactly the attributes of ENVELOPE.md, read back two ways") {
    SoftHsmToken token("kw-attrs");
    auto hsm = token.connect();
    RawToken raw(token);
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        const std::string label = keyward::kek_label(suite == Suite::kwp ? "wallets" : "creds", 3);
        const Bytes id = {0x6b, 0x77, 0x01, static_cast<std::uint8_t>(suite)};
        INFO("suite " << keyward::suite_name(suite));

        auto generated = hsm->generate_kek(label, suite, id);
        REQUIRE(generated.ok());
        require_spec_attributes(*generated, label, id, suite);

        auto found = hsm->find_keks(label);
        REQUIRE(found.ok());
        REQUIRE(found->size() == 1);
        require_spec_attributes(found->front(), label, id, suite);

        require_raw_spec_attributes(raw, raw.find_one(label), label, id, suite);
    }
}

TEST_CASE("the token refuses to reveal, loosen or export a KEK") {
    SoftHsmToken token("kw-refuse");
    auto hsm = token.connect();
    RawToken raw(token);
    REQUIRE(hsm->generate_kek("keyward:w:v1", Suite::kwp, Bytes{1}).ok());
    CK_OBJECT_HANDLE kek = raw.find_one("keyward:w:v1");

    SECTION("reading CKA_VALUE fails with CKR_ATTRIBUTE_SENSITIVE") {
        CHECK(raw.get_rv(kek, CKA_VALUE) == CKR_ATTRIBUTE_SENSITIVE);
    }
    SECTION("setting CKA_EXTRACTABLE to TRUE fails and changes nothing") {
        CK_BBOOL yes = CK_TRUE;
        CK_ATTRIBUTE a{CKA_EXTRACTABLE, &yes, sizeof yes};
        CK_RV rv = raw.f()->C_SetAttributeValue(raw.h(), kek, &a, 1);
        CHECK(keyward::p11::rv_name(rv) == "CKR_ACTION_PROHIBITED");
        CHECK_FALSE(raw.get_bool(kek, CKA_EXTRACTABLE));
    }
    SECTION("setting CKA_SENSITIVE to FALSE fails") {
        CK_BBOOL no = CK_FALSE;
        CK_ATTRIBUTE a{CKA_SENSITIVE, &no, sizeof no};
        CHECK(raw.f()->C_SetAttributeValue(raw.h(), kek, &a, 1) != CKR_OK);
        CHECK(raw.get_bool(kek, CKA_SENSITIVE));
    }
    SECTION("wrapping the KEK under another key fails with CKR_KEY_UNEXTRACTABLE") {
        auto other = keyward::p11::import_session_key(raw.session(), random_bytes(32),
                                                      keyward::p11::KeyUse::aes_wrapping_key);
        REQUIRE(other.ok());
        auto wrapped =
            keyward::p11::wrap_key(raw.session(), CKM_AES_KEY_WRAP_PAD, other->handle(), kek, 48);
        REQUIRE_FALSE(wrapped.ok());
        CHECK(wrapped.error().message() == "C_WrapKey: CKR_KEY_UNEXTRACTABLE");
    }
}

TEST_CASE("a check value is deterministic, 8 bytes, and differs between KEKs") {
    SoftHsmToken token("kw-check");
    auto hsm = token.connect();
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        INFO("suite " << keyward::suite_name(suite));
        const std::string tag = suite == Suite::kwp ? "k" : "g";
        REQUIRE(hsm->generate_kek("keyward:" + tag + ":v1", suite, Bytes{1}).ok());
        REQUIRE(hsm->generate_kek("keyward:" + tag + ":v2", suite, Bytes{2}).ok());
        KekRef v1{"keyward:" + tag + ":v1", suite};
        KekRef v2{"keyward:" + tag + ":v2", suite};
        auto a = hsm->check_value(v1);
        auto b = hsm->check_value(v1);
        auto c = hsm->check_value(v2);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        REQUIRE(c.ok());
        CHECK(a->size() == 8);
        CHECK(*a == *b);
        CHECK(*a != *c);
        if (suite == Suite::kwp) {
            // Suite 1: the first 8 bytes of the RFC 5649 wrap of the fixed test key.
            auto wrapped =
                hsm->wrap_dek(v1, keyward::as_bytes("keyward KEK check value, v1 key!"), {});
            REQUIRE(wrapped.ok());
            CHECK(Bytes(wrapped->begin(), wrapped->begin() + 8) == *a);
        }
    }
}

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
    CHECK(to_bytes(*unwrapped) == dek);
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
        CHECK(to_bytes(*unwrapped) == dek);
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
    {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE aes = CKK_AES;
        CK_BBOOL yes = CK_TRUE;
        std::string label = "keyward:l:v1";
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                            {CKA_KEY_TYPE, &aes, sizeof aes},
                            {CKA_TOKEN, &yes, sizeof yes},
                            {CKA_PRIVATE, &yes, sizeof yes},
                            {CKA_WRAP, &yes, sizeof yes},
                            {CKA_UNWRAP, &yes, sizeof yes},
                            {CKA_LABEL, label.data(), label.size()},
                            {CKA_VALUE, kek_value.data(), kek_value.size()}};
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        REQUIRE(raw.f()->C_CreateObject(raw.h(), t, 8, &h) == CKR_OK);
    }
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
    CHECK(to_bytes(*opened) == key20);

    auto moved = hsm->rewrap_dek(v1, blob20, {}, v2, {}, 0);
    if (hsm->suite1_wraps_any_length()) {
        REQUIRE(moved.ok());
        auto back = hsm->unwrap_dek(v2, *moved, {});
        REQUIRE(back.ok());
        CHECK(to_bytes(*back) == key20);
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
    CHECK(to_bytes(*back24) == key24);
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
    CHECK(to_bytes(*unwrapped) == dek);

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
        CHECK(to_bytes(*good) == dek);
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
        CHECK(to_bytes(*back) == dek);
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
        CHECK(to_bytes(*dek2) == dek);
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

TEST_CASE("KEKs are found by label, cached, and looked up again when replaced") {
    SoftHsmToken token("kw-cache");
    auto hsm = token.connect();
    KekRef kek{"keyward:c:v1", Suite::kwp};
    auto missing = hsm->wrap_dek(kek, random_bytes(32), {});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == Errc::not_found);
    CHECK(hsm->find_keks(kek.label)->empty());

    REQUIRE(hsm->generate_kek(kek.label, Suite::kwp, Bytes{1}).ok());
    CHECK(hsm->cached_kek_count() == 1);
    Bytes dek = random_bytes(32);
    auto w = hsm->wrap_dek(kek, dek, {});
    REQUIRE(w.ok());
    for (int i = 0; i < 50; ++i) REQUIRE(hsm->unwrap_dek(kek, *w, {}).ok());
    CHECK(hsm->cached_kek_count() == 1);

    SECTION("a second object with the same label is refused and removed") {
        auto dup = hsm->generate_kek(kek.label, Suite::kwp, Bytes{2});
        REQUIRE_FALSE(dup.ok());
        CHECK(dup.error().code() == Errc::already_exists);
        auto found = hsm->find_keks(kek.label);
        REQUIRE(found.ok());
        REQUIRE(found->size() == 1);
        CHECK(found->front().id == Bytes{1});
        CHECK(hsm->unwrap_dek(kek, *w, {}).ok());
    }
    SECTION("after destroy and re-generation the stale handle is replaced") {
        REQUIRE(hsm->destroy_kek(kek.label).ok());
        auto gone = hsm->unwrap_dek(kek, *w, {});
        REQUIRE_FALSE(gone.ok());
        CHECK(gone.error().code() == Errc::not_found);
        auto again = hsm->destroy_kek(kek.label);
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().code() == Errc::not_found);

        REQUIRE(hsm->generate_kek(kek.label, Suite::kwp, Bytes{3}).ok());
        auto old_blob = hsm->unwrap_dek(kek, *w, {});  // new key: the old blob cannot verify
        REQUIRE_FALSE(old_blob.ok());
        CHECK(old_blob.error().code() == Errc::auth_failed);
    }
    SECTION("a KEK replaced behind the adapter's back is looked up again") {
        RawToken raw(token);
        REQUIRE(raw.f()->C_DestroyObject(raw.h(), raw.find_one(kek.label)) == CKR_OK);
        auto other = keyward::p11::P11Hsm::connect(token.options());
        REQUIRE(other.ok());
        REQUIRE((*other)->generate_kek(kek.label, Suite::kwp, Bytes{4}).ok());
        auto w2 = (*other)->wrap_dek(kek, dek, {});
        REQUIRE(w2.ok());
        auto r = hsm->unwrap_dek(kek, *w2, {});  // cached handle is stale: retried by label
        REQUIRE(r.ok());
        CHECK(to_bytes(*r) == dek);
    }
}

TEST_CASE("working sessions are replaced after the configured number of key objects") {
    SoftHsmToken token("kw-recycle");
    auto options = token.options();
    options.max_sessions = 1;
    options.recycle_after_objects = 25;
    auto hsm = keyward::p11::P11Hsm::connect(std::move(options));
    REQUIRE(hsm.ok());
    auto& h = **hsm;
    REQUIRE(h.generate_kek("keyward:s:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:s:v1", Suite::kwp};
    Bytes dek = random_bytes(32);
    for (int i = 0; i < 100; ++i) {
        auto w = h.wrap_dek(kek, dek, {});
        REQUIRE(w.ok());
        auto u = h.unwrap_dek(kek, *w, {});
        REQUIRE(u.ok());
        REQUIRE(to_bytes(*u) == dek);
    }
    auto stats = h.pool_stats();
    // probe (8) + generate (1) + 200 objects, 25 per session.
    CHECK(stats.recycled == 8);
    CHECK(stats.opened == 9);
    CHECK(stats.open == 1);
    CHECK(stats.discarded == 0);
}

TEST_CASE("several threads wrap and unwrap at once, every result correct") {
    SoftHsmToken token("kw-threads");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:m:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:m:v2", Suite::gcm, Bytes{2}).ok());
    constexpr int kThreads = 4;
    constexpr int kRounds = 2000;
    std::atomic<int> ok{0};
    std::atomic<int> wrong{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            KekRef kek{t % 2 == 0 ? "keyward:m:v1" : "keyward:m:v2",
                       t % 2 == 0 ? Suite::kwp : Suite::gcm};
            for (int i = 0; i < kRounds; ++i) {
                Bytes dek = random_bytes(32);
                auto w = hsm->wrap_dek(kek, dek, kAad);
                auto u =
                    w ? hsm->unwrap_dek(kek, *w, kAad) : keyward::Result<SecretBytes>(w.error());
                if (u && to_bytes(*u) == dek) {
                    ++ok;
                } else {
                    ++wrong;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "[p11] " << kThreads << " threads x " << kRounds << " wrap+unwrap: " << seconds
              << " s, " << static_cast<int>(2 * kThreads * kRounds / seconds) << " token ops/s\n";
    CHECK(ok == kThreads * kRounds);
    CHECK(wrong == 0);
    CHECK(hsm->pool_stats().discarded == 0);
}

TEST_CASE("the token RNG fills buffers with fresh bytes") {
    SoftHsmToken token("kw-rng");
    auto hsm = token.connect();
    Bytes a(32), b(32);
    REQUIRE(hsm->generate_random(a).ok());
    REQUIRE(hsm->generate_random(b).ok());
    CHECK(a != b);
    CHECK(a != Bytes(32, 0));
    Bytes none;
    CHECK(hsm->generate_random(none).ok());
}

TEST_CASE("after fork() the child's copy of a connection refuses work and a new one works") {
    SoftHsmToken token("kw-fork");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:f:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:f:v1", Suite::kwp};
    auto w = hsm->wrap_dek(kek, Bytes(32, 7), {});
    REQUIRE(w.ok());

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Exit codes: 10 = inherited connection not refused, 11 = wrong error,
        // 12 = fresh connect failed, 13 = unwrap in child failed, 0 = as expected.
        Bytes out(8);
        auto r = hsm->generate_random(out);
        if (r.ok()) _exit(10);
        if (r.error().code() != Errc::hsm_unavailable) _exit(11);
        auto fresh = keyward::p11::P11Hsm::connect(token.options());
        if (!fresh) _exit(12);
        auto u = (*fresh)->unwrap_dek(kek, *w, {});
        if (!u || to_bytes(*u) != Bytes(32, 7)) _exit(13);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // The parent's connection is untouched by what the child did.
    auto u = hsm->unwrap_dek(kek, *w, {});
    REQUIRE(u.ok());
    CHECK(to_bytes(*u) == Bytes(32, 7));
}

TEST_CASE("a KEK used with the other suite's operations is token_mismatch, not a broken HSM") {
    SoftHsmToken token("kw-mismatch");
    // Without the attribute check, the token itself refuses; with it (always, in keyward), the
    // KEK is refused before the token is asked, naming the attribute.
    const bool checked = GENERATE(true, false);
    auto hsm = checked ? token.connect() : token.connect_with_known_keks();
    REQUIRE(hsm->generate_kek("keyward:x:v1", Suite::gcm, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:x:v2", Suite::kwp, Bytes{2}).ok());
    auto as_kwp = hsm->wrap_dek(KekRef{"keyward:x:v1", Suite::kwp}, random_bytes(32), {});
    REQUIRE_FALSE(as_kwp.ok());
    CHECK(as_kwp.error().code() == Errc::token_mismatch);
    CHECK(as_kwp.error().message() ==
          (checked ? "KEK \"keyward:x:v1\" in token \"" + token.label() +
                         "\" is not a KEK keyward generated for suite 1: CKA_WRAP is FALSE, the "
                         "spec requires TRUE; keyward refuses to use it (inspect the token: see "
                         "keyward health)"
                   : std::string("using KEK \"keyward:x:v1\" for suite 1: C_WrapKey: "
                                 "CKR_KEY_FUNCTION_NOT_PERMITTED")));
    auto as_gcm = hsm->wrap_dek(KekRef{"keyward:x:v2", Suite::gcm}, random_bytes(32), kAad);
    REQUIRE_FALSE(as_gcm.ok());
    CHECK(as_gcm.error().code() == Errc::token_mismatch);
    CHECK(hsm->pool_stats().discarded == 0);
}

TEST_CASE("attribute read-back falls back to one attribute at a time when the token refuses one") {
    SoftHsmToken token("kw-readback");
    auto hsm = token.connect();
    RawToken raw(token);
    REQUIRE(hsm->generate_kek("keyward:a:v1", Suite::kwp, Bytes{9}).ok());
    CK_OBJECT_HANDLE kek = raw.find_one("keyward:a:v1");
    const CK_ATTRIBUTE_TYPE bools[] = {CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE};
    // CKA_MODULUS_BITS does not exist on a secret key: the batch fails with
    // CKR_ATTRIBUTE_TYPE_INVALID, and the others must still be read.
    const CK_ATTRIBUTE_TYPE ulongs[] = {CKA_MODULUS_BITS, CKA_VALUE_LEN, CKA_KEY_TYPE};
    auto fixed = keyward::p11::read_fixed(raw.session(), kek, bools, ulongs);
    REQUIRE(fixed.ok());
    CHECK(fixed->bools == std::vector<std::optional<bool>>{true, true, false});
    REQUIRE(fixed->ulongs.size() == 3);
    CHECK_FALSE(fixed->ulongs[0].has_value());
    CHECK(fixed->ulongs[1] == 32ul);
    CHECK(fixed->ulongs[2] == CKK_AES);
    auto value = keyward::p11::read_bytes(raw.session(), kek, CKA_VALUE);
    REQUIRE(value.ok());
    CHECK_FALSE(value->revealed);  // sensitive: unrevealed, not an error
    CHECK(value->value.empty());
}
