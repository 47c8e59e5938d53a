// SPDX-License-Identifier: Apache-2.0
// Latency statistics the benchmarks print: p50, p99 and mean of samples in microseconds.
#pragma once

#include <algorithm>
#include <vector>

namespace keyward::bench {

struct Stats {
    double p50_us = 0, p99_us = 0, mean_us = 0;
};

inline Stats stats_of(std::vector<double> us) {
    Stats s;
    if (us.empty()) return s;
    for (double v : us) s.mean_us += v;
    s.mean_us /= static_cast<double>(us.size());
    std::sort(us.begin(), us.end());
    s.p50_us = us[us.size() / 2];
    s.p99_us = us[us.size() * 99 / 100];
    return s;
}

}  // namespace keyward::bench
