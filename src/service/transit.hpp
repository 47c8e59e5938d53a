// SPDX-License-Identifier: Apache-2.0
// Vault's HTTP API as keywardd serves it (docs/SERVICE.md): sys/health, token lookup-self and
// renew-self, and the Transit engine mapped onto keyrings. One call per request, made on the
// worker's thread as the token's principal (Keyward::act_as), so grants and the audit log see
// the caller, its address, user agent and request id.
#pragma once

#include <atomic>
#include <string>

#include "http_server.hpp"
#include "rotator.hpp"
#include "keyward/keyward.hpp"

namespace keyward::service {

struct TransitOptions {
    std::size_t max_batch_items = 1000;
    std::chrono::milliseconds auto_rotate_check{60000};  ///< 0: no auto-rotation
};

class Transit {
  public:
    Transit(Keyward& kw, TransitOptions options)
        : kw_(kw), options_(options), rotator_(kw, options.auto_rotate_check) {}

    /// The whole API: routes the request and answers it. Never throws.
    HttpResponse handle(HttpRequest& request);

  private:
    Keyward& kw_;
    TransitOptions options_;
    Rotator rotator_;
    std::atomic<std::uint64_t> request_counter_{0};
};

}  // namespace keyward::service
