// SPDX-License-Identifier: Apache-2.0
// Vault's HTTP API as keywardd serves it (docs/SERVICE.md): sys/health, token lookup-self and
// renew-self, and the Transit engine mapped onto keyrings. One call per request, made on the
// worker's thread as the token's principal (Keyward::act_as), so grants and the audit log see
// the caller, its address, user agent and request id.
#pragma once

#include <atomic>
#include <string>

#include <functional>

#include "http_server.hpp"
#include "keyward/keyward.hpp"
#include "metrics.hpp"
#include "rotator.hpp"

namespace keyward::service {

struct TransitOptions {
    std::size_t max_batch_items = 1000;
    std::chrono::milliseconds auto_rotate_check{60000};  ///< 0: no auto-rotation
    std::function<std::size_t()> queue_depth;            ///< the server's, for metrics
};

class Transit {
  public:
    Transit(Keyward& kw, TransitOptions options)
        : kw_(kw), options_(options), rotator_(kw, options.auto_rotate_check) {}

    /// The whole API: routes the request, answers it and counts it. Never throws.
    HttpResponse handle(HttpRequest& request);
    /// Draining began: running re-wraps stop after their batch, new rotations are refused.
    void begin_shutdown() { rotator_.stop(); }

  private:
    HttpResponse route(HttpRequest& request);
    Metrics metrics_;
    Keyward& kw_;
    TransitOptions options_;
    Rotator rotator_;
    std::atomic<std::uint64_t> request_counter_{0};
};

}  // namespace keyward::service
