// SPDX-License-Identifier: Apache-2.0
// Runs the real keyward binary as a child process with given stdin bytes and environment, and
// captures exit code, stdout and stderr exactly.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
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

/// A keyward process started by CliRunner::start. Move-only; one still running when it is
/// destroyed is killed (SIGKILL) and reaped, so a failed assertion leaves no process behind.
class CliChild {
  public:
    CliChild(pid_t pid, std::filesystem::path in, std::filesystem::path out,
             std::filesystem::path err);
    CliChild(CliChild&& other) noexcept;
    CliChild& operator=(CliChild&&) = delete;
    CliChild(const CliChild&) = delete;
    CliChild& operator=(const CliChild&) = delete;
    ~CliChild();

    pid_t pid() const noexcept { return pid_; }
    /// True once the process has ended (reaps it without blocking).
    bool ended();
    /// Sends a signal; a no-op once the process has been reaped.
    void kill(int signal) const;
    /// Waits for the process, then returns its exit code (128 + N when killed by signal N)
    /// and its output.
    CliResult wait();

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;  // wait status once reaped
    std::filesystem::path in_, out_, err_;
};

struct CliRunner {
    std::filesystem::path binary;    // from $KEYWARD_CLI
    std::filesystem::path work_dir;  // scratch for stdin/stdout files
    std::map<std::string, std::string>
        env;  // added to (or removing, when value is "\x7f") the parent env
    /// Words put before every command's own (global options such as --principal NAME).
    std::vector<std::string> prefix;

    CliRunner();
    CliResult run(const std::vector<std::string>& args, const std::string& stdin_data = {}) const;
    /// Starts the binary without waiting for it.
    CliChild start(const std::vector<std::string>& args, const std::string& stdin_data = {}) const;
};

}  // namespace keyward::test
