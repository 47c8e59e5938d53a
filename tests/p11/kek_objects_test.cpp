// SPDX-License-Identifier: Apache-2.0
// KEK objects through P11Hsm against a fresh SoftHSM token: the mechanism probe, the attributes
// of docs/FORMAT.md as the token stores them, what the token refuses to do with a KEK, check
// values, lookup by label and the handle cache, a KEK used with the other suite, and attribute
// read-back when the token refuses one attribute. DEK wrapping is in kek_wrap_test.cpp, sessions,
// threads and fork in kek_connection_test.cpp.
#include "support/catch_errc.hpp"

#include "kek_test_aad.hpp"
#include "keyward/types.hpp"
#include "p11/attributes.hpp"
#include "p11/key_ops.hpp"
#include "p11/rv.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::Suite;
using keyward::core::KekAttributes;
using keyward::core::KekRef;
using keyward::test::kAad;
using keyward::test::plain;
using keyward::test::random_bytes;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;

namespace {

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

TEST_CASE("generated KEKs carry exactly the attributes of docs/FORMAT.md, read back two ways") {
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
        CHECK(plain(*r) == dek);
    }
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
