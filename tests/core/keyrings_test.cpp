// SPDX-License-Identifier: Apache-2.0
// Keyring service over the fake HSM and a real SQLite file: creation, adoption of crash
// leftovers, refusal of foreign objects, and the database-to-token binding.
#include <catch2/catch.hpp>

#include "core/keyrings.hpp"
#include "services_fixture.hpp"

using namespace keyward;
using keyward::test::FakeHsm;
using keyward::test::ServicesFixture;

TEST_CASE("creating a keyring records KEK version 1 as active with its label and check value") {
    ServicesFixture f;
    auto ring = f.kw->create_keyring("wallets");
    REQUIRE(ring.ok());
    CHECK(ring->name == "wallets");
    CHECK(ring->suite == Suite::kwp);
    REQUIRE(ring->versions.size() == 1);
    CHECK(ring->versions[0].version == 1);
    CHECK(ring->versions[0].state == KekState::active);
    CHECK(ring->versions[0].label == "keyward:wallets:v1");
    CHECK(ring->versions[0].object_id_hex.size() == 32);
    CHECK(f.hsm->generate_calls() == 1);

    auto shown = f.kw->keyring("wallets");
    REQUIRE(shown.ok());
    CHECK(shown->versions[0].object_id_hex == ring->versions[0].object_id_hex);
}

TEST_CASE("a second keyring with the same name is refused") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("dup").ok());
    auto again = f.kw->create_keyring("dup");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code() == Errc::already_exists);
    CHECK(f.hsm->generate_calls() == 1);
}

TEST_CASE("keyring names outside the grammar are usage errors") {
    ServicesFixture f;
    for (const char* bad :
         {"", "Upper", "-lead", ".lead", "sp ace", "slash/x", "\xc3\xa9t\xc3\xa9", "a:b"}) {
        auto r = f.kw->create_keyring(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::usage);
    }
    CHECK_FALSE(f.kw->create_keyring(std::string(65, 'a')).ok());
    CHECK(f.kw->create_keyring(std::string(64, 'a')).ok());
    CHECK(f.kw->create_keyring("a0._-z").ok());
    CHECK(f.hsm->generate_calls() == 2);
}

TEST_CASE("a crash leftover KEK with exactly the spec's attributes is adopted, not duplicated") {
    ServicesFixture f;
    Bytes id = {1, 2, 3, 4};
    f.hsm->plant(FakeHsm::spec_attributes("keyward:orphan:v1", Suite::kwp, id), SecretBytes(32, 7));
    auto ring = f.kw->create_keyring("orphan");
    REQUIRE(ring.ok());
    CHECK(f.hsm->generate_calls() == 0);
    CHECK(ring->versions[0].object_id_hex == "01020304");
    CHECK(f.hsm->find_keks("keyward:orphan:v1")->size() == 1);
}

TEST_CASE("a crash leftover without its key value is destroyed and the KEK made again") {
    ServicesFixture f;
    // A kill inside SoftHSM's C_GenerateKey: the template's attributes were written, the key
    // value and CKA_LOCAL (set with it) not.
    auto half = FakeHsm::spec_attributes("keyward:half:v1", Suite::kwp, Bytes{5});
    half.local = false;
    f.hsm->plant(half, SecretBytes());
    auto ring = f.kw->create_keyring("half");
    REQUIRE(ring.ok());
    CHECK(f.hsm->generate_calls() == 1);
    CHECK(ring->versions[0].object_id_hex != "05");
    REQUIRE(f.hsm->find_keks("keyward:half:v1")->size() == 1);
    auto sealed = f.kw->seal("half", as_bytes(std::string_view("after")), {});
    REQUIRE(sealed.ok());
    CHECK(f.kw->open(*sealed, {}).ok());
}

TEST_CASE("a finished KEK that fails its check value is reported, never destroyed") {
    ServicesFixture f;
    // CKA_LOCAL TRUE: the token finished generating it; whatever makes the check fail, the key
    // may protect data somewhere, so it is left alone.
    f.hsm->plant(FakeHsm::spec_attributes("keyward:whole:v1", Suite::kwp, Bytes{6}), SecretBytes());
    auto ring = f.kw->create_keyring("whole");
    REQUIRE_FALSE(ring.ok());
    CHECK(ring.error().code() == Errc::hsm_error);
    CHECK(f.hsm->generate_calls() == 0);
    CHECK(f.hsm->find_keks("keyward:whole:v1")->size() == 1);
}

TEST_CASE(
    "an object with the label but not keyward's attributes is refused, naming the attribute") {
    ServicesFixture f;
    auto attrs = FakeHsm::spec_attributes("keyward:foreign:v1", Suite::kwp, Bytes{9});
    attrs.extractable = true;
    f.hsm->plant(attrs, SecretBytes(32, 1));
    auto ring = f.kw->create_keyring("foreign");
    REQUIRE_FALSE(ring.ok());
    CHECK(ring.error().code() == Errc::already_exists);
    CHECK_THAT(ring.error().message(), Catch::Contains("CKA_EXTRACTABLE is TRUE"));
    CHECK(f.hsm->generate_calls() == 0);
    CHECK(f.kw->keyring("foreign").error().code() == Errc::not_found);
}

TEST_CASE("a suite 1 object offered for a suite 2 keyring is refused") {
    ServicesFixture f;
    f.hsm->plant(FakeHsm::spec_attributes("keyward:mixed:v1", Suite::kwp, Bytes{1}),
                 SecretBytes(32, 1));
    auto ring = f.kw->create_keyring("mixed", Suite::gcm);
    REQUIRE_FALSE(ring.ok());
    CHECK_THAT(ring.error().message(), Catch::Contains("CKA_WRAP is TRUE"));
}

TEST_CASE("two objects with one label are refused") {
    ServicesFixture f;
    f.hsm->plant(FakeHsm::spec_attributes("keyward:twice:v1", Suite::kwp, Bytes{1}),
                 SecretBytes(32, 1));
    f.hsm->plant(FakeHsm::spec_attributes("keyward:twice:v1", Suite::kwp, Bytes{2}),
                 SecretBytes(32, 2));
    auto ring = f.kw->create_keyring("twice");
    REQUIRE_FALSE(ring.ok());
    CHECK_THAT(ring.error().message(), Catch::Contains("holds 2 objects labelled"));
}

TEST_CASE("the database refuses a token with another serial") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("bound").ok());
    f.kw.reset();
    auto other = std::make_unique<FakeHsm>();
    other->set_identity({"fake-token", "another-serial", "m", "x", "1.0"});
    REQUIRE_THROWS_WITH(f.reopen(std::move(other)), Catch::Contains("another-serial"));
}

TEST_CASE("a missing, replaced or re-keyed KEK stops start-up with token_mismatch") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto* hsm = f.hsm;
    auto attrs = hsm->find_keks("keyward:r:v1")->at(0);

    SECTION("missing") {
        auto empty = std::make_unique<FakeHsm>();
        f.kw.reset();
        REQUIRE_THROWS_WITH(f.reopen(std::move(empty)),
                            Catch::Contains("is missing from the token"));
    }
    SECTION("same label, other CKA_ID") {
        auto other = std::make_unique<FakeHsm>();
        other->plant(FakeHsm::spec_attributes("keyward:r:v1", Suite::kwp, Bytes{0xee}),
                     SecretBytes(32, 3));
        f.kw.reset();
        REQUIRE_THROWS_WITH(f.reopen(std::move(other)), Catch::Contains("its CKA_ID is ee"));
    }
    SECTION("same CKA_ID, other key material") {
        auto other = std::make_unique<FakeHsm>();
        other->plant(attrs, SecretBytes(32, 4));
        f.kw.reset();
        REQUIRE_THROWS_WITH(f.reopen(std::move(other)), Catch::Contains("check value differs"));
    }
}

TEST_CASE("keyrings are listed in name order with their versions") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("zeta").ok());
    REQUIRE(f.kw->create_keyring("alpha", Suite::gcm).ok());
    auto rings = f.kw->keyrings();
    REQUIRE(rings.ok());
    REQUIRE(rings->size() == 2);
    CHECK((*rings)[0].name == "alpha");
    CHECK((*rings)[0].suite == Suite::gcm);
    CHECK((*rings)[1].name == "zeta");
    CHECK(f.kw->keyring("nope").error().code() == Errc::not_found);
}
