// Child-process runner for CLI tests: stdin from a file, stdout and stderr to files, so large
// inputs and outputs never deadlock on pipes.
#include "cli_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "support/test_env.hpp"

extern char** environ;

namespace keyward::test {

bool CliResult::one_line_error() const {
    return !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
}

CliRunner::CliRunner() {
    const char* bin = std::getenv("KEYWARD_CLI");
    if (bin == nullptr) throw std::runtime_error("KEYWARD_CLI is not set (run through meson test)");
    binary = bin;
    work_dir = fresh_dir("cli-io");
}

CliResult CliRunner::run(const std::vector<std::string>& args,
                         const std::string& stdin_data) const {
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
    int status = 0;
    waitpid(pid, &status, 0);

    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    std::filesystem::remove(in_path);
    std::filesystem::remove(out_path);
    std::filesystem::remove(err_path);
    return r;
}

}  // namespace keyward::test
