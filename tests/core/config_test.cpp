// SPDX-License-Identifier: Apache-2.0
// Config file reading: relative paths, PIN sources, and one-line errors naming the line.
#include <catch2/catch.hpp>
#include <fstream>

#include "keyward/config.hpp"
#include "support/test_env.hpp"

using namespace keyward;

namespace {

std::filesystem::path write_conf(const std::string& text) {
    auto dir = test::fresh_dir("config");
    std::ofstream(dir / "keyward.conf") << text;
    return dir / "keyward.conf";
}

}  // namespace

TEST_CASE("a config resolves relative paths against its own directory") {
    auto path = write_conf(
        "# comment\nmodule = /usr/lib/softhsm/libsofthsm2.so\ntoken = keyward\n"
        "pin = file:user.pin\ndatabase = keyward.db\nsofthsm2_conf = softhsm2.conf\n"
        "gcm_wrap_limit = 1000\n");
    auto cfg = load_config(path);
    REQUIRE(cfg.ok());
    CHECK(cfg->module == "/usr/lib/softhsm/libsofthsm2.so");
    CHECK(cfg->token == "keyward");
    CHECK(cfg->pin_source == "file:" + (path.parent_path() / "user.pin").string());
    CHECK(cfg->database == path.parent_path() / "keyward.db");
    CHECK(cfg->softhsm2_conf == path.parent_path() / "softhsm2.conf");
    CHECK(cfg->gcm_wrap_limit == 1000);
    CHECK_FALSE(cfg->reconnect_after_objects.has_value());  // the token decides
}

TEST_CASE("reconnect_after_objects takes a count, or 0 for never") {
    const std::string base = "module = /m.so\ntoken = t\npin = env:P\ndatabase = d.db\n";
    auto some = load_config(write_conf(base + "reconnect_after_objects = 250000\n"));
    REQUIRE(some.ok());
    CHECK(some->reconnect_after_objects == std::optional<std::uint64_t>(250000));
    auto never = load_config(write_conf(base + "reconnect_after_objects = 0\n"));
    REQUIRE(never.ok());
    CHECK(never->reconnect_after_objects == std::optional<std::uint64_t>(0));
    auto bad = load_config(write_conf(base + "reconnect_after_objects = -5\n"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code() == Errc::bad_config);
    CHECK_THAT(bad.error().message(), Catch::Contains(":5: reconnect_after_objects must be"));
}

TEST_CASE("busy_timeout_ms is one operation's wait for locks: 10 s unless set, 0 for none") {
    const std::string base = "module = /m.so\ntoken = t\npin = env:P\ndatabase = d.db\n";
    auto unset = load_config(write_conf(base));
    REQUIRE(unset.ok());
    CHECK(unset->busy_timeout_ms == 10000);
    auto some = load_config(write_conf(base + "busy_timeout_ms = 2500\n"));
    REQUIRE(some.ok());
    CHECK(some->busy_timeout_ms == 2500);
    auto none = load_config(write_conf(base + "busy_timeout_ms = 0\n"));
    REQUIRE(none.ok());
    CHECK(none->busy_timeout_ms == 0);
    for (const char* bad : {"-1", "1.5", "86400001", "99999999999999999999", "5s"}) {
        INFO(bad);
        auto r = load_config(write_conf(base + "busy_timeout_ms = " + bad + "\n"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::bad_config);
        CHECK_THAT(r.error().message(),
                   Catch::Contains(":5: busy_timeout_ms must be a whole number of milliseconds"));
    }
}

TEST_CASE("keywardd's connection timeouts: defaults, values, and under 100 ms refused") {
    const std::string base = "module = /m.so\ntoken = t\npin = env:P\ndatabase = d.db\n";
    auto unset = load_config(write_conf(base));
    REQUIRE(unset.ok());
    CHECK(unset->service.header_timeout_ms == 10000);
    CHECK(unset->service.idle_timeout_ms == 60000);
    CHECK(unset->service.write_timeout_ms == 60000);
    auto some = load_config(write_conf(base + "service_write_timeout_ms = 1500\n"
                                              "service_header_timeout_ms = 100\n"));
    REQUIRE(some.ok());
    CHECK(some->service.write_timeout_ms == 1500);
    CHECK(some->service.header_timeout_ms == 100);
    for (const char* key :
         {"service_header_timeout_ms", "service_idle_timeout_ms", "service_write_timeout_ms"}) {
        INFO(key);
        auto r = load_config(write_conf(base + key + " = 99\n"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::bad_config);
        CHECK_THAT(r.error().message(),
                   Catch::Contains(std::string(":5: ") + key + " must be at least 100"));
    }
}

TEST_CASE("keywardd's scheduling policy: batch by default, normal on request, nothing else") {
    const std::string base = "module = /m.so\ntoken = t\npin = env:P\ndatabase = d.db\n";
    auto unset = load_config(write_conf(base));
    REQUIRE(unset.ok());
    CHECK(unset->service.batch_scheduling);
    auto normal = load_config(write_conf(base + "service_scheduling = normal\n"));
    REQUIRE(normal.ok());
    CHECK_FALSE(normal->service.batch_scheduling);
    auto batch = load_config(write_conf(base + "service_scheduling = normal\n"
                                               "service_scheduling = batch\n"));
    REQUIRE(batch.ok());
    CHECK(batch->service.batch_scheduling);
    for (const char* bad : {"fifo", "Batch", "idle", "1"}) {
        INFO(bad);
        auto r = load_config(write_conf(base + "service_scheduling = " + bad + "\n"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == Errc::bad_config);
        CHECK_THAT(r.error().message(),
                   Catch::Contains(":5: service_scheduling must be batch or normal"));
    }
}

TEST_CASE("config errors are bad_config and name the line") {
    const std::string base = "module = /m.so\ntoken = t\npin = env:P\ndatabase = d.db\n";
    struct Case {
        std::string text;
        std::string expect;
    };
    for (const auto& c : std::vector<Case>{
             {base + "colour = blue\n", ":5: unknown key \"colour\""},
             {base + "just words\n", ":5: expected key = value"},
             {base + "gcm_wrap_limit = -1\n", "positive whole number"},
             {"module = /m.so\ntoken = t\npin = 1234\ndatabase = d\n", ":3: pin must be env:VAR"},
             {"module = /m.so\ntoken = t\ndatabase = d\n", "missing pin"},
             {"token = t\npin = prompt\ndatabase = d\n", "missing module"},
             {"module = /m.so\npin = prompt\ndatabase = d\n", "missing token"},
             {"module = /m.so\ntoken = t\npin = prompt\n", "missing database"},
             {"module =\n", ":1: module has no value"},
         }) {
        auto cfg = load_config(write_conf(c.text));
        INFO(c.text);
        REQUIRE_FALSE(cfg.ok());
        CHECK(cfg.error().code() == Errc::bad_config);
        CHECK(exit_code(cfg.error().code()) == 2);
        CHECK_THAT(cfg.error().message(), Catch::Contains(c.expect));
    }
}

TEST_CASE("a config that does not exist is a usage error that says how to make one") {
    auto r = locate_config(std::filesystem::path("/nonexistent/keyward.conf"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == Errc::bad_config);
    auto cfg = load_config("/nonexistent/keyward.conf");
    CHECK_THAT(cfg.error().message(), Catch::Contains("keyward init"));
}
