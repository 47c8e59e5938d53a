// SPDX-License-Identifier: Apache-2.0
// Shared and fresh `keyward init --softhsm` setups for the CLI tests.
#include "cli_setup.hpp"

#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include <stdexcept>

#include "support/test_env.hpp"

namespace keyward::test {

CliSetup CliSetup::fresh(const std::string& name) {
    CliSetup s;
    s.dir = fresh_dir(name);
    s.kw.env["KEYWARD_PIN"] = "\x7f";
    s.kw.env["KEYWARD_CONFIG"] = "\x7f";
    auto r = s.kw.run({"init", "--softhsm", s.dir.string()});
    if (r.exit_code != 0) throw std::runtime_error("keyward init failed: " + r.err);
    s.kw.env["KEYWARD_CONFIG"] = (s.dir / "keyward.conf").string();
    return s;
}

CliSetup& CliSetup::shared() {
    static CliSetup s = [] {
        auto setup = fresh("cli-shared");
        for (auto args : {std::vector<std::string>{"keyring", "create", "k1"},
                          std::vector<std::string>{"keyring", "create", "k2", "--suite", "2"}}) {
            auto r = setup.kw.run(args);
            if (r.exit_code != 0) throw std::runtime_error("keyring create failed: " + r.err);
        }
        return setup;
    }();
    return s;
}

CliResult expect_ok(const CliResult& r) {
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    REQUIRE(r.exit_code == 0);
    return r;
}

void expect_refused(const CliResult& r, int exit, const std::string& says) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == exit);
    CHECK(r.one_line_error());
    CHECK_THAT(r.err, Catch::Contains(says));
    CHECK(r.out.empty());
}

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unbase64(const std::string& text) {
    std::string out(text.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) throw std::runtime_error("bad base64 in test");
    std::size_t pad = 0;
    if (!text.empty() && text.back() == '=') ++pad;
    if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

}  // namespace keyward::test
