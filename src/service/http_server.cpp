// SPDX-License-Identifier: Apache-2.0
// The HTTP side of keywardd (see http_server.hpp). One session per connection, on its own
// strand; a request is handed to the worker pool. On plain sockets the worker writes the
// answer and arms the next read itself (answer_from_worker); TLS answers are posted back to
// the strand. Timeouts are per-connection deadlines that a periodic sweep enforces.
#include "http_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <list>
#include <mutex>
#include <optional>

#include "request_log.hpp"

namespace keyward::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

using Body = http::vector_body<std::uint8_t, ZeroizingAllocator<std::uint8_t>>;
using Buffer = beast::basic_flat_buffer<ZeroizingAllocator<char>>;

std::string_view HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k == name) return v;
    }
    return {};
}

bool is_loopback(const std::string& host) {
    if (host == "localhost") return true;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    return !ec && address.is_loopback();
}

namespace {

SecretBytes error_body(std::string_view message) {
    std::string text = "{\"errors\":[\"" + std::string(message) + "\"]}\n";
    return SecretBytes(text.begin(), text.end());
}

}  // namespace

// What the deadline sweeper and the drain need of a connection, whatever its stream type.
// Timeouts are kept as one deadline per connection that a periodic sweep enforces, not as
// Beast's per-operation timers: those cost a timer update (often a timerfd_settime system
// call) and a cancelled-wait handler for every read and write, several per request.
class SessionBase {
  public:
    virtual ~SessionBase() = default;
    /// On the session's strand: cut the current wait if the deadline has passed meanwhile.
    virtual void expire() = 0;
    /// On the session's strand: close it if it is waiting for a request (drain).
    virtual void close_if_idle() = 0;
    /// steady_clock nanoseconds after which the current wait is cut; 0 while there is none
    /// (the request is with a worker).
    std::atomic<std::int64_t> deadline{0};
};

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
    ServerLimits limits;
    Handler handler;
    asio::io_context ioc;
    asio::thread_pool workers;
    std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
    std::vector<std::shared_ptr<asio::ssl::context>> tls_of_acceptor;  // nullptr: plain
    std::vector<TlsFiles> tls_files;
    std::vector<std::unique_ptr<local::acceptor>> unix_acceptors;
    std::vector<std::string> unix_paths;  // removed when the server stops
    std::vector<std::uint16_t> ports;
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> draining{false};
    std::mutex tls_mutex;
    // Every open connection, for the deadline sweep and the drain.
    std::mutex sessions_mutex;
    std::list<std::weak_ptr<SessionBase>> sessions;
    RequestLog log;

    State(ServerLimits l, Handler h)
        : limits(l), handler(std::move(h)), workers(l.workers == 0 ? 1 : l.workers) {}
};

namespace {

// TLS 1.2 and 1.3 only, the certificate and key from files, an optional client CA.
Result<std::shared_ptr<asio::ssl::context>> make_tls(const TlsFiles& files) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CLEANSE_PLAINTEXT);
    // Required for session resumption once client certificates are asked for.
    static const unsigned char kSessionContext[] = "keywardd";
    SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext,
                                   sizeof kSessionContext - 1);
    ctx->use_certificate_chain_file(files.certificate, ec);
    if (ec) {
        return Error(Errc::bad_config,
                     "cannot read tls_cert " + files.certificate + ": " + ec.message());
    }
    ctx->use_private_key_file(files.private_key, asio::ssl::context::pem, ec);
    if (ec) {
        return Error(Errc::bad_config,
                     "cannot read tls_key " + files.private_key + ": " + ec.message());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        return Error(Errc::bad_config, "tls_key " + files.private_key +
                                           " does not match the certificate in " +
                                           files.certificate);
    }
    if (!files.client_ca.empty()) {
        ctx->load_verify_file(files.client_ca, ec);
        if (ec) {
            return Error(Errc::bad_config,
                         "cannot read tls_client_ca " + files.client_ca + ": " + ec.message());
        }
        ctx->set_verify_mode(asio::ssl::verify_peer);  // optional: no fail_if_no_peer_cert
        SSL_CTX_set_client_CA_list(ctx->native_handle(),
                                   SSL_load_client_CA_file(files.client_ca.c_str()));
    }
    return ctx;
}

constexpr std::size_t kReadReserve = 8u << 10;
// How long a connection is drained after its last answer (see Session::linger).
constexpr std::chrono::milliseconds kLingerTime{2000};

template <class Stream>
auto& lowest(Stream& s) {
    return beast::get_lowest_layer(s);
}

// One connection: read a request (headers within header_timeout, then the body), hand it to
// a worker, write the response, and again while keep-alive holds.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
    static constexpr bool kAnswerFromWorker =
        !std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;

  public:
    Session(std::shared_ptr<HttpServer::State> state, Stream stream, std::string peer)
        : state_(std::move(state)), stream_(std::move(stream)), peer_(std::move(peer)) {
        // Room for a typical request in one read: Beast otherwise reads 512 bytes at a time,
        // two system calls for an encrypt request.
        buffer_.reserve(kReadReserve);
    }

    ~Session() override {
        if (registered_) {
            std::lock_guard lock(state_->sessions_mutex);
            state_->sessions.erase(entry_);
        }
        state_->connections.fetch_sub(1);
    }

    // From the accept handler, which runs outside the session's strand.
    void start() {
        asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
            try {
                self->begin();
            } catch (...) {
                self->close();
            }
        });
    }

  private:
    void begin() {
        {
            std::lock_guard lock(state_->sessions_mutex);
            state_->sessions.push_front(this->weak_from_this());
            entry_ = state_->sessions.begin();
            registered_ = true;
        }
        if constexpr (kAnswerFromWorker) {
            // A worker's write must return at once when the client does not read.
            beast::error_code ec;
            lowest(stream_).socket().non_blocking(true, ec);
            if (ec) return close();
        }
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            // A client that never finishes its handshake counts as idle for the drain.
            waiting_for_request_.store(true);
            if (state_->draining.load()) return close();
            arm(state_->limits.header_timeout);
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (ec) return;  // a failed handshake just closes
                                        self->read();
                                    });
        } else {
            read();
        }
    }

    // On the strand, or on a worker right after it wrote an answer (answer_from_worker). In
    // the second case nothing after the initiation may touch the session: the read may
    // complete on the I/O thread at once.
    void read() {
        // Waiting is announced before draining is checked, so that a drain either is seen
        // here or sees this session waiting (and the sweep closes it).
        waiting_for_request_.store(true);
        if (state_->draining.load()) return linger();
        parser_.emplace();
        // Beast's header limit does not cover chunk-size lines and trailers: the read buffer's
        // own cap does (body bytes go straight into the body, never into this buffer).
        buffer_.max_size(state_->limits.max_header_bytes + (64u << 10));
        parser_->body_limit(state_->limits.max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(state_->limits.max_header_bytes));
        arm(first_ ? state_->limits.header_timeout : state_->limits.idle_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = this->shared_from_this()](
                                    beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        waiting_for_request_.store(false);
        first_ = false;
        if (ec) return refuse(ec);
        started_ = std::chrono::steady_clock::now();
        arm(state_->limits.body_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                             self->on_body(e);
                         });
    }

    // A request that could not be read: a clear answer where HTTP allows one, then close.
    void refuse(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::eof ||
            ec == asio::error::connection_reset) {
            return close();
        }
        head_ = false;  // a HEAD before this one on the connection: this answer has its body
        unsigned status = 400;
        std::string_view why = "malformed HTTP request";
        if (ec == http::error::body_limit) {
            status = 413;
            why = "request body too large";
        } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            status = 431;
            why = "request headers too large";
        }
        HttpResponse r;
        r.status = status;
        r.body = error_body(why);
        keep_alive_ = false;
        method_ = "-";
        path_ = "-";
        write(std::move(r));
    }

    void on_body(beast::error_code ec) {
        if (ec) return refuse(ec);
        auto msg = parser_->release();
        HttpRequest req;
        req.method = std::string(msg.method_string());
        const std::string target(msg.target());
        const auto q = target.find('?');
        req.path = target.substr(0, q);
        if (q != std::string::npos) req.query = target.substr(q + 1);
        for (const auto& field : msg) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            req.headers.emplace_back(std::move(name), std::string(field.value()));
        }
        req.body = std::move(msg.body());
        req.client_address = peer_;
        head_ = req.method == "HEAD";
        if (head_) req.method = "GET";
        keep_alive_ = msg.keep_alive() && !state_->draining.load();
        method_ = req.method;
        path_ = req.path;
        deadline.store(0);  // no timeout while a worker has it: the drain deadline bounds it
        state_->queued.fetch_add(1);
        asio::post(state_->workers, [self = this->shared_from_this(),
                                     req = std::move(req)]() mutable {
            // Nothing may leave a pool thread: an exception there ends the process.
            HttpResponse r;
            bool handled = true;
            try {
                r = self->state_->handler(req);
            } catch (...) {
                handled = false;
            }
            self->state_->queued.fetch_sub(1);
            try {
                if (!handled) {
                    r = HttpResponse{};
                    r.status = 500;
                    r.body = error_body("internal error");
                }
                if constexpr (kAnswerFromWorker) {
                    answer_from_worker(self, std::move(r));
                } else {
                    asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
                        try {
                            self->write(std::move(r));
                        } catch (...) {
                            self->close();  // never stops the server
                        }
                    });
                }
            } catch (...) {
                // Out of memory even for the answer: the session's last reference
                // goes with this thread's, and its socket closes.
            }
        });
    }

    // Plain TCP and Unix sockets: the worker that made the answer writes it and starts
    // reading the next request itself, without waking the I/O thread in between (handing the
    // answer back cost a wake-up and a context switch per request; docs/PERFORMANCE.md). The
    // socket is non-blocking: what a slow reader does not take at once is written from the
    // strand under the write timeout. TLS answers go through the strand, where the TLS
    // stream lives.
    static void answer_from_worker(const std::shared_ptr<Session>& self, HttpResponse r) {
        bool rest_on_strand = false;
        bool failed = false;
        {
            std::lock_guard lock(self->io_mutex_);
            try {
                self->prepare(std::move(r));
                self->serializer_.emplace(*self->response_);
                beast::error_code ec;
                http::write(lowest(self->stream_).socket(), *self->serializer_, ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again) {
                    rest_on_strand = true;
                } else {
                    self->finish(ec);
                }
            } catch (...) {
                failed = true;
            }
        }
        if (rest_on_strand) {
            asio::post(self->stream_.get_executor(), [self] {
                try {
                    self->write_rest();
                } catch (...) {
                    self->close();
                }
            });
        } else if (failed) {
            asio::post(self->stream_.get_executor(), [self] { self->close(); });
        }
    }

    // On the strand: an answer (TLS, or a refusal) written asynchronously.
    void write(HttpResponse r) {
        prepare(std::move(r));
        serializer_.emplace(*response_);
        write_rest();
    }

    // Piece by piece, so that the write timeout runs between two pieces, as nginx's
    // send_timeout does: a client that reads a large answer slowly but steadily is served,
    // one that stops reading is cut off.
    void write_rest() {
        arm(state_->limits.write_timeout);
        http::async_write_some(
            stream_, *serializer_,
            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                try {
                    if (!ec && !self->serializer_->is_done()) return self->write_rest();
                    self->finish(ec);
                } catch (...) {
                    self->close();  // nothing an answer does may stop the server
                }
            });
    }

    void prepare(HttpResponse r) {
        principal_ = r.principal;
        status_ = r.status;
        response_.emplace();
        response_->result(r.status);
        response_->version(11);
        response_->set(http::field::server, "keywardd");
        // Answers may carry plaintext or data keys: no cache may keep them (as Vault says).
        response_->set(http::field::cache_control, "no-store");
        // 1xx, 204 and 304 have no body, and Beast refuses to size one for them.
        const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
        if (bodyless) r.body.clear();
        if (!r.body.empty()) response_->set(http::field::content_type, r.content_type);
        const std::size_t length = r.body.size();
        if (head_) r.body.clear();  // HEAD: the headers of a GET, no body
        response_->body() = std::move(r.body);
        response_->keep_alive(keep_alive_ && !state_->draining.load());
        if (head_) {
            response_->content_length(length);
        } else if (!bodyless) {
            response_->prepare_payload();
        }
    }

    // The answer is written (or failed): log it, then the next request or close.
    void finish(beast::error_code ec) {
        if (method_ != "-") {
            state_->log.request(method_, path_, status_,
                                std::chrono::steady_clock::now() - started_, principal_);
        }
        const bool again = !ec && response_->keep_alive();
        serializer_.reset();
        response_.reset();
        if (again) return read();
        if (ec) return close();
        linger();
    }

    // After the last answer on a connection: stop sending, so the client sees the answer end,
    // then read and throw away what it still sends for at most kLingerTime before closing.
    // Closing with unread input makes the kernel reset the connection and discard what of
    // the answer is still in the send queue (a large answer to a client behind on reading,
    // with a request pipelined after "Connection: close"; tested).
    void linger() {
        waiting_for_request_.store(false);
        beast::error_code ec;
        lowest(stream_).socket().shutdown(asio::socket_base::shutdown_send, ec);
        if (ec) return close();
        arm(kLingerTime);
        discard();
    }

    void discard() {
        buffer_.consume(buffer_.size());
        const auto space = buffer_.prepare(4096);
        lowest(stream_).async_read_some(
            space, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return self->close();  // the client's end, or kLingerTime is up
                try {
                    self->discard();
                } catch (...) {
                    self->close();
                }
            });
    }

    void close() {
        waiting_for_request_.store(false);
        deadline.store(0);
        beast::error_code ec;
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            lowest(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        } else {
            lowest(stream_).socket().shutdown(asio::socket_base::shutdown_both, ec);
        }
        lowest(stream_).close();
    }

    void arm(std::chrono::milliseconds timeout) {
        deadline.store(steady_now_ns() +
                       std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    }

    // Both run on the strand and take io_mutex_, so that they never touch the socket while a
    // worker writes to it or starts the next read (answer_from_worker).
    void expire() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            std::lock_guard lock(self->io_mutex_);
            const std::int64_t at = self->deadline.load();
            if (at == 0 || at > steady_now_ns()) return;  // re-armed or handed on meanwhile
            lowest(self->stream_).cancel();  // the pending read or write ends; the session closes
        });
    }

    void close_if_idle() override {
        // Only if still waiting for a request when this runs: one that has arrived meanwhile
        // is answered.
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            std::lock_guard lock(self->io_mutex_);
            if (self->waiting_for_request_.load()) lowest(self->stream_).cancel();
        });
    }

    std::shared_ptr<HttpServer::State> state_;
    Stream stream_;
    std::string peer_;
    Buffer buffer_;
    std::optional<http::request_parser<Body>> parser_;
    std::optional<http::response<Body>> response_;
    std::optional<http::response_serializer<Body>> serializer_;
    std::mutex io_mutex_;  // see answer_from_worker, expire and close_if_idle
    bool first_ = true;
    bool keep_alive_ = false;
    bool head_ = false;
    std::string method_, path_, principal_;
    unsigned status_ = 0;
    std::chrono::steady_clock::time_point started_{};
    std::atomic<bool> waiting_for_request_{false};
    std::list<std::weak_ptr<SessionBase>>::iterator entry_;
    bool registered_ = false;
};

// The open sessions. Taken under the lock and used outside it: the last reference to a
// session may be dropped here, and its destructor takes the lock.
std::vector<std::shared_ptr<SessionBase>> open_sessions(HttpServer::State& state) {
    std::vector<std::shared_ptr<SessionBase>> all;
    std::lock_guard lock(state.sessions_mutex);
    all.reserve(state.sessions.size());
    for (const auto& weak : state.sessions) {
        if (auto session = weak.lock()) all.push_back(std::move(session));
    }
    return all;
}

void sweep(const std::shared_ptr<HttpServer::State>& state) {
    const std::int64_t now = steady_now_ns();
    const bool draining = state->draining.load();
    for (const auto& session : open_sessions(*state)) {
        const std::int64_t at = session->deadline.load();
        if (at != 0 && at <= now) session->expire();
        // A session that began waiting for a request as the drain began is closed here.
        if (draining) session->close_if_idle();
    }
}

// How often deadlines are checked: a tenth of the shortest timeout, between 10 and 100 ms.
std::chrono::milliseconds sweep_period(const ServerLimits& l) {
    const auto shortest =
        std::min({l.header_timeout, l.body_timeout, l.idle_timeout, l.write_timeout});
    return std::clamp(shortest / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(100));
}

void schedule_sweep(const std::shared_ptr<HttpServer::State>& state,
                    const std::shared_ptr<asio::steady_timer>& timer) {
    timer->expires_after(sweep_period(state->limits));
    timer->async_wait([state, timer](beast::error_code ec) {
        if (ec) return;
        sweep(state);
        // Once draining and every connection is gone the sweep stops, so that run() returns.
        if (state->draining.load() && state->connections.load() == 0) return;
        schedule_sweep(state, timer);
    });
}

void retry_accept(const std::shared_ptr<HttpServer::State>& state, std::function<void()> again) {
    auto timer = std::make_shared<asio::steady_timer>(state->ioc, std::chrono::milliseconds(100));
    timer->async_wait([timer, again = std::move(again)](beast::error_code) { again(); });
}

std::string peer_of(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "-";
    const std::string address = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

void accept_unix(const std::shared_ptr<HttpServer::State>& state, std::size_t index);

void accept_tcp(const std::shared_ptr<HttpServer::State>& state, std::size_t index) {
    auto& acceptor = *state->tcp_acceptors[index];
    acceptor.async_accept(
        asio::make_strand(state->ioc), [state, index](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || state->draining.load()) return;
            if (ec) {
                // Out of descriptors (EMFILE) and the like: wait rather than spin.
                return retry_accept(state, [state, index] { accept_tcp(state, index); });
            }
            {
                if (state->connections.fetch_add(1) >= state->limits.max_connections) {
                    state->connections.fetch_sub(1);  // over the cap: closed at once
                } else {
                    std::string peer = peer_of(socket);
                    std::shared_ptr<asio::ssl::context> tls;
                    {
                        std::lock_guard lock(state->tls_mutex);
                        tls = state->tls_of_acceptor[index];
                    }
                    if (tls) {
                        using S = beast::ssl_stream<beast::tcp_stream>;
                        std::make_shared<Session<S>>(
                            state, S(beast::tcp_stream(std::move(socket)), *tls), std::move(peer))
                            ->start();
                    } else {
                        std::make_shared<Session<beast::tcp_stream>>(
                            state, beast::tcp_stream(std::move(socket)), std::move(peer))
                            ->start();
                    }
                }
            }
            accept_tcp(state, index);
        });
}

void accept_unix(const std::shared_ptr<HttpServer::State>& state, std::size_t index) {
    auto& acceptor = *state->unix_acceptors[index];
    acceptor.async_accept(
        asio::make_strand(state->ioc), [state, index](beast::error_code ec, local::socket socket) {
            if (ec == asio::error::operation_aborted || state->draining.load()) {
                return;
            }
            if (ec) return retry_accept(state, [state, index] { accept_unix(state, index); });
            {
                if (state->connections.fetch_add(1) >= state->limits.max_connections) {
                    state->connections.fetch_sub(1);
                } else {
                    using S = beast::basic_stream<local>;
                    std::make_shared<Session<S>>(state, S(std::move(socket)), "unix")->start();
                }
            }
            accept_unix(state, index);
        });
}

}  // namespace

HttpServer::HttpServer(ServerLimits limits, Handler handler)
    : state_(std::make_shared<State>(limits, std::move(handler))) {}

HttpServer::~HttpServer() {
    state_->workers.join();
}

Status HttpServer::listen_tcp(const std::string& host, std::uint16_t port, const TlsFiles* tls) {
    if (tls == nullptr && !is_loopback(host)) {
        return Error(Errc::bad_config,
                     "refusing plain HTTP on " + host + ":" + std::to_string(port) +
                         ": only loopback addresses and Unix sockets may go without TLS; set "
                         "tls_cert and tls_key");
    }
    std::shared_ptr<asio::ssl::context> ctx;
    if (tls != nullptr) {
        KW_TRY(ctx, make_tls(*tls));
    }
    boost::system::error_code ec;
    const std::string bind_host = host == "localhost" ? "127.0.0.1" : host;
    auto address = asio::ip::make_address(bind_host, ec);
    if (ec) return Error(Errc::bad_config, "listen address \"" + host + "\" is not an IP address");
    auto acceptor = std::make_unique<tcp::acceptor>(state_->ioc);
    tcp::endpoint endpoint(address, port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return Error(Errc::io_error,
                     "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    state_->ports.push_back(acceptor->local_endpoint().port());
    state_->tcp_acceptors.push_back(std::move(acceptor));
    state_->tls_of_acceptor.push_back(ctx);
    state_->tls_files.push_back(tls != nullptr ? *tls : TlsFiles{});
    return {};
}

Status HttpServer::listen_unix(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return Error(Errc::bad_config, "socket " + path + " exists and is not a socket");
        }
        ::unlink(path.c_str());  // a stale socket from an earlier run
    }
    boost::system::error_code ec;
    auto acceptor = std::make_unique<local::acceptor>(state_->ioc);
    local::endpoint endpoint(path);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(Errc::io_error, "cannot listen on socket " + path + ": " + ec.message());
    ::chmod(path.c_str(), 0660);
    state_->unix_acceptors.push_back(std::move(acceptor));
    state_->unix_paths.push_back(path);
    return {};
}

std::vector<std::uint16_t> HttpServer::bound_ports() const {
    return state_->ports;
}

std::size_t HttpServer::queue_depth() const {
    return state_->queued.load();
}

void HttpServer::run(std::chrono::milliseconds drain_timeout) {
    auto state = state_;
    for (std::size_t i = 0; i < state->tcp_acceptors.size(); ++i) accept_tcp(state, i);
    for (std::size_t i = 0; i < state->unix_acceptors.size(); ++i) accept_unix(state, i);
    auto sweeper = std::make_shared<asio::steady_timer>(state->ioc);
    schedule_sweep(state, sweeper);

    asio::signal_set signals(state->ioc, SIGTERM, SIGINT, SIGHUP);
    asio::steady_timer drain_deadline(state->ioc);
    std::function<void(beast::error_code, int)> on_signal = [&](beast::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            for (std::size_t i = 0; i < state->tls_files.size(); ++i) {
                if (state->tls_files[i].certificate.empty()) continue;
                auto fresh = make_tls(state->tls_files[i]);
                if (!fresh.ok()) {
                    state->log.line("TLS reload failed, keeping the old files: " +
                                    fresh.error().message());
                    continue;
                }
                std::lock_guard lock(state->tls_mutex);
                state->tls_of_acceptor[i] = *fresh;
            }
            state->log.line("TLS files reloaded");
            signals.async_wait(on_signal);
            return;
        }
        state->log.line("draining (signal " + std::to_string(sig) + ")");
        state->draining.store(true);
        if (on_drain_) on_drain_();
        for (auto& a : state->tcp_acceptors) a->close();
        for (auto& a : state->unix_acceptors) a->close();
        for (const auto& session : open_sessions(*state)) session->close_if_idle();
        drain_deadline.expires_after(drain_timeout);
        drain_deadline.async_wait([&](beast::error_code e) {
            if (!e) state->ioc.stop();  // in-flight requests past the deadline are dropped
        });
        signals.cancel();
    };
    signals.async_wait(on_signal);

    // The deadline timer keeps run() alive only while something is pending: when the last
    // session ends, cancel it so that run() returns at once. The same thread writes the
    // request log every 20 ms.
    std::thread watcher([&] {
        while (!state->ioc.stopped()) {
            if (state->draining.load() && state->connections.load() == 0) {
                asio::post(state->ioc, [&] { drain_deadline.cancel(); });
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            state->log.flush();
        }
    });
    std::vector<std::thread> io;
    for (std::size_t i = 1; i < state->limits.io_threads; ++i) {
        io.emplace_back([&] { state->ioc.run(); });
    }
    state->ioc.run();
    for (auto& t : io) t.join();
    watcher.join();
    // A handler still running past the drain deadline finishes before run() returns: the
    // caller may then tear down what handlers use.
    state->workers.join();
    for (const auto& path : state->unix_paths) ::unlink(path.c_str());
    state->log.flush();
}

}  // namespace keyward::service
