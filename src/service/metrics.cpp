// SPDX-License-Identifier: Apache-2.0
// keywardd's metrics (see metrics.hpp).
#include "metrics.hpp"

#include <cstdio>
#include <sstream>
#include <vector>

#include "keyward/metrics.hpp"

namespace keyward::service {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

std::string seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", s);
    return text;
}

}  // namespace

std::string route_of(std::string_view path) {
    const auto p = segments(path);
    if (p.size() < 2 || p[0] != "v1") return "other";
    if (p[1] == "sys" && p.size() == 3 && (p[2] == "health" || p[2] == "metrics")) {
        return "sys/" + std::string(p[2]);
    }
    if (p[1] == "auth" && p.size() == 4 && p[2] == "token" &&
        (p[3] == "lookup-self" || p[3] == "renew-self")) {
        return "auth/token/" + std::string(p[3]);
    }
    if (p[1] != "transit" || p.size() < 3) return "other";
    const std::string_view op = p[2];
    if (op == "keys") {
        if (p.size() == 3) return "transit/keys";
        if (p.size() == 4) return "transit/keys/:name";
        if (p.size() == 5 && (p[4] == "rotate" || p[4] == "config" || p[4] == "trim")) {
            return "transit/keys/:name/" + std::string(p[4]);
        }
        return "other";
    }
    if ((op == "encrypt" || op == "decrypt" || op == "rewrap") && p.size() == 4) {
        return "transit/" + std::string(op) + "/:name";
    }
    if (op == "datakey" && p.size() == 5 && (p[3] == "plaintext" || p[3] == "wrapped")) {
        return "transit/datakey/" + std::string(p[3]) + "/:name";
    }
    return "other";
}

void Metrics::record(const std::string& route, unsigned status, std::chrono::nanoseconds took) {
    const double s = std::chrono::duration<double>(took).count();
    std::lock_guard lock(mutex_);
    ++requests_[{route, status}];
    Latency& l = latency_[route];
    std::size_t b = 0;
    while (b < kBuckets.size() && s > kBuckets[b]) ++b;
    ++l.buckets[b];
    l.sum += s;
    ++l.count;
}

std::string Metrics::prometheus(const Gauges& gauges) const {
    std::ostringstream out;
    {
        std::lock_guard lock(mutex_);
        out << "# HELP keywardd_requests_total Requests answered, by route and HTTP status.\n"
               "# TYPE keywardd_requests_total counter\n";
        for (const auto& [key, n] : requests_) {
            out << "keywardd_requests_total{route=\"" << key.first << "\",status=\"" << key.second
                << "\"} " << n << "\n";
        }
        out << "# HELP keywardd_request_duration_seconds Time from a request's last byte to its "
               "answer.\n# TYPE keywardd_request_duration_seconds histogram\n";
        for (const auto& [route, l] : latency_) {
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
                cumulative += l.buckets[b];
                out << "keywardd_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
                    << (b < kBuckets.size() ? seconds(kBuckets[b]) : std::string("+Inf")) << "\"} "
                    << cumulative << "\n";
            }
            out << "keywardd_request_duration_seconds_sum{route=\"" << route << "\"} "
                << seconds(l.sum) << "\n"
                << "keywardd_request_duration_seconds_count{route=\"" << route << "\"} " << l.count
                << "\n";
        }
    }
    out << "# HELP keywardd_hsm_calls_total PKCS#11 calls, by function and CK_RV.\n"
           "# TYPE keywardd_hsm_calls_total counter\n";
    std::map<std::string, std::uint64_t> errors;
    const auto calls = hsm_call_counts();
    for (const auto& c : calls) {
        out << "keywardd_hsm_calls_total{function=\"" << c.function << "\",rv=\"" << c.result
            << "\"} " << c.count << "\n";
        if (c.result != "CKR_OK") errors[c.result] += c.count;
    }
    out << "# HELP keywardd_hsm_errors_total PKCS#11 calls that did not return CKR_OK, by "
           "CK_RV.\n# TYPE keywardd_hsm_errors_total counter\n";
    for (const auto& [rv, n] : errors) {
        out << "keywardd_hsm_errors_total{rv=\"" << rv << "\"} " << n << "\n";
    }
    out << "# HELP keywardd_worker_queue_depth Requests waiting for or running on a worker.\n"
           "# TYPE keywardd_worker_queue_depth gauge\n"
        << "keywardd_worker_queue_depth " << gauges.queue_depth << "\n"
        << "# HELP keywardd_rotations_running Rotations whose re-wrap is still going on.\n"
           "# TYPE keywardd_rotations_running gauge\n"
        << "keywardd_rotations_running " << gauges.rotations_running << "\n";
    return out.str();
}

}  // namespace keyward::service
