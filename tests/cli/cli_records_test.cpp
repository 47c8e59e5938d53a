// SPDX-License-Identifier: Apache-2.0
// put, get and list through the real binary: stored envelopes open outside the record API, the
// database never holds a value in the clear, and concurrent writers lose nothing.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;

TEST_CASE("put then get returns the value; get --envelope opens with the record context") {
    auto& s = CliSetup::shared();
    auto put = s.kw.run({"put", "tenant1/stripe/api", "--kind", "api_key"}, "sk_live_123");
    REQUIRE(put.exit_code == 0);
    CHECK(put.out == "stored tenant1/stripe/api version 1\n");
    CHECK(s.kw.run({"get", "tenant1/stripe/api"}).out == "sk_live_123");
    auto env = s.kw.run({"get", "tenant1/stripe/api", "--envelope"});
    REQUIRE(env.exit_code == 0);
    CHECK_THAT(env.out, Catch::StartsWith("kwe1:"));
    CHECK(s.kw.run({"open", "--context", "record:tenant1/stripe/api#1"}, env.out).out ==
          "sk_live_123");
    auto second = s.kw.run(
        {"--json", "put", "tenant1/stripe/api", "--kind", "api_key", "--expires", "2031-01-01"},
        "sk_live_456");
    CHECK(second.out ==
          "{\"record\":\"tenant1/stripe/api\",\"kind\":\"api_key\",\"version\":2,"
          "\"expires_at\":\"2031-01-01T00:00:00Z\"}\n");
    CHECK(s.kw.run({"get", "tenant1/stripe/api", "--version", "1"}).out == "sk_live_123");
    // --json: one document, the value in base64, as `open --json` does.
    CHECK(s.kw.run({"--json", "get", "tenant1/stripe/api"}).out ==
          "{\"record\":\"tenant1/stripe/api\",\"value_b64\":\"c2tfbGl2ZV80NTY=\",\"bytes\":11}\n");
    CHECK(s.kw.run({"--json", "get", "tenant1/stripe/api", "--version", "1"}).out ==
          "{\"record\":\"tenant1/stripe/api\",\"value_b64\":\"c2tfbGl2ZV8xMjM=\",\"bytes\":11}\n");
    const auto out_file = s.dir / "got-json.bin";
    auto to_file = s.kw.run({"--json", "get", "tenant1/stripe/api", "--out", out_file.string()});
    CHECK(to_file.out == "{\"record\":\"tenant1/stripe/api\",\"out\":\"" + out_file.string() +
                             "\",\"bytes\":11}\n");
    CHECK(read_file(out_file) == "sk_live_456");
}

TEST_CASE("record errors have one line and CLI.md's exit codes") {
    auto& s = CliSetup::shared();
    struct Case {
        std::vector<std::string> args;
        int exit;
        const char* says;
    };
    for (const auto& c : std::vector<Case>{
             {{"put", "Bad/name", "--kind", "api_key"}, 2, "invalid namespace"},
             {{"put", "ns/name", "--kind", "password"}, 2, "unknown kind"},
             {{"put", "ns/name"}, 2, "--kind"},
             {{"put", "ns/name", "--kind", "api_key", "--expires", "next week"}, 2, "ISO 8601"},
             {{"get", "ns/nothing"}, 4, "no record"},
             {{"get", "ns/name", "--version", "0"}, 2, "--version"},
         }) {
        auto r = s.kw.run(c.args, "v");
        INFO(c.args[1] << ": " << r.err);
        CHECK(r.exit_code == c.exit);
        CHECK(r.one_line_error());
        CHECK_THAT(r.err, Catch::Contains(c.says));
        CHECK(r.out.empty());
    }
}

TEST_CASE("list shows metadata and never a value; the database holds no plaintext") {
    auto s = CliSetup::fresh("cli-records-grep");
    const std::string secret = "PLAINTEXT-MARKER-7f3a9c";
    REQUIRE(s.kw.run({"put", "grep/wallet", "--kind", "wallet"}, secret).exit_code == 0);
    auto list = s.kw.run({"list", "--json"});
    REQUIRE(list.exit_code == 0);
    CHECK_THAT(list.out,
               Catch::StartsWith(
                   "{\"records\":[{\"record\":\"grep/"
                   "wallet\",\"namespace\":\"grep\",\"name\":\"wallet\",\"kind\":\"wallet\""));
    CHECK(list.out.find(secret) == std::string::npos);
    CHECK(s.kw.run({"list"}).out.find(secret) == std::string::npos);
    for (const char* f : {"keyward.db", "keyward.db-wal"}) {
        if (!std::filesystem::exists(s.dir / f)) continue;
        INFO(f);
        CHECK(read_file(s.dir / f).find(secret) == std::string::npos);
    }
}

TEST_CASE("two processes putting the same record 200 times each end with 400 versions, no gap") {
    auto s = CliSetup::fresh("cli-records-race");
    REQUIRE(s.kw.run({"put", "race/r", "--kind", "custom_secret"}, "seed").exit_code == 0);
    std::vector<std::string> errors(2);
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; i < 200; ++i) {
                auto r = s.kw.run({"put", "race/r", "--kind", "custom_secret"},
                                  "w" + std::to_string(w) + "-" + std::to_string(i));
                if (r.exit_code != 0) errors[static_cast<std::size_t>(w)] += r.err;
            }
        });
    }
    for (auto& t : writers) t.join();
    INFO(errors[0] << errors[1]);
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    auto list = s.kw.run({"list", "race", "--json"});
    CHECK_THAT(list.out, Catch::Contains("\"latest\":401,"));
    // Every version opens, and the 400 values written are all there exactly once.
    std::set<std::string> seen;
    for (int v = 2; v <= 401; ++v) {
        auto r = s.kw.run({"get", "race/r", "--version", std::to_string(v)});
        REQUIRE(r.exit_code == 0);
        seen.insert(r.out);
    }
    CHECK(seen.size() == 400);
    CHECK(seen.count("w0-0") == 1);
    CHECK(seen.count("w1-199") == 1);
}
