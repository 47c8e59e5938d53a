// SPDX-License-Identifier: Apache-2.0
// Keyring policies over the fake HSM and a real SQLite file: Vault's rules for the version
// window, what it refuses (Errc::policy_refused, exit 5) and what ignores it, trim and delete,
// and the token object's encoding.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/keyring_policies.hpp"
#include "services_fixture.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::ServicesFixture;

namespace {

void rotate_to(Keyward& kw, const std::string& ring, std::uint32_t versions) {
    for (std::uint32_t v = 2; v <= versions; ++v) REQUIRE(kw.rotate_keyring(ring, {}).ok());
}

KeyringPolicyUpdate window(std::uint32_t min_dec, std::uint32_t min_enc) {
    KeyringPolicyUpdate u;
    u.min_decryption_version = min_dec;
    u.min_encryption_version = min_enc;
    return u;
}

}  // namespace

TEST_CASE("a new keyring has the default policy, and config follows Vault's rules") {
    ServicesFixture f;
    auto made = f.kw->create_keyring("ring");
    REQUIRE(made.ok());
    CHECK(made->policy.min_decryption_version == 1);
    CHECK(made->policy.min_encryption_version == 0);
    CHECK_FALSE(made->policy.deletion_allowed);
    CHECK(made->policy.updated_at.empty());
    rotate_to(*f.kw, "ring", 3);
    auto refused = [&](const KeyringPolicyUpdate& u, const char* words) {
        auto r = f.kw->configure_keyring("ring", u);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::bad_input);
        CHECK_THAT(r.error().message(), Catch::Contains(words));
    };
    refused(window(4, 0), "cannot set min decryption version of 4, latest key version is 3");
    refused(window(1, 4), "cannot set min encryption version of 4, latest key version is 3");
    refused(window(3, 2), "must be greater than or equal to min decryption version of 3");
    KeyringPolicyUpdate hourly;
    hourly.auto_rotate_period_seconds = 3599;
    refused(hourly, "at least an hour");
    auto set = f.kw->configure_keyring("ring", window(0, 3));  // 0 is forced up to 1
    REQUIRE(set.ok());
    CHECK(set->policy.min_decryption_version == 1);
    CHECK(set->policy.min_encryption_version == 3);
    CHECK_FALSE(set->policy.updated_at.empty());
    CHECK(f.kw->keyring("ring")->policy.min_encryption_version == 3);
    // The policy is a token object (the database holds no copy a writer could edit).
    std::vector<std::string> held;
    for (const auto& o : f.hsm->data_objects()) {
        if (o.application == core::kPolicyApplication) held.push_back(o.label);
    }
    CHECK(held == std::vector<std::string>{"keyward-policy:ring:1"});
    CHECK(f.kw->configure_keyring("nope", window(1, 0)).error().code() == Errc::not_found);
}

TEST_CASE("below min_decryption_version, open, rewrap and data key decryption are refused") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    auto old_envelope = f.kw->seal("ring", test::text("old"), test::text("ctx"));
    auto old_key = f.kw->generate_data_key("ring");
    REQUIRE(old_envelope.ok());
    REQUIRE(old_key.ok());
    rotate_to(*f.kw, "ring", 2);
    auto new_envelope = f.kw->seal("ring", test::text("new"), test::text("ctx"));
    REQUIRE(f.kw->configure_keyring("ring", window(2, 0)).ok());

    auto opened = f.kw->open(*old_envelope, test::text("ctx"));
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code() == Errc::policy_refused);
    CHECK(opened.error().exit_code() == 5);
    CHECK_THAT(opened.error().message(), Catch::Contains("min_decryption_version (2)"));
    CHECK(f.kw->rewrap(*old_envelope).error().code() == Errc::policy_refused);
    CHECK(f.kw->decrypt_data_key(old_key->blob).error().code() == Errc::policy_refused);
    CHECK(f.kw->unwrap_key_raw("ring", 1, Bytes(40, 1)).error().code() == Errc::policy_refused);
    auto fine = f.kw->open(*new_envelope, test::text("ctx"));
    REQUIRE(fine.ok());
    CHECK(std::string(fine->begin(), fine->end()) == "new");
    // Lowering the window again lets the old envelope open.
    CHECK(f.kw->configure_keyring("ring", window(1, 0)).ok());
    CHECK(f.kw->open(*old_envelope, test::text("ctx")).ok());
}

TEST_CASE("below min_encryption_version nothing is wrapped, even after a rollback") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    rotate_to(*f.kw, "ring", 2);
    REQUIRE(f.kw->configure_keyring("ring", window(1, 2)).ok());
    CHECK(f.kw->wrap_key_raw("ring", 1, Bytes(32, 7)).error().code() == Errc::policy_refused);
    CHECK(f.kw->seal("ring", test::text("x")).ok());
    // Rollback ignores the policy (it must be able to undo a rotation); wrapping then stops.
    REQUIRE(f.kw->rollback_keyring("ring", {}).ok());
    auto sealed = f.kw->seal("ring", test::text("x"));
    REQUIRE_FALSE(sealed.ok());
    CHECK(sealed.error().code() == Errc::policy_refused);
    CHECK_THAT(sealed.error().message(), Catch::Contains("min_encryption_version (2)"));
    CHECK(f.kw->generate_data_key("ring").error().code() == Errc::policy_refused);
}

TEST_CASE("trim destroys versions below the minimum, never one a record still uses") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    REQUIRE(f.kw->map_namespace("ns", "ring").ok());
    REQUIRE(f.kw->put_record("ns/a", "api_key", test::text("value")).ok());
    // An interrupted rotation leaves the record under v1 with v2 active.
    std::atomic<bool> stop{true};
    RotateOptions o;
    o.stop = &stop;
    REQUIRE(f.kw->rotate_keyring("ring", o).ok());
    REQUIRE(f.kw->configure_keyring("ring", window(2, 2)).ok());
    auto refused = f.kw->trim_keyring("ring", 2);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::state_refused);
    CHECK_THAT(refused.error().message(),
               Catch::Contains("1 stored record versions still use versions below 2"));
    CHECK(f.kw->keyring("ring")->versions[0].state == KekState::decrypt_only);
    REQUIRE(f.kw->rotate_keyring("ring", {}).ok());  // finishes the job: the record moves
    auto trimmed = f.kw->trim_keyring("ring", 2);
    REQUIRE(trimmed.ok());
    CHECK(trimmed->policy.min_available_version == 2);
    CHECK(trimmed->versions[0].state == KekState::destroyed);
    CHECK(f.hsm->find_keks(kek_label("ring", 1))->empty());
    CHECK(f.kw->trim_keyring("ring", 1).error().message() ==
          "minimum available version cannot be decremented");
    auto value = f.kw->get_record("ns/a");
    REQUIRE(value.ok());
    CHECK(std::string(value->begin(), value->end()) == "value");
}

TEST_CASE("delete needs deletion_allowed and an unused keyring; the name can be used again") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    auto envelope = f.kw->seal("ring", test::text("x"));
    REQUIRE(envelope.ok());
    auto refused = f.kw->delete_keyring("ring");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::state_refused);
    CHECK_THAT(refused.error().message(), Catch::Contains("deletion is not allowed"));
    KeyringPolicyUpdate allow;
    allow.deletion_allowed = true;
    REQUIRE(f.kw->configure_keyring("ring", allow).ok());
    REQUIRE(f.kw->map_namespace("ns", "ring").ok());
    CHECK_THAT(f.kw->delete_keyring("ring").error().message(),
               Catch::Contains("still used by 1 namespaces"));
    f.sql("DELETE FROM namespaces");
    REQUIRE(f.kw->delete_keyring("ring").ok());
    CHECK(f.kw->keyring("ring").error().code() == Errc::not_found);
    CHECK(f.hsm->find_keks(kek_label("ring", 1))->empty());
    auto again = f.kw->create_keyring("ring");
    REQUIRE(again.ok());
    CHECK_FALSE(again->policy.deletion_allowed);
    CHECK(again->versions.size() == 1);
    // The old envelope names v1 of "ring", whose new KEK is another key.
    CHECK_FALSE(f.kw->open(*envelope).ok());
}

TEST_CASE("under the two-person rule, delete and trim are refused to one admin") {
    ServicesFixture f;
    f.kw.reset();  // a fresh database and token, opened with the rule on
    f.db_path = f.dir / "two-person.db";
    f.config.two_person_rule = true;
    auto fake = std::make_unique<keyward::test::FakeHsm>();
    f.hsm = fake.get();
    f.kw = f.reopen(std::move(fake));
    REQUIRE(f.kw->create_keyring("ring").ok());
    KeyringPolicyUpdate allow;
    allow.deletion_allowed = true;
    REQUIRE(f.kw->configure_keyring("ring", allow).ok());
    auto deleted = f.kw->delete_keyring("ring");
    REQUIRE_FALSE(deleted.ok());
    CHECK(deleted.error().code() == Errc::access_denied);
    CHECK_THAT(deleted.error().message(), Catch::Contains("propose delete-keyring ring"));
    auto trimmed = f.kw->trim_keyring("ring", 1);
    REQUIRE_FALSE(trimmed.ok());
    CHECK(trimmed.error().code() == Errc::access_denied);
    CHECK(f.kw->keyring("ring").ok());
}

TEST_CASE("after a rollback the window's limit is the version that encrypts, not the newest") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    rotate_to(*f.kw, "ring", 2);
    REQUIRE(f.kw->rollback_keyring("ring", {}).ok());  // v1 active again, v2 the newest
    auto refused = f.kw->configure_keyring("ring", window(2, 0));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() ==
          "cannot set min decryption version of 2, latest key version is 1");
    CHECK(f.kw->configure_keyring("ring", window(1, 2)).error().code() == Errc::bad_input);
    CHECK(f.kw->seal("ring", test::text("still wraps under v1")).ok());
}

TEST_CASE("a KEK the ledger condemned is destroyed, never adopted, when the name is reused") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    auto old_object = f.hsm->find_keks(kek_label("ring", 1));
    REQUIRE(old_object.ok());
    REQUIRE(old_object->size() == 1);
    KeyringPolicyUpdate allow;
    allow.deletion_allowed = true;
    REQUIRE(f.kw->configure_keyring("ring", allow).ok());
    REQUIRE(f.kw->delete_keyring("ring").ok());
    // A deletion that died after the ledger and the rows, before destroying the object.
    core::KekAttributes leftover = old_object->front();
    f.hsm->plant(leftover, SecretBytes(32, 0x11));
    REQUIRE(f.hsm->find_keks(kek_label("ring", 1))->size() == 1);
    auto again = f.kw->create_keyring("ring");
    REQUIRE(again.ok());
    CHECK(again->versions[0].object_id_hex != to_hex(leftover.id));
    auto now = f.hsm->find_keks(kek_label("ring", 1));
    REQUIRE(now->size() == 1);
    CHECK(now->front().id != leftover.id);
}

TEST_CASE("a policy whose keyring's rows vanished while its KEK lives blocks re-creation") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    auto sealed = f.kw->seal("ring", test::text("x"));
    REQUIRE(sealed.ok());
    rotate_to(*f.kw, "ring", 2);
    REQUIRE(f.kw->configure_keyring("ring", window(2, 0)).ok());
    // A database writer removes the keyring's rows, bypassing deletion_allowed.
    f.sql(
        "DELETE FROM kept_wraps; DELETE FROM rotation_jobs; DELETE FROM kek_versions; "
        "DELETE FROM keyrings WHERE name = 'ring'");
    auto made = f.kw->create_keyring("ring");
    REQUIRE_FALSE(made.ok());
    CHECK(made.error().code() == Errc::token_mismatch);
    CHECK_THAT(made.error().message(), Catch::Contains("rows were removed outside keyward"));
}

TEST_CASE("a policy change made meanwhile is kept: config reads the token, not its cache") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("ring").ok());
    rotate_to(*f.kw, "ring", 3);
    REQUIRE(f.kw->configure_keyring("ring", window(2, 0)).ok());  // cached here: 2
    // Another process raises the window to 3: its policy object replaces ours in the token.
    auto& objects = f.hsm->data_objects();
    auto mine = std::find_if(objects.begin(), objects.end(), [](const core::DataObject& o) {
        return o.application == core::kPolicyApplication;
    });
    REQUIRE(mine != objects.end());
    KeyringPolicy theirs;
    theirs.min_decryption_version = 3;
    theirs.updated_at = "2026-12-07T00:00:00Z";
    const std::string value = core::encode_keyring_policy("ring", 2, theirs);
    mine->label = "keyward-policy:ring:2";
    mine->value.assign(value.begin(), value.end());
    KeyringPolicyUpdate allow;
    allow.deletion_allowed = true;
    auto after = f.kw->configure_keyring("ring", allow);
    REQUIRE(after.ok());
    CHECK(after->policy.min_decryption_version == 3);
    CHECK(after->policy.deletion_allowed);
}

TEST_CASE("a policy object's value is exactly keyward's encoding") {
    KeyringPolicy p;
    p.min_decryption_version = 3;
    p.min_encryption_version = 4;
    p.deletion_allowed = true;
    p.auto_rotate_period_seconds = 3600;
    p.updated_at = "2026-12-07T06:00:00Z";
    const std::string text = core::encode_keyring_policy("ring", 7, p);
    CHECK(text ==
          "keyward-keyring-policy/1\nkeyring=ring\nseq=7\nmin_decryption_version=3\n"
          "min_encryption_version=4\nmin_available_version=0\ndeletion_allowed=1\n"
          "auto_rotate_period=3600\nat=2026-12-07T06:00:00Z\n");
    auto back = core::decode_keyring_policy(test::text(text));
    REQUIRE(back);
    CHECK(back->seq == 7);
    CHECK(back->policy.min_encryption_version == 4);
    for (std::string bad : {text.substr(0, text.size() - 1), text + "x=1\n",
                            std::string(text).replace(text.find("=3"), 2, "=0"),
                            std::string(text).replace(text.find("=1\nauto"), 2, "=2"),
                            std::string(text).replace(text.find("seq=7"), 5, "seq=07")}) {
        CHECK_FALSE(core::decode_keyring_policy(test::text(bad)));
    }
}
