// SPDX-License-Identifier: Apache-2.0
// The token's word over the database's, on the fake HSM: the state ledger's matching and
// gravity, and a handle opened in diagnose mode that refuses only the versions that fail.
#include <catch2/catch.hpp>

#include "core/assemble.hpp"
#include "core/kek_ledger.hpp"
#include "services_fixture.hpp"

using namespace keyward;
using keyward::test::FakeHsm;
using keyward::test::ServicesFixture;

namespace {

core::KekVersionRow row(const std::string& label, Bytes id, KekState state) {
    core::KekVersionRow r;
    r.label = label;
    r.object_id = std::move(id);
    r.state = state;
    return r;
}

}  // namespace

TEST_CASE("a KEK's effective state is the graver of the database's and the token's") {
    FakeHsm hsm;
    hsm.ledger().events = {{"keyward:a:v1", Bytes{1}, KekState::compromised, "t1"},
                           {"keyward:a:v2", Bytes{2}, KekState::compromised, "t2"},
                           {"keyward:a:v2", Bytes{2}, KekState::destroyed, "t3"}};
    core::KekLedger ledger(hsm);
    REQUIRE(ledger.load().ok());
    CHECK(ledger.effective_state(row("keyward:a:v1", {1}, KekState::active)) ==
          KekState::compromised);
    CHECK(ledger.effective_state(row("keyward:a:v1", {1}, KekState::destroyed)) ==
          KekState::destroyed);
    CHECK(ledger.effective_state(row("keyward:a:v2", {2}, KekState::decrypt_only)) ==
          KekState::destroyed);
    CHECK(ledger.effective_state(row("keyward:a:v3", {3}, KekState::active)) == KekState::active);
    // An event concerns one object: the same label on another KEK (a keyring made again) is
    // not touched by its predecessor's fate.
    CHECK(ledger.effective_state(row("keyward:a:v1", {9}, KekState::active)) == KekState::active);
    CHECK(*ledger.recorded(row("keyward:a:v2", {2}, KekState::active), KekState::destroyed) ==
          "t3");

    core::KeyringRow ring{"a",
                          Suite::kwp,
                          "",
                          365,
                          {row("keyward:a:v1", {1}, KekState::decrypt_only),
                           row("keyward:a:v2", {2}, KekState::destroyed),
                           row("keyward:a:v3", {3}, KekState::active)}};
    ring.versions[0].version = 1;
    ring.versions[1].version = 2;
    ring.versions[2].version = 3;
    auto d = ledger.disagreements({ring});
    REQUIRE(d.size() == 1);  // v2 agrees (destroyed both), v3 has no event
    CHECK(d[0].version == 1);
    CHECK(d[0].database == KekState::decrypt_only);
    CHECK(d[0].token == KekState::compromised);
    CHECK(d[0].since == "t1");
}

TEST_CASE("recording a state the token already holds adds no second event") {
    FakeHsm hsm;
    core::KekLedger ledger(hsm);
    REQUIRE(ledger.load().ok());
    const auto r = row("keyward:b:v1", {7}, KekState::active);
    REQUIRE(ledger.record(r, KekState::compromised).ok());
    REQUIRE(ledger.record(r, KekState::compromised).ok());
    CHECK(hsm.ledger().events.size() == 1);
    REQUIRE(ledger.record(r, KekState::destroyed).ok());
    CHECK(hsm.ledger().events.size() == 2);
}

TEST_CASE("a keyring made again after its predecessor was compromised starts clean") {
    ServicesFixture f;
    f.hsm->ledger().events = {{"keyward:w:v1", Bytes{0xde, 0xad}, KekState::compromised, "t"}};
    auto kw = f.reopen(std::make_unique<FakeHsm>(*f.hsm));
    REQUIRE(kw->create_keyring("w").ok());
    auto sealed = kw->seal("w", as_bytes(std::string_view("value")));
    REQUIRE(sealed.ok());
    auto findings = kw->kek_findings();
    REQUIRE(findings.ok());
    CHECK(findings->empty());
}

TEST_CASE("a diagnose open refuses only the versions that fail, and names each") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("good").ok());
    REQUIRE(f.kw->create_keyring("bad").ok());
    // The token's KEK of "bad" v1 is swapped for a key imported with a value someone knows,
    // with the same label and CKA_ID: everything the database checks by itself still agrees.
    auto fake = std::make_unique<FakeHsm>(*f.hsm);
    auto found = fake->find_keks("keyward:bad:v1");
    REQUIRE(found.ok());
    REQUIRE(found->size() == 1);
    auto imported = found->front();
    imported.local = false;
    REQUIRE(fake->destroy_kek("keyward:bad:v1").ok());
    fake->plant(imported, SecretBytes(32, 0x41));
    auto copy = std::make_unique<FakeHsm>(*fake);

    auto store = store::SqliteStore::open(f.db_path, store::Database::Mode::open_existing);
    REQUIRE(store.ok());
    auto strict = core::assemble(std::move(fake), std::move(*store), f.config);
    REQUIRE_FALSE(strict.ok());
    CHECK(strict.error().code() == Errc::token_mismatch);
    CHECK_THAT(strict.error().message(),
               Catch::Contains("keyward:bad:v1") && Catch::Contains("CKA_LOCAL is FALSE"));

    auto store2 = store::SqliteStore::open(f.db_path, store::Database::Mode::open_existing);
    REQUIRE(store2.ok());
    auto diagnosed =
        core::assemble(std::move(copy), std::move(*store2), f.config, OpenOptions{true, false, {}});
    REQUIRE(diagnosed.ok());
    auto& kw = **diagnosed;
    auto findings = kw.kek_findings();
    REQUIRE(findings.ok());
    REQUIRE(findings->size() == 1);
    CHECK(findings->front().keyring == "bad");
    CHECK(findings->front().version == 1);
    CHECK(findings->front().refused);
    CHECK(findings->front().code == "token_mismatch");
    CHECK(kw.seal("good", as_bytes(std::string_view("v"))).ok());
    auto refused = kw.seal("bad", as_bytes(std::string_view("v")));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::token_mismatch);
    auto health = kw.health();
    REQUIRE(health.ok());
    CHECK_FALSE(health->healthy());
    CHECK(health->kek_findings.size() == 1);
}
