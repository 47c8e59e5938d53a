// SPDX-License-Identifier: Apache-2.0
// Child-process runner for CLI tests: stdin from a file, stdout and stderr to files, so large
// inputs and outputs never deadlock on pipes.
#include "cli_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "support/test_env.hpp"

extern char** environ;

namespace keyward::test {

bool CliResult::one_line_error() const {
    return !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
}

CliChild::CliChild(pid_t pid, std::filesystem::path in, std::filesystem::path out,
                   std::filesystem::path err)
    : pid_(pid), in_(std::move(in)), out_(std::move(out)), err_(std::move(err)) {}

CliChild::CliChild(CliChild&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {
    other.pid_ = -1;
}

CliChild::~CliChild() {
    if (pid_ <= 0) return;
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    std::error_code ec;
    for (const auto* p : {&in_, &out_, &err_}) std::filesystem::remove(*p, ec);
}

bool CliChild::ended() {
    if (status_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
    return status_.has_value();
}

void CliChild::kill(int signal) const {
    if (!status_) ::kill(pid_, signal);
}

CliResult CliChild::wait() {
    if (!status_) {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0) {
            if (errno != EINTR) throw std::runtime_error("waitpid failed");
        }
        status_ = status;
    }
    CliResult r;
    r.exit_code = WIFEXITED(*status_) ? WEXITSTATUS(*status_) : 128 + WTERMSIG(*status_);
    r.out = read_file(out_);
    r.err = read_file(err_);
    return r;
}

CliRunner::CliRunner() {
    const char* bin = std::getenv("KEYWARD_CLI");
    if (bin == nullptr) throw std::runtime_error("KEYWARD_CLI is not set (run through meson test)");
    binary = bin;
    work_dir = fresh_dir("cli-io");
}

CliResult CliRunner::run(const std::vector<std::string>& args,
                         const std::string& stdin_data) const {
    return start(args, stdin_data).wait();
}

CliChild CliRunner::start(const std::vector<std::string>& given,
                          const std::string& stdin_data) const {
    std::vector<std::string> args = prefix;
    args.insert(args.end(), given.begin(), given.end());
    static std::atomic<int> n{0};
    const std::string id = std::to_string(n.fetch_add(1));
    const auto in_path = work_dir / ("in" + id), out_path = work_dir / ("out" + id),
               err_path = work_dir / ("err" + id);
    std::ofstream(in_path, std::ios::binary) << stdin_data;

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv = *e;
        std::string key = kv.substr(0, kv.find('='));
        if (env.count(key) == 0) env_strings.push_back(kv);
    }
    for (const auto& [k, v] : env) {
        if (v != "\x7f") env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    std::vector<std::string> argv_strings = {binary.string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + binary.string());
    return CliChild(pid, in_path, out_path, err_path);
}

}  // namespace keyward::test
