// SPDX-License-Identifier: Apache-2.0
// keywardd's metrics (GET /v1/sys/metrics?format=prometheus): requests by route and status,
// latency histograms by route, the library's PKCS#11 calls by function and CK_RV, and gauges
// (worker queue depth, rotations running). Routes are templates ("transit/encrypt/:name"),
// so a key's name never becomes a label and the series stay few.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace keyward::service {

/// The route template of a request path: "/v1/transit/encrypt/orders" -> "transit/encrypt/:name".
std::string route_of(std::string_view path);

class Metrics {
  public:
    /// Upper bounds of the latency buckets, in seconds (and +Inf).
    static constexpr std::array<double, 12> kBuckets = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

    void record(const std::string& route, unsigned status, std::chrono::nanoseconds took);

    struct Gauges {
        std::size_t queue_depth = 0;
        std::size_t rotations_running = 0;
    };
    /// The Prometheus text exposition format, version 0.0.4.
    std::string prometheus(const Gauges& gauges) const;

  private:
    struct Latency {
        std::array<std::uint64_t, kBuckets.size() + 1> buckets{};  ///< the last is +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
    std::map<std::string, Latency> latency_;
};

}  // namespace keyward::service
