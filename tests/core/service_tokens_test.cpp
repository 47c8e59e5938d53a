// SPDX-License-Identifier: Apache-2.0
// keywardd's service tokens over the fake token and a real SQLite file: a token authenticates
// as its principal; the database holds no trace of the token itself; malformed, unknown,
// revoked, expired, minted, edited and moved rows are all "permission denied"; renewal extends
// to the maximum and no further; tokens survive an audit key rotation.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "services_fixture.hpp"
#include "support/catch_errc.hpp"
#include "support/sqlite_file.hpp"

using namespace keyward;
using namespace keyward::test;

namespace {

Keyward::IssuedServiceToken issue(Keyward& kw, const std::string& principal, std::int64_t ttl = 0,
                                  bool renewable = false, std::int64_t max_ttl = 0) {
    ServiceTokenRequest req;
    req.principal = principal;
    req.ttl_seconds = ttl;
    req.renewable = renewable;
    req.max_ttl_seconds = max_ttl;
    auto issued = kw.create_service_token(req);
    REQUIRE(issued.ok());
    return std::move(*issued);
}

std::string text_of(const SecretString& s) {
    return std::string(s.data(), s.size());
}

void expect_denied(const Result<ServiceTokenInfo>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == Errc::access_denied);
    CHECK(r.error().message() == "permission denied");
}

template <typename T>
void check_errc(const Result<T>& r, Errc code) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == code);
}

}  // namespace

TEST_CASE("a service token authenticates as its principal, and only an HMAC of it is stored") {
    ServicesFixture f;
    auto issued = issue(*f.kw, "wallet-svc", 3600);
    const std::string token = text_of(issued.token);
    CHECK(token.size() == 68);
    CHECK(token.rfind("kwt_", 0) == 0);
    CHECK(issued.info.principal == "wallet-svc");
    CHECK(issued.info.id.size() == 16);
    CHECK_FALSE(issued.info.expires_at.empty());

    auto who = f.kw->authenticate_service_token(token);
    REQUIRE(who.ok());
    CHECK(who->principal == "wallet-svc");
    CHECK(who->id == issued.info.id);

    auto other = issue(*f.kw, "other-svc");
    CHECK(text_of(other.token) != token);
    CHECK(f.kw->authenticate_service_token(text_of(other.token))->principal == "other-svc");

    // Neither the database file nor its WAL holds the token, its hex part, or the audit log.
    f.kw.reset();
    for (const char* suffix : {"", "-wal"}) {
        const std::string bytes = read_file(f.db_path.string() + suffix);
        CHECK(bytes.find(token.substr(4)) == std::string::npos);
    }
}

TEST_CASE("malformed, unknown, revoked and expired tokens are all permission denied") {
    ServicesFixture f;
    auto live = issue(*f.kw, "svc");
    const std::string token = text_of(live.token);
    const int macs_before = f.hsm->mac_calls();
    for (const std::string& bad :
         {std::string(), std::string("kwt_"), token.substr(0, 67), token + "0",
          "kwx_" + token.substr(4), "kwt_" + std::string(64, 'G'), "KWT_" + token.substr(4)}) {
        INFO("token: " << bad);
        expect_denied(f.kw->authenticate_service_token(bad));
    }
    CHECK(f.hsm->mac_calls() == macs_before);  // garbage costs the token nothing

    std::string unknown = token;
    unknown.back() = unknown.back() == '0' ? '1' : '0';
    expect_denied(f.kw->authenticate_service_token(unknown));

    REQUIRE(f.kw->authenticate_service_token(token).ok());
    auto revoked = f.kw->revoke_service_token(live.info.id);
    REQUIRE(revoked.ok());
    CHECK_FALSE(revoked->revoked_at.empty());
    expect_denied(f.kw->authenticate_service_token(token));  // at once, despite the cache
    check_errc(f.kw->revoke_service_token("0123456789abcdef"), Errc::not_found);

    auto short_lived = issue(*f.kw, "svc", 1);
    REQUIRE(f.kw->authenticate_service_token(text_of(short_lived.token)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    expect_denied(f.kw->authenticate_service_token(text_of(short_lived.token)));
}

TEST_CASE("service token rows edited or moved with SQLite are never honoured") {
    ServicesFixture f;
    auto a = issue(*f.kw, "alice");
    auto b = issue(*f.kw, "bob");
    std::string presented;  // the token whose row the section tampers with
    std::unique_ptr<FakeHsm> token;  // the fake token, kept across the close
    auto close = [&] {
        token = std::make_unique<FakeHsm>(*f.hsm);
        f.kw.reset();
    };
    SECTION("a row moved to another principal") {
        presented = text_of(a.token);
        close();
        SqliteFile(f.db_path).exec("UPDATE service_tokens SET principal = 'admin' WHERE id = ?1",
                                   {a.info.id});
    }
    SECTION("a revoked token un-revoked") {
        presented = text_of(a.token);
        REQUIRE(f.kw->revoke_service_token(a.info.id).ok());
        close();
        SqliteFile(f.db_path).exec("UPDATE service_tokens SET revoked_at = '' WHERE id = ?1",
                                   {a.info.id});
    }
    SECTION("bob's lookup moved onto alice's row") {
        presented = text_of(b.token);
        close();
        SqliteFile db(f.db_path);
        db.exec("CREATE TEMP TABLE moved AS SELECT lookup FROM service_tokens WHERE id = ?1",
                {b.info.id});
        db.exec("DELETE FROM service_tokens WHERE id = ?1", {b.info.id});
        db.exec("UPDATE service_tokens SET lookup = (SELECT lookup FROM moved) WHERE id = ?1",
                {a.info.id});
    }
    f.hsm = token.get();
    f.kw = f.reopen(std::move(token));
    expect_denied(f.kw->authenticate_service_token(presented));
    auto listing = f.kw->service_tokens();
    REQUIRE(listing.ok());
    REQUIRE(listing->invalid.size() == 1);
    CHECK(listing->invalid[0] == a.info.id);
    // A forged row is not laundered by revoking it.
    check_errc(f.kw->revoke_service_token(a.info.id), Errc::auth_failed);
}

TEST_CASE("renewal extends a renewable token by its ttl, never past its maximum") {
    ServicesFixture f;
    auto fixed = issue(*f.kw, "svc", 600);
    check_errc(f.kw->renew_service_token(text_of(fixed.token)), Errc::usage);

    // Whole seconds: ttl 3 and max 5, renewed after 1.2 s and 2.4 s, so that the token is
    // alive at each renewal and the second one reaches the cap whatever the fraction of the
    // second the test starts in.
    auto renewable = issue(*f.kw, "svc", 3, true, 5);
    const std::string token = text_of(renewable.token);
    const std::string max = renewable.info.max_expires_at;
    REQUIRE_FALSE(max.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    auto renewed = f.kw->renew_service_token(token);
    REQUIRE(renewed.ok());
    CHECK(renewed->expires_at > renewable.info.expires_at);
    CHECK(renewed->expires_at <= max);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    renewed = f.kw->renew_service_token(token);
    REQUIRE(renewed.ok());
    CHECK(renewed->expires_at == max);  // capped
    CHECK(f.kw->authenticate_service_token(token).ok());
}

TEST_CASE("service tokens survive an audit key rotation, their rows re-MAC'd") {
    ServicesFixture f;
    auto before = issue(*f.kw, "svc");
    REQUIRE(f.kw->rotate_audit_key().ok());
    auto after = issue(*f.kw, "svc2");
    CHECK(f.kw->authenticate_service_token(text_of(before.token))->principal == "svc");
    CHECK(f.kw->authenticate_service_token(text_of(after.token))->principal == "svc2");
    auto listing = f.kw->service_tokens();
    REQUIRE(listing.ok());
    CHECK(listing->tokens.size() == 2);
    CHECK(listing->invalid.empty());
}
