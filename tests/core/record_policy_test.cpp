// SPDX-License-Identifier: Apache-2.0
// Records against the clock and across their life: expiry, rotation dates and warnings judged
// at a given time, restores that keep a value's age, purge tombstones, bulk puts, and the
// upgrade of a database written by the first release (schema 2).
#include <catch2/catch.hpp>

#include "core/clock.hpp"
#include "core/record_kinds.hpp"
#include "core/record_rules.hpp"
#include "core/records.hpp"
#include "core/wrap_budget.hpp"
#include "fake_hsm.hpp"
#include "store/schema.hpp"
#include "store/sqlite_store.hpp"
#include "support/catch_errc.hpp"
#include "support/secret_text.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::core;
using keyward::test::str;
using keyward::test::text;

namespace {

// The services without the facade, so that "now" can be any time.
struct Services {
    std::filesystem::path dir = test::fresh_dir("records-policy");
    std::unique_ptr<store::SqliteStore> store;
    test::FakeHsm hsm;
    std::unique_ptr<Keyrings> keyrings;
    std::unique_ptr<WrapBudget> budget;
    std::unique_ptr<Envelopes> envelopes;
    std::unique_ptr<Records> records;

    Services() {
        auto opened =
            store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing);
        if (!opened.ok()) throw std::runtime_error(opened.error().message());
        store = std::move(*opened);
        keyrings = std::make_unique<Keyrings>(hsm, *store);
        budget = std::make_unique<WrapBudget>(*store, std::uint64_t{1} << 31, 256);
        envelopes = std::make_unique<Envelopes>(hsm, *keyrings, *budget);
        records = std::make_unique<Records>(*store, hsm, *keyrings, *envelopes);
    }
    std::uint32_t put(const char* address, const char* kind, const char* value,
                      const std::string& expires = {}) {
        PutOptions o;
        o.kind = kind;
        o.expires_at = expires;
        auto v = records->put(*parse_record_address(address), o, text(value), "tester");
        REQUIRE(v.ok());
        return *v;
    }
    RecordRow row(const char* address) { return *records->info(*parse_record_address(address)); }
    void sql(const std::string& statement) {
        REQUIRE(store->database().exec(statement.c_str()).ok());
    }
};

}  // namespace

TEST_CASE("clock: normalised stamps, day arithmetic, and refusal of other forms") {
    CHECK(*unix_from_iso8601("1970-01-02T00:00:00Z") == 86400);
    CHECK(iso8601_from_unix(951782400) == "2000-02-29T00:00:00Z");
    CHECK(add_days("2024-02-28T12:00:00Z", 1) == "2024-02-29T12:00:00Z");
    CHECK(add_days("2024-03-01T00:00:00Z", -1) == "2024-02-29T00:00:00Z");
    CHECK(add_days("2026-01-01T00:00:00Z", 365) == "2027-01-01T00:00:00Z");
    for (const char* bad :
         {"2026-01-01", "2026-01-01T00:00:00+01:00", "2026-02-30T00:00:00Z", ""}) {
        INFO(bad);
        CHECK_FALSE(unix_from_iso8601(bad).has_value());
    }
}

TEST_CASE("kinds carry the default policies of the issue, and only random secrets generate") {
    CHECK(default_rotation_policy("api_key") == RotationPolicy{90, 14, false});
    CHECK(default_rotation_policy("oauth_refresh_token") == RotationPolicy{90, 14, false});
    CHECK(default_rotation_policy("basic_auth_password") == RotationPolicy{90, 14, false});
    CHECK(default_rotation_policy("client_certificate") == RotationPolicy{365, 30, false});
    CHECK(default_rotation_policy("webhook_secret") == RotationPolicy{180, 14, true});
    CHECK(default_rotation_policy("oauth_access_token") == RotationPolicy{});
    CHECK(default_rotation_policy("wallet") == RotationPolicy{});
    for (const char* k :
         {"api_key", "basic_auth_password", "webhook_secret", "jwt_signing_key", "custom_secret"}) {
        CHECK(kind_allows_generation(k));
    }
    for (const char* k : {"wallet", "oauth_access_token", "oauth_refresh_token",
                          "basic_auth_username", "client_certificate", "client_private_key"}) {
        CHECK_FALSE(kind_allows_generation(k));
    }
}

TEST_CASE("expiry and rotation are judged against the given time") {
    Services s;
    s.put("t/key", "api_key", "v1", "2030-06-01");
    s.sql("UPDATE records SET value_since = '2030-01-01T00:00:00Z'");
    auto row = s.row("t/key");
    REQUIRE(rotation_due_at(row) == "2030-04-01T00:00:00Z");  // + 90 days
    CHECK(effective_state(row, "2030-05-31T23:59:59Z") == RecordState::active);
    CHECK(effective_state(row, "2030-06-01T00:00:00Z") == RecordState::expired);
    // Warning from 14 days before the due date, due from the date itself.
    CHECK_FALSE(rotation_warning(row, "2030-03-17T23:59:59Z"));
    CHECK(rotation_warning(row, "2030-03-18T00:00:00Z"));
    CHECK_FALSE(rotation_due(row, "2030-03-31T23:59:59Z"));
    CHECK(rotation_due(row, "2030-04-01T00:00:00Z"));
    CHECK_FALSE(rotation_warning(row, "2030-04-01T00:00:00Z"));

    auto stats = s.records->stats("2030-05-20T00:00:00Z");
    REQUIRE(stats.ok());
    CHECK(stats->records == 1);
    CHECK(stats->expiring_7_days == 0);
    CHECK(stats->expiring_30_days == 1);
    CHECK(stats->due_for_rotation == 1);
    CHECK(stats->without_rotation_policy == 0);
    RecordFilter expiring;
    expiring.expiring_days = 12;
    CHECK(s.records->list(expiring, "2030-05-20T00:00:00Z")->size() == 1);
    expiring.expiring_days = 11;
    CHECK(s.records->list(expiring, "2030-05-20T00:00:00Z")->empty());
    RecordFilter expired;
    expired.state = RecordState::expired;
    CHECK(s.records->list(expired, "2030-06-02T00:00:00Z")->size() == 1);
    CHECK(s.records->list(expired, "2030-05-02T00:00:00Z")->empty());
}

TEST_CASE("auto-rotation replaces exactly the due auto-rotate records") {
    Services s;
    auto a = *parse_record_address("hooks/github");
    auto b = *parse_record_address("hooks/stripe");
    PutOptions o;
    o.kind = "webhook_secret";
    REQUIRE(s.records->put_generated(a, o, 24, "tester").ok());
    REQUIRE(s.records->put_generated(b, o, 32, "tester").ok());
    s.sql("UPDATE records SET value_since = '2020-01-01T00:00:00Z' WHERE name = 'github'");
    auto done = s.records->rotate_due("", utc_now_iso8601(), "cron");
    REQUIRE(done.ok());
    REQUIRE(done->size() == 1);
    CHECK((*done)[0].address == "hooks/github");
    CHECK((*done)[0].version == 2);
    CHECK(s.records->get(a, std::nullopt)->size() == 24);  // the generated length is kept
    CHECK(s.row("hooks/stripe").latest == 1);
    CHECK(s.row("hooks/github").value_since > "2020-01-01T00:00:00Z");
}

TEST_CASE("restore makes a new version that keeps the old value's age and expiry") {
    Services s;
    s.put("t/pw", "basic_auth_password", "old", "2020-01-01");
    s.sql("UPDATE record_versions SET value_since = '2019-06-01T00:00:00Z' WHERE version = 1");
    s.put("t/pw", "basic_auth_password", "new");
    auto a = *parse_record_address("t/pw");
    REQUIRE(*s.records->restore(a, 1, "tester") == 3);
    CHECK(str(*s.records->get(a, std::nullopt)) == "old");
    auto row = s.row("t/pw");
    CHECK(row.value_since == "2019-06-01T00:00:00Z");
    CHECK(row.expires_at == "2020-01-01T00:00:00Z");
    CHECK(effective_state(row, utc_now_iso8601()) == RecordState::expired);
    CHECK(rotation_due(row, utc_now_iso8601()));
    auto v3 = s.records->version(a, 3);
    CHECK(v3->origin == "restore:1");
    CHECK(s.records->restore(a, 9, "tester").error().code() == Errc::not_found);
}

TEST_CASE("a purge leaves a tombstone: the next put continues the version count, fresh") {
    Services s;
    auto a = *parse_record_address("t/key");
    PutOptions o;
    o.kind = "api_key";
    o.description = "first life";
    o.tags = {{"env", "prod"}};
    REQUIRE(s.records->put(a, o, text("one"), "tester").ok());
    REQUIRE(s.records->put(a, o, text("two"), "tester").ok());
    REQUIRE(s.records->remove(a, "tester").ok());
    REQUIRE(s.records->purge(a, "tester").ok());
    CHECK(s.records->versions(a).error().code() == Errc::not_found);
    CHECK(s.row("t/key").state == RecordState::purged);
    CHECK(s.row("t/key").tags.empty());
    CHECK(*s.records->put(a, PutOptions{"custom_secret", {}, {}, {}, {}}, text("three"),
                          "tester") == 3);
    auto row = s.row("t/key");
    CHECK(row.state == RecordState::active);
    CHECK(row.kind == "custom_secret");  // a new life may have a new kind
    CHECK(row.description.empty());
    CHECK(row.policy == RotationPolicy{});
    CHECK(s.records->versions(a)->size() == 1);
    // The old contexts are not reused: version 3 opens only as #3.
    CHECK(str(*s.records->get(a, 3)) == "three");
}

TEST_CASE("bulk put: repeated names take consecutive versions, bad items are refused alone") {
    Services s;
    std::vector<ImportItem> items(4);
    items[0] = {1, "a", {"api_key", {}, {}, {}, {}}, SecretBytes{'1'}};
    items[1] = {2, "Bad", {"api_key", {}, {}, {}, {}}, SecretBytes{'2'}};
    items[2] = {3, "a", {"api_key", {}, {}, {}, {}}, SecretBytes{'3'}};
    items[3] = {4, "b", {"api_key", "never", {}, {}, {}}, SecretBytes{'4'}};
    auto out = s.records->put_batch("bulk", items, "tester");
    REQUIRE(out.ok());
    CHECK((*out)[0].version == 1);
    CHECK((*out)[1].version == 0);
    CHECK((*out)[1].exit_code == 2);
    CHECK((*out)[2].version == 2);
    CHECK((*out)[3].version == 0);
    CHECK_THAT((*out)[3].error, Catch::Contains("ISO 8601"));
    auto a = *parse_record_address("bulk/a");
    CHECK(str(*s.records->get(a, 1)) == "1");
    CHECK(str(*s.records->get(a, 2)) == "3");
    CHECK(s.records->version(a, 2)->origin == "import");
}

TEST_CASE("a database of schema 2 upgrades with its records' metadata filled in") {
    auto dir = test::fresh_dir("records-upgrade");
    {
        auto db = store::Database::open(dir / "k.db", store::Database::Mode::create_if_missing);
        REQUIRE(db.ok());
        REQUIRE(store::migrate_to(*db, 2).ok());
        REQUIRE(
            db->exec("INSERT INTO keyrings VALUES ('w', 1, '2026-01-01T00:00:00Z', 365);"
                     "INSERT INTO kek_versions VALUES ('w', 1, 'active', 'keyward:w:v1', x'01', "
                     "x'02', 0, '2026-01-01T00:00:00Z');"
                     "INSERT INTO namespaces VALUES ('w', 'w', '2026-01-01T00:00:00Z');"
                     "INSERT INTO records(namespace, name, kind, latest, created_at, updated_at) "
                     "VALUES ('w', 'u', 'api_key', 2, '2026-01-01T00:00:00Z', "
                     "'2026-02-01T00:00:00Z');"
                     "INSERT INTO record_versions VALUES ('w', 'u', 1, x'00', 'w', 1, "
                     "'2026-01-01T00:00:00Z', 'alice', NULL);"
                     "INSERT INTO record_versions VALUES ('w', 'u', 2, x'00', 'w', 1, "
                     "'2026-02-01T00:00:00Z', 'bob', '2027-01-01T00:00:00Z');")
                .ok());
    }
    auto store = store::SqliteStore::open(dir / "k.db", store::Database::Mode::open_existing);
    REQUIRE(store.ok());
    auto row = (*store)->find_record("w", "u");
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    CHECK((*row)->created_by == "alice");
    CHECK((*row)->updated_by == "bob");
    CHECK((*row)->value_since == "2026-02-01T00:00:00Z");
    CHECK((*row)->expires_at == "2027-01-01T00:00:00Z");
    // Records of the first release had no policy: they keep none rather than get one silently.
    CHECK((*row)->policy == RotationPolicy{});
    CHECK((*(*store)->record_version("w", "u", 1))->origin == "put");
}
