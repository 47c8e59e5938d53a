// SPDX-License-Identifier: Apache-2.0
// The audit log's logic over the fake token and a real SQLite file: a chain rewritten with
// recomputed hashes (what a database writer who knows the format can do) fails at the token's
// MAC; grouped entries are committed within the window and checkpointed every 1,000; call
// scopes name the caller; the archive reader refuses what keyward does not write.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/audit_key.hpp"
#include "core/audit_log.hpp"
#include "core/flat_json.hpp"
#include "services_fixture.hpp"
#include "support/secret_text.hpp"
#include "support/sqlite_file.hpp"

using namespace keyward;
using namespace keyward::test;

namespace {

std::size_t checkpoints(FakeHsm& hsm) {
    std::size_t n = 0;
    for (const auto& o : hsm.data_objects()) n += o.application == core::kCheckpointApplication;
    return n;
}

}  // namespace

TEST_CASE("a chain rewritten with recomputed hashes fails at the first MAC after the edit") {
    ServicesFixture f;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(f.kw->put_record("ns/r" + std::to_string(i), "api_key", text("v")).ok());
    }
    REQUIRE(f.kw->verify_audit()->ok);
    {
        // Edit entry 3 and recompute every hash from there, as someone who read the source
        // would: the links all hold, but the MACs were made over the old hashes.
        SqliteFile db(f.db_path);
        std::vector<core::AuditRow> rows;
        db.each(
            "SELECT seq, at, principal, actor, operation, target, outcome, error, detail, "
            "client_address, user_agent, request_id, reason, prev_hash FROM audit_log "
            "ORDER BY seq",
            [&](sqlite3_stmt* st) {
                core::AuditRow r;
                r.entry.seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
                std::string* fields[] = {
                    &r.entry.at,         &r.entry.principal,  &r.entry.actor,
                    &r.entry.operation,  &r.entry.target,     &r.entry.outcome,
                    &r.entry.error,      &r.entry.detail,     &r.entry.client_address,
                    &r.entry.user_agent, &r.entry.request_id, &r.entry.reason};
                for (int i = 0; i < 12; ++i) *fields[i] = SqliteFile::column_text(st, i + 1);
                const std::string prev = SqliteFile::column_blob(st, 13);
                r.prev_hash.assign(prev.begin(), prev.end());
                rows.push_back(std::move(r));
            });
        REQUIRE(rows.size() >= 6);
        rows[2].entry.principal = "eve";
        Bytes prev = rows[2].prev_hash;
        for (std::size_t i = 2; i < rows.size(); ++i) {
            rows[i].prev_hash = prev;
            rows[i].hash = core::chain_hash(rows[i].entry.seq, rows[i].entry, prev);
            prev = rows[i].hash;
            db.exec("UPDATE audit_log SET principal = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
                    {rows[i].entry.principal, rows[i].prev_hash, rows[i].hash,
                     static_cast<std::int64_t>(rows[i].entry.seq)});
        }
    }
    auto r = f.kw->verify_audit();
    REQUIRE(r.ok());
    CHECK_FALSE(r->ok);
    CHECK(r->bad_seq == 3);
    CHECK(r->problem ==
          "the token's MAC of entry 3 does not verify: entries 3..3 were rewritten behind "
          "keyward's back");
}

TEST_CASE("grouped entries are committed within the window and checkpointed every 1,000") {
    ServicesFixture f;
    auto ring = f.kw->create_keyring("grp");
    REQUIRE(ring.ok());
    CHECK(checkpoints(*f.hsm) == 1);
    SqliteFile db(f.db_path);
    const auto count = [&] { return db.integer("SELECT count(*) FROM audit_log"); };
    const auto start_entries = count();
    REQUIRE(f.kw->seal("grp", text("x")).ok());
    // Not yet durable when seal returns; committed by the group commit soon after.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (count() == start_entries && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(count() == start_entries + 1);
    for (int i = 0; i < 2100; ++i) REQUIRE(f.kw->seal("grp", text("x")).ok());
    REQUIRE(f.kw->flush_audit().ok());
    CHECK(count() == start_entries + 2101);
    // Far fewer commits than entries: one MAC per group.
    CHECK(db.integer("SELECT count(*) FROM audit_log WHERE mac IS NOT NULL") < 1000);
    // Older checkpoints are pruned once a newer one reads back: one remains, past the seals.
    CHECK(checkpoints(*f.hsm) == 1);
    auto latest = f.hsm->data_objects().back();
    auto cp = core::decode_checkpoint(latest.value);
    REQUIRE(cp);
    // The chain's first, the keyring's (administrative), then one past 1,000 grouped entries.
    CHECK(cp->generation >= 3);
    CHECK(cp->seq >= static_cast<std::uint64_t>(start_entries + 1000));
    REQUIRE(f.kw->verify_audit()->ok);
}

TEST_CASE("a call scope names the caller; nested scopes restore the outer one") {
    ServicesFixture f;
    REQUIRE(f.kw->grant({"svc", Role::writer, "ns", "", false, ""}).ok());
    {
        CallContext ctx;
        ctx.principal = "svc";
        ctx.client_address = "192.0.2.7:51234";
        ctx.user_agent = "hvac/1.2";
        ctx.request_id = "req-1";
        auto scope = f.kw->act_as(ctx);
        CHECK(f.kw->principal() == "svc");
        REQUIRE(f.kw->put_record("ns/a", "api_key", text("v")).ok());
        {
            auto inner = f.kw->act_as({"nobody", "", "", "", ""});
            auto denied = f.kw->put_record("ns/b", "api_key", text("v"));
            REQUIRE_FALSE(denied.ok());
            CHECK(denied.error().code() == Errc::access_denied);
        }
        CHECK(f.kw->principal() == "svc");
    }
    CHECK(f.kw->principal() == "owner");
    AuditQuery q;
    q.operation = "record.put";
    auto entries = f.kw->audit_entries(q);
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    CHECK((*entries)[0].principal == "svc");
    CHECK((*entries)[0].client_address == "192.0.2.7:51234");
    CHECK((*entries)[0].user_agent == "hvac/1.2");
    CHECK((*entries)[0].request_id == "req-1");
    CHECK((*entries)[0].outcome == "ok");
    CHECK((*entries)[1].principal == "nobody");
    CHECK((*entries)[1].outcome == "denied");
}

TEST_CASE("the archive line reader takes only flat objects keyward writes") {
    CHECK(core::parse_flat_json(R"({"a":"b","n":12,"z":null,"o":{"x":"y"}})"));
    for (const char* bad :
         {"", "{", "[]", R"({"a":"b",})", R"({"a":"b"} x)", R"({"a":"b","a":"c"})", R"({"a":1.5})",
          R"({"a":"\ud800"})", R"({"o":{"p":{"q":1}}})", "{\"a\":\"\x01\"}"}) {
        INFO(bad);
        CHECK_FALSE(core::parse_flat_json(bad));
    }
}
