// SPDX-License-Identifier: Apache-2.0
// keywardd's HTTP/1.1 side (Boost.Beast over Asio): listeners on TCP (TLS, or plain on loopback
// only) and Unix sockets, keep-alive, limits with clear answers (body 413, headers 431,
// connection cap, header and idle timeouts), and a worker pool for the handler so that no I/O
// thread ever waits on the token. Bodies live in memory that is wiped when freed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::service {

struct HttpRequest {
    std::string method;  ///< "GET", "POST", "LIST", "DELETE"...
    std::string path;    ///< the target's path, e.g. "/v1/transit/encrypt/k"
    std::string query;   ///< after '?', without it
    std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
    SecretBytes body;
    std::string client_address;  ///< "192.0.2.7:51234", or "unix" for a Unix socket
    /// The first header of that (lower-case) name, or "".
    std::string_view header(std::string_view name) const;
};

struct HttpResponse {
    unsigned status = 200;
    SecretBytes body;  ///< empty: no body (204)
    std::string content_type = "application/json";
    std::string principal;  ///< for the request log line only
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

struct ServerLimits {
    std::size_t max_body_bytes = 32u << 20;
    std::size_t max_header_bytes = 16u << 10;
    std::chrono::milliseconds header_timeout{10000};  ///< request line and headers
    std::chrono::milliseconds body_timeout{60000};    ///< the body, once the headers are in
    std::chrono::milliseconds idle_timeout{60000};    ///< between requests on a keep-alive
    std::chrono::milliseconds write_timeout{60000};
    std::size_t max_connections = 1024;
    std::size_t workers = 4;     ///< handler threads (token work)
    std::size_t io_threads = 1;  ///< HTTP threads
};

/// TLS files (PEM). client_ca, when set, asks clients for a certificate and verifies it against
/// that CA; a client without one is still served (its certificate is optional).
struct TlsFiles {
    std::string certificate, private_key, client_ca;
};

class HttpServer {
  public:
    HttpServer(ServerLimits limits, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Listens on host:port; with tls == nullptr only a loopback address is accepted
    /// (Errc::bad_config otherwise, naming the address).
    Status listen_tcp(const std::string& host, std::uint16_t port, const TlsFiles* tls);
    /// Listens on a Unix socket at path (replacing a stale socket file), mode 0660.
    Status listen_unix(const std::string& path);
    /// The port a listener got (for port 0), in listen order.
    std::vector<std::uint16_t> bound_ports() const;

    /// Serves until SIGTERM or SIGINT (then drains: stops accepting, lets in-flight requests
    /// finish within drain_timeout, closes idle connections) and returns. SIGHUP reloads the
    /// TLS files (a failed reload keeps the old ones and logs why).
    void run(std::chrono::milliseconds drain_timeout);

    /// Requests served and waiting for a worker, for metrics.
    std::size_t queue_depth() const;

    /// Called on the I/O thread when draining begins (before in-flight requests finish), so
    /// that work they may be waiting on can stop.
    void on_drain(std::function<void()> fn) { on_drain_ = std::move(fn); }

    struct State;  ///< the listeners, sessions' shared state and pools (http_server.cpp)

  private:
    std::shared_ptr<State> state_;
    std::function<void()> on_drain_;
};

/// Whether host is a loopback address (127.0.0.0/8, ::1, "localhost").
bool is_loopback(const std::string& host);

}  // namespace keyward::service
