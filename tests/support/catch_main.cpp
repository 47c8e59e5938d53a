// SPDX-License-Identifier: Apache-2.0
// Catch2 main shared by every test executable. An executable whose prerequisites are missing
// (no SoftHSM installed) says why and exits 77, meson's "skipped". Beside the console reporter
// runs the test case log that .ci/run counts: when $KEYWARD_TEST_CASE_LOG names a directory,
// every test case that ends appends one JSON line to `<executable>-<pid>.jsonl` there,
// {"executable", "command", "test_case", "passed"}; the console output stays as it is. A case
// ended by a signal that Catch2 catches is still written (Catch2 ends the case before it exits);
// a process killed outright writes no more lines, and .ci/run counts it from meson's log.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/test_env.hpp"

namespace {

// The process's command line, written into every line so that .ci/run can tell which meson
// test started the process.
std::vector<std::string>& command_line() {
    static std::vector<std::string> args;
    return args;
}

// Test case names are free text: quotes, backslashes and control characters are escaped so that
// every line stays one JSON document. Other bytes (UTF-8) pass as they are.
void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string executable_name() {
    if (command_line().empty()) return "unknown";
    const std::string& argv0 = command_line().front();
    const auto slash = argv0.rfind('/');
    return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

class CaseLog : public Catch::TestEventListenerBase {
  public:
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        TestEventListenerBase::testCaseEnded(stats);
        const char* dir = std::getenv("KEYWARD_TEST_CASE_LOG");
        if (dir == nullptr || *dir == '\0') return;

        std::string line = "{\"executable\":";
        append_json_string(line, executable_name());
        line += ",\"command\":[";
        for (std::size_t i = 0; i < command_line().size(); ++i) {
            if (i > 0) line += ',';
            append_json_string(line, command_line()[i]);
        }
        line += "],\"test_case\":";
        append_json_string(line, stats.testInfo.name);
        // Catch2's own verdict for the case: a failed assertion, an unexpected exception or a
        // fatal signal make testCases.failed 1; a [!mayfail] case that failed does not.
        line += stats.totals.testCases.failed == 0 ? ",\"passed\":true}\n" : ",\"passed\":false}\n";

        // One write() per line with O_APPEND, so that a line is never split; getpid() at write
        // time, so that a forked child that crashed (and whose inherited Catch2 handler ended
        // the case) never writes into its parent's file.
        const std::string path =
            std::string(dir) + "/" + executable_name() + "-" + std::to_string(getpid()) + ".jsonl";
        std::error_code ignored;  // a failure to create it shows as the open's failure below
        std::filesystem::create_directories(dir, ignored);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const bool written =
            fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
        if (fd >= 0) ::close(fd);
        if (!written && !warned_) {
            // Once per process: the count in .ci/run would be wrong, so say so where CI shows it.
            std::fprintf(stderr, "test case log: cannot append to %s\n", path.c_str());
            warned_ = true;
        }
    }

  private:
    bool warned_ = false;
};

}  // namespace

CATCH_REGISTER_LISTENER(CaseLog)

int main(int argc, char** argv) {
    if (auto reason = keyward::test::skip_reason()) {
        std::cerr << "SKIP: " << *reason << "\n";
        return 77;
    }
    command_line().assign(argv, argv + argc);
    return Catch::Session().run(argc, argv);
}
