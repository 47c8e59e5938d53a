// SPDX-License-Identifier: Apache-2.0
// keywardd: Vault's Transit API over HTTP, backed by keyward (docs/SERVICE.md).
//
// usage: keywardd --config keyward.conf [--listen ADDR:PORT]... [--socket PATH]
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http_server.hpp"
#include "keyward/keyward.hpp"
#include "keyward/version.hpp"
#include "scheduling.hpp"
#include "transit.hpp"

namespace {

using namespace keyward;

constexpr const char* kUsage =
    "usage: keywardd --config keyward.conf [--listen ADDR:PORT]... [--socket PATH]\n"
    "Serves Vault's Transit API (docs/SERVICE.md). Plain HTTP only on loopback addresses and\n"
    "Unix sockets; any other address needs tls_cert and tls_key in the config.\n";

int fail(const std::string& message, int code) {
    std::fprintf(stderr, "keywardd: %s\n", message.c_str());
    return code;
}

// "127.0.0.1:8200", "[::1]:8200", "localhost:8200" -> host and port.
Result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        return Error(Errc::usage, "listen address \"" + text + "\" is not ADDR:PORT");
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const std::string port_text = text.substr(colon + 1);
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
        return Error(Errc::usage, "listen address \"" + text + "\" has no port number");
    }
    const unsigned long port = std::stoul(port_text);
    if (port > 65535) return Error(Errc::usage, "port " + port_text + " is out of range");
    return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<std::string> config_path;
    std::vector<std::string> listen;
    std::optional<std::string> socket;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--config" && has_value) {
            config_path = argv[++i];
        } else if (a == "--listen" && has_value) {
            listen.emplace_back(argv[++i]);
        } else if (a == "--socket" && has_value) {
            socket = argv[++i];
        } else if (a == "--version") {
            std::printf("keywardd %s\n", version());
            return 0;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            std::fputs(kUsage, stderr);
            return 2;
        }
    }
    auto located = locate_config(config_path ? std::optional<std::filesystem::path>(*config_path)
                                             : std::nullopt);
    if (!located.ok()) return fail(located.error().message(), 2);
    auto config = load_config(*located);
    if (!config.ok()) return fail(config.error().message(), 2);
    if (listen.empty()) listen = config->service.listen;
    if (!socket && !config->service.socket.empty()) socket = config->service.socket.string();
    if (listen.empty() && !socket) {
        return fail(
            "nothing to listen on: give --listen ADDR:PORT or --socket PATH (or listen "
            "= / socket = in the config)",
            2);
    }

    const auto& s = config->service;
    // Before the first thread starts, so that every thread inherits the policy.
    if (s.batch_scheduling) {
        if (auto why = service::use_batch_scheduling()) {
            std::fprintf(stderr, "keywardd: %s\n", why->c_str());
        }
    }
    service::ServerLimits limits;
    limits.max_connections = s.max_connections;
    limits.header_timeout = std::chrono::milliseconds(s.header_timeout_ms);
    limits.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
    limits.write_timeout = std::chrono::milliseconds(s.write_timeout_ms);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    limits.workers = s.workers != 0 ? s.workers : 2 * cores;
    limits.io_threads = 1;

    // Listeners first: a refused address (plain HTTP off loopback) stops start-up before the
    // token is touched.
    std::unique_ptr<service::Transit> transit;
    service::HttpServer server(limits,
                               [&](service::HttpRequest& req) { return transit->handle(req); });
    std::optional<service::TlsFiles> tls;
    if (!s.tls_cert.empty() || !s.tls_key.empty()) {
        if (s.tls_cert.empty() || s.tls_key.empty()) {
            return fail("TLS needs both tls_cert and tls_key in the config", 2);
        }
        tls = service::TlsFiles{s.tls_cert.string(), s.tls_key.string(), s.tls_client_ca.string()};
    }
    for (const auto& l : listen) {
        auto where = split_listen(l);
        if (!where.ok()) return fail(where.error().message(), 2);
        auto listening = server.listen_tcp(where->first, where->second, tls ? &*tls : nullptr);
        if (!listening.ok()) return fail(listening.error().message(), 2);
    }
    if (socket) {
        auto listening = server.listen_unix(*socket);
        if (!listening.ok()) return fail(listening.error().message(), 2);
    }

    auto kw = Keyward::open(*config);
    if (!kw.ok()) return fail(kw.error().message(), exit_code(kw.error().code()));
    service::TransitOptions options;
    options.max_batch_items = s.max_batch_items;
    options.auto_rotate_check = std::chrono::milliseconds(s.auto_rotate_check_ms);
    options.queue_depth = [&server] { return server.queue_depth(); };
    transit = std::make_unique<service::Transit>(**kw, options);
    server.on_drain([&transit] { transit->begin_shutdown(); });

    const auto ports = server.bound_ports();
    for (std::size_t i = 0; i < ports.size(); ++i) {
        std::fprintf(stderr, "keywardd: listening on %s (port %u)%s\n", listen[i].c_str(),
                     static_cast<unsigned>(ports[i]), tls ? " with TLS" : "");
    }
    if (socket) std::fprintf(stderr, "keywardd: listening on %s\n", socket->c_str());
    server.run(std::chrono::milliseconds(s.drain_timeout_ms));
    transit.reset();
    auto flushed = (*kw)->flush_audit();
    if (!flushed.ok()) return fail("audit entries not flushed: " + flushed.error().message(), 1);
    std::fprintf(stderr, "keywardd: stopped\n");
    return 0;
}
