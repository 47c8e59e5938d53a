// SPDX-License-Identifier: Apache-2.0
// Rotation over the fake HSM and a real SQLite file: what moves and what stays byte for byte,
// kept copies and rollback, interruption and resume, the lease, crash leftovers, compromise,
// re-encryption and retirement. The SoftHSM and SIGKILL tests are in tests/cli.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "crypto/envelope_codec.hpp"
#include "services_fixture.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::ServicesFixture;
using keyward::test::str;
using keyward::test::text;

namespace {

// n wallets "ring/u<i>" with value "seed-<i>".
void fill(Keyward& kw, int n) {
    std::vector<ImportItem> items;
    for (int i = 0; i < n; ++i) {
        ImportItem item;
        item.name = "u" + std::to_string(i);
        item.options.kind = "wallet";
        const std::string v = "seed-" + std::to_string(i);
        item.value.assign(v.begin(), v.end());
        items.push_back(std::move(item));
    }
    auto out = kw.import_records("ring", items);
    REQUIRE(out.ok());
    for (const auto& o : *out) REQUIRE(o.version == 1);
}

std::uint64_t under(Keyward& kw, std::uint32_t version) {
    auto ring = kw.keyring("ring");
    REQUIRE(ring.ok());
    for (const auto& v : ring->versions) {
        if (v.version == version) return v.records;
    }
    return 0;
}

std::string state_of(Keyward& kw, std::uint32_t version) {
    auto ring = kw.keyring("ring");
    REQUIRE(ring.ok());
    for (const auto& v : ring->versions) {
        if (v.version == version) return std::string(kek_state_name(v.state));
    }
    return "none";
}

void all_open(Keyward& kw, int n) {
    for (int i = 0; i < n; ++i) {
        auto v = kw.get_record("ring/u" + std::to_string(i));
        REQUIRE(v.ok());
        REQUIRE(str(*v) == "seed-" + std::to_string(i));
    }
}

RotateOptions small_batches() {
    RotateOptions o;
    o.batch = 7;
    o.threads = 2;
    return o;
}

}  // namespace

TEST_CASE("rotation moves every record; only the KEK version and wrapped DEK change") {
    ServicesFixture f;
    fill(*f.kw, 50);
    const auto before = f.kw->record_version("ring/u3")->envelope;
    auto report = f.kw->rotate_keyring("ring", small_batches());
    REQUIRE(report.ok());
    CHECK(report->state == RotationState::finished);
    CHECK(report->from_version == 1);
    CHECK(report->to_version == 2);
    CHECK(report->total == 50);
    CHECK(report->done == 50);
    CHECK(report->skipped == 0);
    CHECK(report->failed == 0);
    CHECK(report->hsm_rewraps == 50);
    CHECK(under(*f.kw, 1) == 0);
    CHECK(under(*f.kw, 2) == 50);
    CHECK(state_of(*f.kw, 1) == "decrypt-only");
    CHECK(state_of(*f.kw, 2) == "active");
    all_open(*f.kw, 50);

    const auto after = f.kw->record_version("ring/u3")->envelope;
    auto a = crypto::parse_envelope(before);
    auto b = crypto::parse_envelope(after);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(b->header.kek_version == 2);
    CHECK(b->header.keyring == a->header.keyring);
    CHECK(b->header.suite == a->header.suite);
    CHECK(b->header.wrapped_dek != a->header.wrapped_dek);
    // Nonce, ciphertext and tag: the last bytes of both envelopes, byte for byte.
    const std::size_t body = a->nonce.size() + a->ciphertext.size() + a->tag.size();
    CHECK(std::equal(before.end() - static_cast<std::ptrdiff_t>(body), before.end(),
                     after.end() - static_cast<std::ptrdiff_t>(body)));
    CHECK(before.size() == after.size());
    // Nothing left to do: a second rotate makes version 3.
    CHECK(f.kw->rotate_keyring("ring", small_batches())->to_version == 3);
}

TEST_CASE("rollback puts kept copies back without the token; newer records need it") {
    ServicesFixture f;
    fill(*f.kw, 40);
    REQUIRE(f.kw->rotate_keyring("ring", small_batches()).ok());
    for (int i = 40; i < 45; ++i) {
        REQUIRE(f.kw->put_record("ring/u" + std::to_string(i), "wallet",
                                 text("seed-" + std::to_string(i)))
                    .ok());
    }
    const int wraps_before = f.hsm->wrap_calls();
    auto back = f.kw->rollback_keyring("ring", small_batches());
    REQUIRE(back.ok());
    CHECK(back->kind == RotationKind::rollback);
    CHECK(back->from_version == 2);
    CHECK(back->to_version == 1);
    CHECK(back->done == 45);
    CHECK(back->hsm_rewraps == 5);
    CHECK(f.hsm->wrap_calls() - wraps_before == 5);
    CHECK(state_of(*f.kw, 1) == "active");
    CHECK(state_of(*f.kw, 2) == "decrypt-only");
    CHECK(under(*f.kw, 1) == 45);
    all_open(*f.kw, 45);
    auto history = f.kw->keyring_history("ring");
    REQUIRE(history->size() == 2);
    CHECK((*history)[0].state == RotationState::rolled_back);
    CHECK((*history)[1].state == RotationState::finished);
    // Nothing left to undo.
    CHECK(f.kw->rollback_keyring("ring", small_batches()).error().code() == Errc::not_found);
}

TEST_CASE("an interrupted rotation resumes without a new version; rollback works on it too") {
    ServicesFixture f;
    fill(*f.kw, 60);
    std::atomic<bool> stop{false};
    RotateOptions o = small_batches();
    o.stop = &stop;
    int batches = 0;
    o.progress = [&](const RotationReport&) {
        if (++batches == 3) stop = true;
    };
    auto first = f.kw->rotate_keyring("ring", o);
    REQUIRE(first.ok());
    CHECK(first->interrupted);
    CHECK(first->state == RotationState::running);
    // The third batch's commit is reported while the fourth is being re-wrapped (commits
    // overlap the next batch's token work): the fourth still lands, no fifth starts.
    CHECK(first->done == 28);
    CHECK(batches == 4);
    CHECK(under(*f.kw, 1) == 32);
    CHECK(under(*f.kw, 2) == 28);
    all_open(*f.kw, 60);

    SECTION("resume") {
        auto second = f.kw->rotate_keyring("ring", small_batches());
        REQUIRE(second.ok());
        CHECK(second->resumed);
        CHECK(second->id == first->id);
        CHECK(second->runs == 2);
        CHECK(second->done == 60);
        auto ring = f.kw->keyring("ring");
        REQUIRE(ring.ok());
        CHECK(ring->versions.size() == 2);
        CHECK(under(*f.kw, 2) == 60);
    }
    SECTION("rollback") {
        auto back = f.kw->rollback_keyring("ring", small_batches());
        REQUIRE(back.ok());
        CHECK(back->done == 28);
        CHECK(back->hsm_rewraps == 0);
        CHECK(under(*f.kw, 1) == 60);
        CHECK(state_of(*f.kw, 1) == "active");
        all_open(*f.kw, 60);
    }
}

TEST_CASE("a live lease holder is named and refused; a dead one is taken over") {
    ServicesFixture f;
    fill(*f.kw, 5);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    // pid 1 is alive on every Linux system; a live holder with a fresh heartbeat.
    f.sql(("INSERT INTO rotation_leases VALUES ('ring', '" + std::string(host) +
           "', 1, '2026-01-01T00:00:00Z', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")
              .c_str());
    auto refused = f.kw->rotate_keyring("ring", small_batches());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::conflict);
    CHECK_THAT(refused.error().message(), Catch::Contains("pid 1 on host"));
    CHECK(f.kw->rollback_keyring("ring", small_batches()).error().code() == Errc::conflict);
    // A holder whose process is gone (pid far beyond pid_max) is presumed dead.
    f.sql("UPDATE rotation_leases SET pid = 999999999");
    REQUIRE(f.kw->rotate_keyring("ring", small_batches()).ok());
    // A holder on another host is dead only once its heartbeat is old.
    f.sql(
        "INSERT INTO rotation_leases VALUES ('ring', 'elsewhere', 7, '2026-01-01T00:00:00Z', "
        "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))");
    CHECK(f.kw->rotate_keyring("ring", small_batches()).error().code() == Errc::conflict);
    f.sql("UPDATE rotation_leases SET heartbeat_at = '2020-01-01T00:00:00Z'");
    CHECK(f.kw->rotate_keyring("ring", small_batches()).ok());
}

TEST_CASE("a KEK a crash left in the token before the database knew it is adopted") {
    ServicesFixture f;
    fill(*f.kw, 3);
    Bytes id(16, 0x42);
    REQUIRE(f.hsm->generate_kek(kek_label("ring", 2), Suite::kwp, id).ok());
    const int generated = f.hsm->generate_calls();
    auto report = f.kw->rotate_keyring("ring", small_batches());
    REQUIRE(report.ok());
    CHECK(report->to_version == 2);
    CHECK(f.hsm->generate_calls() == generated);
    CHECK(f.hsm->find_keks(kek_label("ring", 2))->size() == 1);
    auto ring = f.kw->keyring("ring");
    REQUIRE(ring.ok());
    std::string hex;
    for (int i = 0; i < 16; ++i) hex += "42";
    CHECK(ring->versions[1].object_id_hex == hex);
    all_open(*f.kw, 3);
}

TEST_CASE("compromise drops kept copies and blocks rollback; reencrypt gives new nonces") {
    ServicesFixture f;
    fill(*f.kw, 10);
    REQUIRE(f.kw->rotate_keyring("ring", small_batches()).ok());
    REQUIRE(f.kw->compromise_kek("ring", 1).ok());
    CHECK(state_of(*f.kw, 1) == "compromised");
    CHECK(f.kw->compromise_kek("ring", 1).error().code() == Errc::state_refused);
    CHECK(f.kw->compromise_kek("ring", 9).error().code() == Errc::not_found);
    auto back = f.kw->rollback_keyring("ring", small_batches());
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().code() == Errc::state_refused);

    const auto before = f.kw->record_version("ring/u1")->envelope;
    RotateOptions o = small_batches();
    o.reencrypt = true;
    auto re = f.kw->rotate_keyring("ring", o);
    REQUIRE(re.ok());
    CHECK(re->kind == RotationKind::reencrypt);
    CHECK(re->done == 10);
    CHECK(under(*f.kw, 3) == 10);
    const auto after = f.kw->record_version("ring/u1")->envelope;
    CHECK(crypto::parse_envelope(after)->nonce.size() == 12);
    CHECK(!std::equal(crypto::parse_envelope(before)->nonce.begin(),
                      crypto::parse_envelope(before)->nonce.end(),
                      crypto::parse_envelope(after)->nonce.begin()));
    all_open(*f.kw, 10);
}

TEST_CASE("retire is refused while anything is under the version, then destroys the KEK") {
    ServicesFixture f;
    fill(*f.kw, 20);
    CHECK(f.kw->retire_kek("ring", 1).error().code() == Errc::state_refused);  // active
    std::atomic<bool> stop{false};
    RotateOptions o = small_batches();
    o.stop = &stop;
    o.progress = [&](const RotationReport&) { stop = true; };
    REQUIRE(f.kw->rotate_keyring("ring", o)->interrupted);
    auto busy = f.kw->retire_kek("ring", 1);
    CHECK(busy.error().code() == Errc::state_refused);
    CHECK_THAT(busy.error().message(), Catch::Contains("unfinished rotate"));
    REQUIRE(f.kw->rotate_keyring("ring", small_batches()).ok());
    f.sql("UPDATE record_versions SET kek_version = 1 WHERE name = 'u0'");  // one straggler
    auto referenced = f.kw->retire_kek("ring", 1);
    CHECK(referenced.error().code() == Errc::state_refused);
    CHECK_THAT(referenced.error().message(), Catch::Contains("still protects 1 record versions"));
    f.sql("UPDATE record_versions SET kek_version = 2 WHERE name = 'u0'");
    REQUIRE(f.kw->retire_kek("ring", 1).ok());
    CHECK(state_of(*f.kw, 1) == "destroyed");
    CHECK(f.hsm->find_keks(kek_label("ring", 1))->empty());
    CHECK(f.kw->rollback_keyring("ring", small_batches()).error().code() == Errc::state_refused);
    CHECK(f.kw->retire_kek("ring", 7).error().code() == Errc::not_found);
}

TEST_CASE("a record that cannot be moved is counted failed and named; the others move") {
    ServicesFixture f;
    fill(*f.kw, 12);
    // Flip a byte inside u5's wrapped DEK: its header still parses, the token refuses it.
    f.sql(
        "UPDATE record_versions SET envelope = CAST(substr(envelope, 1, 20) || "
        "iif(substr(envelope, 21, 1) = x'00', x'01', x'00') || substr(envelope, 22) AS BLOB) "
        "WHERE name = 'u5'");
    auto report = f.kw->rotate_keyring("ring", small_batches());
    REQUIRE(report.ok());
    CHECK(report->done == 11);
    CHECK(report->failed == 1);
    REQUIRE(report->failures.size() == 1);
    CHECK_THAT(report->failures[0], Catch::StartsWith("ring/u5#1: "));
    CHECK(under(*f.kw, 1) == 1);
}
