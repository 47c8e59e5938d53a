// SPDX-License-Identifier: Apache-2.0
// The library's own seal or open rate on N threads through the public API, as keywardd's
// benchmark (bench/service_bench.py) compares against: one handle, the config's audit mode,
// a fixed payload and context, for a fixed time. Prints one JSON line: ops/s, p50, p99 (µs).
//
// usage: library_throughput_bench --config F --keyring NAME --op seal|open [--threads 2]
//                                 [--seconds 10] [--size 256]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "keyward/keyward.hpp"

namespace {

using namespace keyward;
using Clock = std::chrono::steady_clock;

int fail(const std::string& message) {
    std::fprintf(stderr, "library_throughput_bench: %s\n", message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path, keyring, op = "seal";
    unsigned threads = 2;
    double seconds = 10;
    std::size_t size = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--config") config_path = v;
        else if (a == "--keyring") keyring = v;
        else if (a == "--op") op = v;
        else if (a == "--threads") threads = static_cast<unsigned>(std::stoul(v));
        else if (a == "--seconds") seconds = std::stod(v);
        else if (a == "--size") size = std::stoul(v);
        else return fail("unknown option " + a);
    }
    if (config_path.empty() || keyring.empty() || (op != "seal" && op != "open")) {
        return fail("usage: --config F --keyring NAME --op seal|open [--threads N] ...");
    }
    auto config = load_config(config_path);
    if (!config.ok()) return fail(config.error().message());
    auto kw = Keyward::open(*config);
    if (!kw.ok()) return fail(kw.error().message());
    const Bytes payload(size, 0x5a);
    const Bytes context{'b', 'e', 'n', 'c', 'h'};
    auto sealed = (*kw)->seal(keyring, payload, context);
    if (!sealed.ok()) return fail(sealed.error().message());
    const Bytes envelope = *sealed;

    std::atomic<bool> go{false}, stop{false}, failed{false};
    std::vector<std::vector<double>> samples(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            while (!go) std::this_thread::yield();
            auto& mine = samples[t];
            while (!stop) {
                const auto t0 = Clock::now();
                const bool ok = op == "seal" ? (*kw)->seal(keyring, payload, context).ok()
                                             : (*kw)->open(envelope, context).ok();
                if (!ok) failed = true;
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            }
        });
    }
    const auto start = Clock::now();
    go = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : pool) th.join();
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) return fail(op + " failed during the run");
    std::vector<double> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    std::sort(all.begin(), all.end());
    if (all.empty()) return fail("no samples");
    std::printf("{\"op\": \"%s\", \"threads\": %u, \"ops\": %zu, \"ops_per_s\": %.1f, "
                "\"p50_us\": %.1f, \"p99_us\": %.1f}\n",
                op.c_str(), threads, all.size(), static_cast<double>(all.size()) / took,
                all[all.size() / 2], all[all.size() * 99 / 100]);
    return 0;
}
