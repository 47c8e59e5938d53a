// SPDX-License-Identifier: Apache-2.0
// One `keyward init --softhsm` setup per test process, shared by the CLI tests: a real SoftHSM
// token and a real SQLite file under the build directory.
#pragma once

#include <filesystem>
#include <string>

#include "cli_runner.hpp"

namespace keyward::test {

struct CliSetup {
    std::filesystem::path dir;
    CliRunner kw;  // KEYWARD_CONFIG points at dir/keyward.conf

    /// The shared setup, with keyrings "k1" (suite 1) and "k2" (suite 2) created.
    static CliSetup& shared();
    /// A new, separate setup (its own token and database).
    static CliSetup fresh(const std::string& name);
};

/// A success (exit 0; stdout and stderr shown on failure); returns r for chaining.
CliResult expect_ok(const CliResult& r);

/// A refusal: exit code `exit`, one line on stderr that contains `says`, nothing on stdout.
void expect_refused(const CliResult& r, int exit, const std::string& says);

std::string base64(const std::string& bytes);
std::string unbase64(const std::string& text);

}  // namespace keyward::test
