// SPDX-License-Identifier: Apache-2.0
// P11Hsm's reconnect (ConnectOptions::reconnect_after_objects) on a fresh SoftHSM token:
// SoftHSM 2.6.1 frees session objects only in C_Finalize, so a connection that made many
// finalises the module and logs in again with the PIN it kept. Its own executable: the module
// can be finalised only when this connection is the process's only user of it.
#include "support/catch_errc.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "keyward/types.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::SecretBytes;
using keyward::Suite;
using keyward::core::KekRef;
using keyward::test::random_bytes;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;

namespace {

std::unique_ptr<keyward::p11::P11Hsm> connect_reconnecting(const SoftHsmToken& token,
                                                           std::size_t after) {
    auto options = token.options();
    options.reconnect_after_objects = after;
    options.max_sessions = 2;
    auto hsm = keyward::p11::P11Hsm::connect(std::move(options));
    if (!hsm) FAIL(hsm.error().message());
    return std::move(hsm).value();
}

// Re-wraps `wrapped` from v1 to v2 `per_thread` times on each of 2 threads; every result must
// equal `expected` (RFC 5649 is deterministic). Returns the number that did not.
int rewrap_many(keyward::p11::P11Hsm& hsm, const KekRef& v1, const KekRef& v2, const Bytes& wrapped,
                const Bytes& expected, int per_thread) {
    std::atomic<int> wrong{0};
    std::vector<std::jthread> threads;
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                auto r = hsm.rewrap_dek(v1, wrapped, {}, v2, {}, keyward::kDekSize);
                if (!r.ok() || *r != expected) ++wrong;
            }
        });
    }
    threads.clear();
    return wrong.load();
}

}  // namespace

TEST_CASE("a connection finalises the module after N objects and carries on logged in") {
    SoftHsmToken token("kw-reconnect");
    auto hsm = connect_reconnecting(token, 40);
    REQUIRE(hsm->generate_kek("keyward:rc:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:rc:v2", Suite::kwp, Bytes{2}).ok());
    KekRef v1{"keyward:rc:v1", Suite::kwp};
    KekRef v2{"keyward:rc:v2", Suite::kwp};
    const Bytes dek = random_bytes(32);
    auto w1 = hsm->wrap_dek(v1, dek, {});
    auto w2 = hsm->wrap_dek(v2, dek, {});
    REQUIRE(w1.ok());
    REQUIRE(w2.ok());
    CHECK(hsm->reconnects() == 0);

    // 200 unwrapped objects at 40 per connection: 4 or 5 reconnects (two threads may both
    // finish an object before either asks for the next session).
    CHECK(rewrap_many(*hsm, v1, v2, *w1, *w2, 100) == 0);
    CHECK(hsm->reconnects() >= 4);
    CHECK(hsm->reconnects() <= 5);

    // Still logged in, the KEK handles found again, the token the same one.
    auto logged_in = hsm->logged_in();
    REQUIRE(logged_in.ok());
    CHECK(*logged_in);
    auto back = hsm->unwrap_dek(v2, *w2, {});
    REQUIRE(back.ok());
    CHECK(Bytes(back->begin(), back->end()) == dek);
    CHECK(hsm->pool_stats().discarded == 0);
}

TEST_CASE("a module another connection uses is not finalised, and reconnecting stops") {
    SoftHsmToken token("kw-reconnect-shared");
    auto hsm = connect_reconnecting(token, 20);
    RawToken other(token);  // holds the module, as a second connection in this process would
    REQUIRE(hsm->generate_kek("keyward:rs:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:rs:v2", Suite::kwp, Bytes{2}).ok());
    KekRef v1{"keyward:rs:v1", Suite::kwp};
    KekRef v2{"keyward:rs:v2", Suite::kwp};
    const Bytes dek = random_bytes(32);
    auto w1 = hsm->wrap_dek(v1, dek, {});
    auto w2 = hsm->wrap_dek(v2, dek, {});
    REQUIRE(w1.ok());
    REQUIRE(w2.ok());
    CHECK(rewrap_many(*hsm, v1, v2, *w1, *w2, 60) == 0);
    CHECK(hsm->reconnects() == 0);
    auto logged_in = hsm->logged_in();
    REQUIRE(logged_in.ok());
    CHECK(*logged_in);
}

TEST_CASE("when the token is gone at a reconnect, calls say so until it is back") {
    SoftHsmToken token("kw-reconnect-gone");
    auto hsm = connect_reconnecting(token, 10);
    REQUIRE(hsm->generate_kek("keyward:rg:v1", Suite::kwp, Bytes{1}).ok());
    KekRef v1{"keyward:rg:v1", Suite::kwp};
    const Bytes dek = random_bytes(32);
    auto w1 = hsm->wrap_dek(v1, dek, {});
    REQUIRE(w1.ok());
    // Every unwrap makes one object: run to the first reconnect, then to one object short of
    // the second.
    for (int i = 0; i < 20 && hsm->reconnects() == 0; ++i) {
        REQUIRE(hsm->unwrap_dek(v1, *w1, {}).ok());
    }
    REQUIRE(hsm->reconnects() == 1);
    for (int i = 0; i < 9; ++i) REQUIRE(hsm->unwrap_dek(v1, *w1, {}).ok());
    REQUIRE(hsm->reconnects() == 1);

    // SoftHSM finds its tokens at C_Initialize: with the token directory moved away, the next
    // connection finds none.
    const auto dir = token.token_dir();
    const auto moved = dir.string() + ".moved";
    std::filesystem::rename(dir, moved);
    auto first = hsm->unwrap_dek(v1, *w1, {});
    auto second = hsm->wrap_dek(v1, dek, {});
    std::filesystem::rename(moved, dir);
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().code() == Errc::hsm_unavailable);
    CHECK(first.error().message().find("connecting to token") != std::string::npos);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().message() == first.error().message());  // within the second: no retry
    CHECK(hsm->reconnects() == 1);

    // Back: a call a second later connects again and works.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto third = hsm->unwrap_dek(v1, *w1, {});
    REQUIRE(third.ok());
    CHECK(Bytes(third->begin(), third->end()) == dek);
    CHECK(hsm->reconnects() == 2);
    auto logged_in = hsm->logged_in();
    REQUIRE(logged_in.ok());
    CHECK(*logged_in);
}
