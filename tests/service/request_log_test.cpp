// SPDX-License-Identifier: Apache-2.0
// keywardd's request log: the line's exact shape, order with other lines, and what happens
// when lines come faster than stderr takes them (dropped and counted, never blocking).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "request_log.hpp"

using keyward::service::RequestLog;

namespace {

// A pipe whose read end is drained after the writes.
struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() { REQUIRE(::pipe(fd) == 0); }
    ~Pipe() {
        if (fd[0] >= 0) ::close(fd[0]);
        if (fd[1] >= 0) ::close(fd[1]);
    }
    std::string drain() {
        ::close(fd[1]);
        fd[1] = -1;
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd[0], buf, sizeof buf)) > 0)
            out.append(buf, static_cast<std::size_t>(n));
        return out;
    }
};

}  // namespace

TEST_CASE("a request line: method, path, status, duration, principal or '-'") {
    Pipe p;
    {
        RequestLog log(p.fd[1]);
        log.request("POST", "/v1/transit/encrypt/k", 200, std::chrono::microseconds(1250), "app");
        log.request("GET", "/v1/sys/health", 200, std::chrono::microseconds(40), "");
        log.flush();
    }
    CHECK(p.drain() ==
          "keywardd: POST /v1/transit/encrypt/k 200 1.2ms app\n"
          "keywardd: GET /v1/sys/health 200 0.0ms -\n");
}

TEST_CASE("nothing is written before a flush; other lines come after what waits") {
    Pipe p;
    ::fcntl(p.fd[0], F_SETFL, O_NONBLOCK);
    RequestLog log(p.fd[1]);
    log.request("GET", "/a", 200, std::chrono::milliseconds(1), "x");
    char c;
    CHECK(::read(p.fd[0], &c, 1) == -1);  // still waiting
    log.line("draining (signal 15)");
    ::fcntl(p.fd[0], F_SETFL, 0);
    char buf[256];
    const ssize_t n = ::read(p.fd[0], buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n)) ==
          "keywardd: GET /a 200 1.0ms x\nkeywardd: draining (signal 15)\n");
}

TEST_CASE("past the cap lines are dropped and counted, and the count is logged") {
    Pipe p;
    {
        RequestLog log(p.fd[1], 100);  // room for two 40-byte lines
        for (int i = 0; i < 5; ++i) {
            log.request("GET", "/v1/sys/health", 200, std::chrono::milliseconds(1), "");
        }
        log.flush();
    }
    CHECK(p.drain() ==
          "keywardd: GET /v1/sys/health 200 1.0ms -\n"
          "keywardd: GET /v1/sys/health 200 1.0ms -\n"
          "keywardd: 3 request log lines dropped (stderr too slow)\n");
}
