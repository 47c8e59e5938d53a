// SPDX-License-Identifier: Apache-2.0
// Records over the fake HSM and a real SQLite file: versions, contexts, kinds, addresses.
#include <catch2/catch.hpp>

#include "core/clock.hpp"
#include "core/records.hpp"
#include "crypto/envelope_codec.hpp"
#include "services_fixture.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::ServicesFixture;
using keyward::test::str;
using keyward::test::text;

TEST_CASE("every put makes the next version, sealed with context record:NS/NAME#V") {
    ServicesFixture f;
    CHECK(*f.kw->put_record("wallets/user/42", "wallet", text("seed one")) == 1);
    CHECK(*f.kw->put_record("wallets/user/42", "wallet", text("seed two")) == 2);
    CHECK(str(*f.kw->get_record("wallets/user/42")) == "seed two");
    CHECK(str(*f.kw->get_record("wallets/user/42", 1)) == "seed one");
    auto v1 = f.kw->record_version("wallets/user/42", 1);
    REQUIRE(v1.ok());
    CHECK(v1->keyring == "wallets");
    CHECK(v1->kek_version == 1);
    CHECK(str(*f.kw->open(v1->envelope, text("record:wallets/user/42#1"))) == "seed one");
    CHECK(f.kw->open(v1->envelope, text("record:wallets/user/42#2")).error().code() ==
          Errc::auth_failed);
    // The namespace's keyring was made on first use and counts what it protects.
    CHECK(f.kw->keyring("wallets")->versions[0].records == 2);
}

TEST_CASE("record errors: unknown kind, bad address, kind change, missing version") {
    ServicesFixture f;
    CHECK(f.kw->put_record("ns/a", "password", text("x")).error().code() == Errc::usage);
    for (const char* bad :
         {"noslash", "/a", "ns/", "NS/a", "ns/A", "ns/a//b", "ns/a/", "-ns/a", "ns/.a"}) {
        INFO(bad);
        CHECK(f.kw->put_record(bad, "api_key", text("x")).error().code() == Errc::usage);
    }
    CHECK(f.kw->put_record(std::string(65, 'n') + "/a", "api_key", text("x")).error().code() ==
          Errc::usage);
    REQUIRE(f.kw->put_record("ns/a", "api_key", text("x")).ok());
    auto changed = f.kw->put_record("ns/a", "wallet", text("y"));
    CHECK(changed.error().code() == Errc::usage);
    CHECK_THAT(changed.error().message(), Catch::Contains("keeps its kind"));
    CHECK(f.kw->get_record("ns/a", 2).error().code() == Errc::not_found);
    CHECK_THAT(f.kw->get_record("ns/a", 2).error().message(), Catch::Contains("the latest is 1"));
    CHECK(f.kw->get_record("ns/b").error().code() == Errc::not_found);
    Bytes big(kMaxPlaintext + 1);
    CHECK(f.kw->put_record("ns/a", "api_key", big).error().code() == Errc::input_too_large);
}

TEST_CASE("records are listed by namespace and kind, without values") {
    ServicesFixture f;
    REQUIRE(f.kw->put_record("acme/stripe/key", "api_key", text("sk_live")).ok());
    REQUIRE(f.kw->put_record("acme/github/token", "oauth_access_token", text("gho")).ok());
    REQUIRE(f.kw->put_record("other/x", "custom_secret", text("s")).ok());
    auto all = f.kw->records();
    REQUIRE(all->size() == 3);
    auto acme = f.kw->records("acme");
    REQUIRE(acme->size() == 2);
    CHECK((*acme)[0].name == "github/token");
    auto keys = f.kw->records("", "api_key");
    REQUIRE(keys->size() == 1);
    CHECK(keys->front().ns == "acme");
}

TEST_CASE("ISO 8601 expiry dates are normalised to UTC") {
    CHECK(*core::normalize_iso8601("2030-01-01") == "2030-01-01T00:00:00Z");
    CHECK(*core::normalize_iso8601("2030-01-01T12:30:00+02:00") == "2030-01-01T10:30:00Z");
    CHECK(*core::normalize_iso8601("2030-01-01T23:30:00-01:00") == "2030-01-02T00:30:00Z");
    CHECK(*core::normalize_iso8601("2030-06-01T00:00:00Z") == "2030-06-01T00:00:00Z");
    for (const char* bad :
         {"2030-02-31", "2030-13-01", "2030-1-01", "tomorrow", "2030-01-01T12:00:00",
          "2030-01-01 12:00:00Z", "2030-01-01T25:00:00Z"}) {
        INFO(bad);
        CHECK(core::normalize_iso8601(bad).error().code() == Errc::usage);
    }
}
