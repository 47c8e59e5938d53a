// SPDX-License-Identifier: Apache-2.0
// What the adapter trusts in a real SoftHSM token: private objects only, KEK attributes checked
// before use, and the state ledger's objects (private, non-modifiable, read back exactly).
#include <catch2/catch.hpp>

#include "p11/attributes.hpp"
#include "p11/objects.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/rv.hpp"
#include "p11/state_ledger.hpp"
#include "support/p11_test_helpers.hpp"

using namespace keyward;
using namespace keyward::test;
using keyward::core::KekRef;

namespace {

void create(const RawToken& raw, p11::Template& t) {
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    REQUIRE(raw.f()->C_CreateObject(raw.h(), t.data(), t.size(), &h) == CKR_OK);
}

}  // namespace

TEST_CASE("public objects are never found, counted or used as KEKs") {
    SoftHsmToken token("kw-public");
    auto hsm = token.connect();
    RawToken raw(token);
    p11::Template t;
    const Bytes value(32, 0x41);
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_AES)
        .add_bytes(CKA_VALUE, value)
        .add_string(CKA_LABEL, "keyward:p:v1")
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, false)
        .add_bool(CKA_WRAP, true)
        .add_bool(CKA_UNWRAP, true);
    create(raw, t);
    auto found = hsm->find_keks("keyward:p:v1");
    REQUIRE(found.ok());
    CHECK(found->empty());
    CHECK(*hsm->count_public_objects("keyward:p:v1") == 1);
    auto used = hsm->wrap_dek(KekRef{"keyward:p:v1", Suite::kwp}, random_bytes(32), {});
    REQUIRE_FALSE(used.ok());
    CHECK(used.error().code() == Errc::not_found);
    CHECK_THAT(used.error().message(), Catch::Contains("a public object carries that label"));
    // A KEK of keyward's own with the label is made and used beside it.
    REQUIRE(hsm->generate_kek("keyward:p:v1", Suite::kwp, Bytes{1}).ok());
    CHECK(hsm->wrap_dek(KekRef{"keyward:p:v1", Suite::kwp}, random_bytes(32), {}).ok());
    CHECK(hsm->find_keks("keyward:p:v1")->size() == 1);
}

TEST_CASE("ledger events are private, non-modifiable data objects read back exactly") {
    SoftHsmToken token("kw-ledger");
    auto hsm = token.connect();
    core::KekStateEvent e{"keyward:l:v1", Bytes{0x01, 0xab}, KekState::compromised,
                          "2026-12-06T10:00:00Z"};
    REQUIRE(hsm->record_state(e).ok());
    RawToken raw(token);
    p11::Template match;
    match.add_ulong(CKA_CLASS, CKO_DATA).add_string(CKA_APPLICATION, p11::kLedgerApplication);
    auto handles = p11::find_objects(raw.session(), match.span());
    REQUIRE(handles.ok());
    REQUIRE(handles->size() == 1);
    const auto h = handles->front();
    CHECK(raw.get_bool(h, CKA_TOKEN));
    CHECK(raw.get_bool(h, CKA_PRIVATE));
    CHECK_FALSE(raw.get_bool(h, CKA_MODIFIABLE));
    const Bytes label = raw.get_bytes(h, CKA_LABEL);
    CHECK(std::string(label.begin(), label.end()) == "keyward-state:keyward:l:v1:compromised");
    const Bytes value = raw.get_bytes(h, CKA_VALUE);
    CHECK(std::string(value.begin(), value.end()) ==
          "keyward-kek-state/1\nlabel=keyward:l:v1\nid=01ab\nstate=compromised\n"
          "at=2026-12-06T10:00:00Z\n");
    // Read back by a new connection (another process would see the same).
    hsm.reset();
    auto again = token.connect();
    auto ledger = again->read_state_ledger();
    REQUIRE(ledger.ok());
    REQUIRE(ledger->events.size() == 1);
    CHECK(ledger->events[0].label == e.label);
    CHECK(ledger->events[0].object_id == e.object_id);
    CHECK(ledger->events[0].state == KekState::compromised);
    CHECK(ledger->events[0].at == e.at);
    CHECK(ledger->unreadable.empty());
}

TEST_CASE("a ledger object that does not read as an event is listed, not trusted") {
    SoftHsmToken token("kw-ledger-bad");
    auto hsm = token.connect();  // logs the token in for the raw session too
    RawToken raw(token);
    for (const char* value :
         {"", "keyward-kek-state/1\nlabel=keyward:x:v1\nid=01\nstate=active\nat=t\n",
          "keyward-kek-state/1\nlabel=keyward:x:v1\nid=zz\nstate=destroyed\nat=t\n",
          "keyward-kek-state/1\nlabel=keyward:x:v1\nid=01\nstate=destroyed\nat=t\nmore\n"}) {
        p11::Template t;
        t.add_ulong(CKA_CLASS, CKO_DATA)
            .add_bool(CKA_TOKEN, true)
            .add_bool(CKA_PRIVATE, true)
            .add_string(CKA_LABEL, "half written")
            .add_string(CKA_APPLICATION, p11::kLedgerApplication)
            .add_string(CKA_VALUE, value);
        create(raw, t);
    }
    auto ledger = hsm->read_state_ledger();
    REQUIRE(ledger.ok());
    CHECK(ledger->events.empty());
    CHECK(ledger->unreadable.size() == 4);
}
