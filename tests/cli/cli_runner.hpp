// Runs the real keyward binary as a child process with given stdin bytes and environment, and
// captures exit code, stdout and stderr exactly.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace keyward::test {

struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
    /// stderr is exactly one non-empty line.
    bool one_line_error() const;
};

struct CliRunner {
    std::filesystem::path binary;    // from $KEYWARD_CLI
    std::filesystem::path work_dir;  // scratch for stdin/stdout files
    std::map<std::string, std::string>
        env;  // added to (or removing, when value is "\x7f") the parent env

    CliRunner();
    CliResult run(const std::vector<std::string>& args, const std::string& stdin_data = {}) const;
};

}  // namespace keyward::test
