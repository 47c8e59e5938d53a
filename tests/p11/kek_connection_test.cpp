// SPDX-License-Identifier: Apache-2.0
// A P11Hsm connection against a fresh SoftHSM token under load and across processes: working
// sessions replaced after the configured number of key objects, several threads wrapping at once,
// the token RNG, and a connection copied by fork(). KEK objects are in kek_objects_test.cpp, DEK
// wrapping in kek_wrap_test.cpp.
#include "support/catch_errc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "kek_test_aad.hpp"
#include "keyward/types.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::SecretBytes;
using keyward::Suite;
using keyward::core::KekRef;
using keyward::test::kAad;
using keyward::test::plain;
using keyward::test::random_bytes;
using keyward::test::SoftHsmToken;

TEST_CASE("working sessions are replaced after the configured number of key objects") {
    SoftHsmToken token("kw-recycle");
    auto options = token.options();
    options.max_sessions = 1;
    options.recycle_after_objects = 25;
    auto hsm = keyward::p11::P11Hsm::connect(std::move(options));
    REQUIRE(hsm.ok());
    auto& h = **hsm;
    REQUIRE(h.generate_kek("keyward:s:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:s:v1", Suite::kwp};
    Bytes dek = random_bytes(32);
    for (int i = 0; i < 100; ++i) {
        auto w = h.wrap_dek(kek, dek, {});
        REQUIRE(w.ok());
        auto u = h.unwrap_dek(kek, *w, {});
        REQUIRE(u.ok());
        REQUIRE(plain(*u) == dek);
    }
    auto stats = h.pool_stats();
    // probe (8) + generate (1) + 200 objects, 25 per session.
    CHECK(stats.recycled == 8);
    CHECK(stats.opened == 9);
    CHECK(stats.open == 1);
    CHECK(stats.discarded == 0);
}

TEST_CASE("several threads wrap and unwrap at once, every result correct") {
    SoftHsmToken token("kw-threads");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:m:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:m:v2", Suite::gcm, Bytes{2}).ok());
    constexpr int kThreads = 4;
    constexpr int kRounds = 2000;
    std::atomic<int> ok{0};
    std::atomic<int> wrong{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            KekRef kek{t % 2 == 0 ? "keyward:m:v1" : "keyward:m:v2",
                       t % 2 == 0 ? Suite::kwp : Suite::gcm};
            for (int i = 0; i < kRounds; ++i) {
                Bytes dek = random_bytes(32);
                auto w = hsm->wrap_dek(kek, dek, kAad);
                auto u =
                    w ? hsm->unwrap_dek(kek, *w, kAad) : keyward::Result<SecretBytes>(w.error());
                if (u && plain(*u) == dek) {
                    ++ok;
                } else {
                    ++wrong;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "[p11] " << kThreads << " threads x " << kRounds << " wrap+unwrap: " << seconds
              << " s, " << static_cast<int>(2 * kThreads * kRounds / seconds) << " token ops/s\n";
    CHECK(ok == kThreads * kRounds);
    CHECK(wrong == 0);
    CHECK(hsm->pool_stats().discarded == 0);
}

TEST_CASE("the token RNG fills buffers with fresh bytes") {
    SoftHsmToken token("kw-rng");
    auto hsm = token.connect();
    Bytes a(32), b(32);
    REQUIRE(hsm->generate_random(a).ok());
    REQUIRE(hsm->generate_random(b).ok());
    CHECK(a != b);
    CHECK(a != Bytes(32, 0));
    Bytes none;
    CHECK(hsm->generate_random(none).ok());
}

TEST_CASE("after fork() the child's copy of a connection refuses work and a new one works") {
    SoftHsmToken token("kw-fork");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:f:v1", Suite::kwp, Bytes{1}).ok());
    KekRef kek{"keyward:f:v1", Suite::kwp};
    auto w = hsm->wrap_dek(kek, Bytes(32, 7), {});
    REQUIRE(w.ok());

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Exit codes: 10 = inherited connection not refused, 11 = wrong error,
        // 12 = fresh connect failed, 13 = unwrap in child failed, 0 = as expected.
        Bytes out(8);
        auto r = hsm->generate_random(out);
        if (r.ok()) _exit(10);
        if (r.error().code() != Errc::hsm_unavailable) _exit(11);
        auto fresh = keyward::p11::P11Hsm::connect(token.options());
        if (!fresh) _exit(12);
        auto u = (*fresh)->unwrap_dek(kek, *w, {});
        if (!u || plain(*u) != Bytes(32, 7)) _exit(13);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // The parent's connection is untouched by what the child did.
    auto u = hsm->unwrap_dek(kek, *w, {});
    REQUIRE(u.ok());
    CHECK(plain(*u) == Bytes(32, 7));
}
