// SPDX-License-Identifier: Apache-2.0
// Envelope service over the fake HSM: round trips, context binding, version states, limits,
// rewrap across versions, data keys and the suite 2 wrap budget.
#include <catch2/catch.hpp>

#include "crypto/envelope_codec.hpp"
#include "services_fixture.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::ServicesFixture;
using keyward::test::str;
using keyward::test::text;

namespace {

// Makes v2 of a keyring active and v1 decrypt-only, as a rotation will (rotation is its own
// issue; the test stages its end state).
void stage_version_2(ServicesFixture& f, const std::string& ring, Suite suite) {
    const std::string label = kek_label(ring, 2);
    Bytes id = {0x22};
    REQUIRE(f.hsm->generate_kek(label, suite, id).ok());
    auto check = f.hsm->check_value({label, suite});
    REQUIRE(check.ok());
    std::string stmt =
        "UPDATE kek_versions SET state='decrypt-only' WHERE keyring='" + ring +
        "';"
        "INSERT INTO kek_versions(keyring, version, state, label, object_id, check_value, "
        "created_at) VALUES ('" +
        ring + "', 2, 'active', '" + label + "', x'22', x'" + to_hex(*check) +
        "', '2026-01-01T00:00:00Z');";
    f.sql(stmt.c_str());
}

}  // namespace

TEST_CASE("seal then open returns the plaintext for both suites and any context") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("one").ok());
    REQUIRE(f.kw->create_keyring("two", Suite::gcm).ok());
    for (const char* ring : {"one", "two"}) {
        for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 256u, 70000u}) {
            std::string pt(len, 'x');
            for (std::size_t i = 0; i < len; ++i) pt[i] = static_cast<char>(i * 7);
            auto env = f.kw->seal(ring, as_bytes(pt), text("ctx"));
            REQUIRE(env.ok());
            auto parsed = crypto::parse_envelope(*env);
            REQUIRE(parsed.ok());
            CHECK(parsed->header.keyring == ring);
            CHECK(parsed->header.kek_version == 1);
            CHECK(parsed->ciphertext.size() == len);
            auto opened = f.kw->open(*env, text("ctx"));
            REQUIRE(opened.ok());
            CHECK(str(*opened) == pt);
        }
    }
}

TEST_CASE("two seals of the same plaintext differ in DEK and nonce") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto a = f.kw->seal("r", text("same"));
    auto b = f.kw->seal("r", text("same"));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    auto pa = crypto::parse_envelope(*a);
    auto pb = crypto::parse_envelope(*b);
    CHECK(pa->header.wrapped_dek != pb->header.wrapped_dek);
    CHECK(Bytes(pa->nonce.begin(), pa->nonce.end()) != Bytes(pb->nonce.begin(), pb->nonce.end()));
}

TEST_CASE("a wrong or missing context fails authentication and returns nothing") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto env = f.kw->seal("r", text("secret"), text("record:a/b#1"));
    REQUIRE(env.ok());
    for (const char* ctx : {"", "record:a/b#2", "record:a/b#1 "}) {
        auto r = f.kw->open(*env, text(ctx));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::auth_failed);
        CHECK(r.error().message() == "authentication failed");
    }
}

TEST_CASE("an empty context and no context are the same") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto env = f.kw->seal("r", text("v"), ByteView{});
    REQUIRE(env.ok());
    CHECK(f.kw->open(*env, text("")).ok());
}

TEST_CASE("every single-bit flip of an envelope is refused, past the header as auth_failed") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    REQUIRE(f.kw->create_keyring("s").ok());  // 'r' ^ 0x01 == 's': a flip can name another ring
    auto env = f.kw->seal("r", text("flip me"));
    REQUIRE(env.ok());
    const std::size_t header_fields = 4 + 1 + 1 + 1 + 4 + 2;  // up to the wrapped DEK
    for (std::size_t i = 0; i < env->size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            Bytes bad = *env;
            bad[i] ^= static_cast<std::uint8_t>(1u << bit);
            auto r = f.kw->open(bad, {});
            INFO("byte " << i << " bit " << bit);
            REQUIRE_FALSE(r.ok());
            if (i >= header_fields) {
                // Wrapped DEK, nonce, ciphertext, tag: one indistinct error.
                CHECK(r.error().code() == Errc::auth_failed);
            } else {
                // A header field: its own reader error (exit 3), an unknown keyring or version
                // (exit 4), or, for the keyring renamed to "s", authentication failure.
                CHECK(exit_code(r.error().code()) >= 3);
                CHECK(exit_code(r.error().code()) <= 4);
            }
        }
    }
}

TEST_CASE("an envelope naming an unknown keyring or version is not found") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto env = f.kw->seal("r", text("x"));
    REQUIRE(env.ok());
    auto parsed = crypto::parse_envelope(*env);
    crypto::KeyHeader h = parsed->header;
    h.kek_version = 9;
    auto other_version =
        crypto::serialize_envelope(h, parsed->nonce, parsed->ciphertext, parsed->tag);
    REQUIRE(other_version.ok());
    auto r = f.kw->open(*other_version, {});
    CHECK(r.error().code() == Errc::not_found);
    CHECK_THAT(r.error().message(), Catch::Contains("has no version 9"));

    h = parsed->header;
    h.keyring = "elsewhere";
    auto other_ring = crypto::serialize_envelope(h, parsed->nonce, parsed->ciphertext, parsed->tag);
    CHECK(f.kw->open(*other_ring, {}).error().code() == Errc::not_found);
}

TEST_CASE("sealing to an unknown keyring is not found, an oversized input is refused first") {
    ServicesFixture f;
    CHECK(f.kw->seal("missing", text("x")).error().code() == Errc::not_found);
    REQUIRE(f.kw->create_keyring("r").ok());
    Bytes big(kMaxPlaintext + 1);
    auto r = f.kw->seal("r", big);
    CHECK(r.error().code() == Errc::input_too_large);
    CHECK(f.hsm->wrap_calls() == 0);
    Bytes max(kMaxPlaintext, 0x5a);
    auto ok = f.kw->seal("r", max);
    REQUIRE(ok.ok());
    CHECK(f.kw->open(*ok, {})->size() == kMaxPlaintext);
    Bytes context(kMaxContext + 1);
    CHECK(f.kw->seal("r", text("x"), context).error().code() == Errc::usage);
}

TEST_CASE("an envelope under a destroyed version is refused with its state") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("r").ok());
    auto env = f.kw->seal("r", text("x"));
    f.sql("UPDATE kek_versions SET state='destroyed'");
    auto r = f.kw->open(*env, {});
    CHECK(r.error().code() == Errc::state_refused);
    CHECK_THAT(r.error().message(), Catch::Contains("destroyed"));
}

TEST_CASE("rewrap moves an envelope to the active version and changes only the header") {
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        ServicesFixture f;
        REQUIRE(f.kw->create_keyring("r", suite).ok());
        auto env = f.kw->seal("r", text("payload"), text("c"));
        REQUIRE(env.ok());
        auto unchanged = f.kw->rewrap(*env);
        REQUIRE(unchanged.ok());
        CHECK(*unchanged == *env);

        stage_version_2(f, "r", suite);
        auto moved = f.kw->rewrap(*env);
        REQUIRE(moved.ok());
        auto before = crypto::parse_envelope(*env);
        auto after = crypto::parse_envelope(*moved);
        CHECK(after->header.kek_version == 2);
        CHECK(after->header.wrapped_dek != before->header.wrapped_dek);
        CHECK(Bytes(after->nonce.begin(), after->nonce.end()) ==
              Bytes(before->nonce.begin(), before->nonce.end()));
        CHECK(Bytes(after->ciphertext.begin(), after->ciphertext.end()) ==
              Bytes(before->ciphertext.begin(), before->ciphertext.end()));
        CHECK(Bytes(after->tag.begin(), after->tag.end()) ==
              Bytes(before->tag.begin(), before->tag.end()));
        CHECK(str(*f.kw->open(*moved, text("c"))) == "payload");
        CHECK(str(*f.kw->open(*env, text("c"))) == "payload");
        // New seals use the active version at once.
        CHECK(crypto::parse_envelope(*f.kw->seal("r", text("n")))->header.kek_version == 2);
    }
}

TEST_CASE("data keys come back from their blob, in every allowed size") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("k").ok());
    REQUIRE(f.kw->create_keyring("g", Suite::gcm).ok());
    for (std::size_t n = kMinDataKeySize; n <= kMaxDataKeySize; ++n) {
        auto dk = f.kw->generate_data_key("k", n);
        REQUIRE(dk.ok());
        CHECK(dk->key.size() == n);
        auto blob = crypto::parse_data_key_blob(dk->blob);
        REQUIRE(blob.ok());
        CHECK(blob->wrapped_dek.size() == crypto::wrapped_dek_length(Suite::kwp, n));
        auto back = f.kw->decrypt_data_key(dk->blob);
        REQUIRE(back.ok());
        CHECK(*back == dk->key);
    }
    CHECK(f.kw->generate_data_key("k", 15).error().code() == Errc::usage);
    CHECK(f.kw->generate_data_key("k", 65).error().code() == Errc::usage);
    CHECK(f.kw->generate_data_key("g", 16).error().code() == Errc::usage);
    auto g = f.kw->generate_data_key("g", 32);
    REQUIRE(g.ok());
    CHECK(*f.kw->decrypt_data_key(g->blob) == g->key);
}

TEST_CASE("a data key blob rewrapped to a new version still yields the same key") {
    ServicesFixture f;
    REQUIRE(f.kw->create_keyring("k").ok());
    auto dk = f.kw->generate_data_key("k", 24);
    stage_version_2(f, "k", Suite::kwp);
    auto moved = f.kw->rewrap(dk->blob);
    REQUIRE(moved.ok());
    CHECK(crypto::parse_data_key_blob(*moved)->kek_version == 2);
    CHECK(*f.kw->decrypt_data_key(*moved) == dk->key);
}

TEST_CASE("suite 2 refuses to wrap past the configured limit, counting durably") {
    ServicesFixture f(/*gcm_limit=*/5, /*gcm_reserve=*/2);
    REQUIRE(f.kw->create_keyring("g", Suite::gcm).ok());
    for (int i = 0; i < 5; ++i) REQUIRE(f.kw->seal("g", text("x")).ok());
    auto refused = f.kw->seal("g", text("x"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::limit_reached);
    CHECK_THAT(refused.error().message(), Catch::Contains("rotate keyring \"g\""));
    CHECK(f.kw->keyring("g")->versions[0].gcm_wraps == 5);
}

TEST_CASE("suite 2 reservations start at one wrap and double up to the configured block") {
    ServicesFixture f(/*gcm_limit=*/1000, /*gcm_reserve=*/8);
    REQUIRE(f.kw->create_keyring("g", Suite::gcm).ok());
    // Reservations of 1, 2, 4, 8, 8...: the durable counter never trails the wraps made.
    const std::uint64_t expected[] = {1, 3, 3, 7, 7, 7, 7, 15, 15, 15, 15, 15, 15, 15, 15, 23};
    for (auto want : expected) {
        REQUIRE(f.kw->seal("g", text("x")).ok());
        CHECK(f.kw->keyring("g")->versions[0].gcm_wraps == want);
    }
}
