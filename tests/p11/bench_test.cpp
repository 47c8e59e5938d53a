// SPDX-License-Identifier: Apache-2.0
// Throughput of P11Hsm's DEK operations on SoftHSM, one thread and several. Hidden ([.]): run
// it by hand with `p11_bench_test` (it prints rates and asserts only correctness).
#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include "support/p11_test_helpers.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::Suite;
using keyward::core::KekRef;
using keyward::test::SoftHsmToken;

namespace {

template <typename Fn>
void measure(const char* what, int threads, int per_thread, Fn&& fn) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                if (!fn()) ++failures;
            }
        });
    }
    for (auto& th : pool) th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "[p11 bench] " << what << ", " << threads
              << " thread(s): " << static_cast<long>(threads * per_thread / s) << "/s\n";
    CHECK(failures == 0);
}

}  // namespace

TEST_CASE("DEK operations per second on SoftHSM", "[.][bench]") {
    SoftHsmToken token("kw-bench");
    auto hsm = token.connect();
    REQUIRE(hsm->generate_kek("keyward:b:v1", Suite::kwp, Bytes{1}).ok());
    REQUIRE(hsm->generate_kek("keyward:b:v2", Suite::kwp, Bytes{2}).ok());
    REQUIRE(hsm->generate_kek("keyward:b:v3", Suite::gcm, Bytes{3}).ok());
    KekRef v1{"keyward:b:v1", Suite::kwp}, v2{"keyward:b:v2", Suite::kwp},
        v3{"keyward:b:v3", Suite::gcm};
    const Bytes dek(32, 0x42);
    const Bytes aad(24, 0x01);
    auto w1 = hsm->wrap_dek(v1, dek, {});
    auto w3 = hsm->wrap_dek(v3, dek, aad);
    REQUIRE(w1.ok());
    REQUIRE(w3.ok());
    for (int threads : {1, 2, 4}) {
        const int n = 20000 / threads;
        measure("suite 1 wrap", threads, n, [&] { return hsm->wrap_dek(v1, dek, {}).ok(); });
        measure("suite 1 unwrap", threads, n, [&] { return hsm->unwrap_dek(v1, *w1, {}).ok(); });
        measure("suite 1 rewrap", threads, n,
                [&] { return hsm->rewrap_dek(v1, *w1, {}, v2, {}, 32).ok(); });
        measure("suite 2 wrap", threads, n, [&] { return hsm->wrap_dek(v3, dek, aad).ok(); });
        measure("suite 2 unwrap", threads, n, [&] { return hsm->unwrap_dek(v3, *w3, aad).ok(); });
    }
    measure("check value", 1, 2000, [&] { return hsm->check_value(v1).ok(); });
}
