// SPDX-License-Identifier: Apache-2.0
// Temporary output names, their removal on signals, and the sweep of stale ones (see
// temp_files.hpp).
#include "temp_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace keyward::cli {

namespace {

constexpr std::string_view kMarker = ".keyward-";
constexpr std::size_t kRandomChars = 6;
constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};

bool is_random_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// The target's name is cut to 200 bytes, so that a temporary of a name close to NAME_MAX
// (255) still fits; parse_temp_name reads from the end and does not need it whole.
std::string prefix_of(const std::filesystem::path& dir, const std::string& target) {
    return (dir /
            ("." + target.substr(0, 200) + std::string(kMarker) + std::to_string(::getpid()) + "."))
        .string();
}

// State for the signal handler: only what it may touch (a fixed buffer, a flag, the
// dispositions to restore), set while the signals are blocked.
char g_temp_path[PATH_MAX];
volatile sig_atomic_t g_armed = 0;
struct sigaction g_previous[kSignals.size()];
bool g_installed[kSignals.size()];

extern "C" void remove_temp_and_reraise(int sig) {
    if (g_armed) ::unlink(g_temp_path);  // async-signal-safe
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
        if (kSignals[i] == sig && g_installed[i]) ::sigaction(sig, &g_previous[i], nullptr);
    }
    ::raise(sig);  // delivered when the handler returns, with the previous disposition
}

void block_set(sigset_t& set) {
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
}

}  // namespace

std::string temp_template(const std::filesystem::path& dir, const std::string& target) {
    return prefix_of(dir, target) + std::string(kRandomChars, 'X');
}

std::string temp_name(const std::filesystem::path& dir, const std::string& target) {
    static constexpr char kChars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char random[kRandomChars] = {};
    std::size_t got = 0;
    while (got < sizeof random) {
        ssize_t n = ::getrandom(random + got, sizeof random - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the name is then less random; link() still refuses a clash
        got += static_cast<std::size_t>(n);
    }
    std::string name = prefix_of(dir, target);
    for (unsigned char r : random) name.push_back(kChars[r % (sizeof kChars - 1)]);
    return name;
}

bool parse_temp_name(const std::string& name, long& pid) {
    // ".<target>.keyward-<pid>.<XXXXXX>": read from the end, since the target may hold anything.
    if (name.size() < 1 + 1 + kMarker.size() + 1 + 1 + kRandomChars || name[0] != '.') {
        return false;
    }
    const std::size_t dot = name.size() - kRandomChars - 1;
    if (name[dot] != '.') return false;
    for (std::size_t i = dot + 1; i < name.size(); ++i) {
        if (!is_random_char(name[i])) return false;
    }
    const std::size_t marker = name.rfind(kMarker, dot);
    if (marker == std::string::npos || marker < 2) return false;
    const std::string digits = name.substr(marker + kMarker.size(), dot - marker - kMarker.size());
    if (digits.empty() || digits.size() > 9) return false;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
    }
    pid = std::stol(digits);
    return pid > 0;
}

void remove_stale_temps(const std::filesystem::path& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    const int dfd = ::dirfd(d);
    while (const dirent* e = ::readdir(d)) {
        long pid = 0;
        if (!parse_temp_name(e->d_name, pid)) continue;
        // A live process (kill answers, or refuses: EPERM) may still be writing it.
        if (pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) {
            continue;
        }
        struct stat st {};
        if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
        ::unlinkat(dfd, e->d_name, 0);
    }
    ::closedir(d);
}

SignalBlock::SignalBlock() {
    sigset_t set;
    block_set(set);
    ::pthread_sigmask(SIG_BLOCK, &set, &saved_);
}

SignalBlock::~SignalBlock() {
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

TempFileGuard::TempFileGuard(const std::string& path) {
    const std::size_t n = std::min(path.size(), sizeof g_temp_path - 1);
    std::memcpy(g_temp_path, path.data(), n);
    g_temp_path[n] = '\0';
    g_armed = path.size() < sizeof g_temp_path;
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
        struct sigaction current {};
        ::sigaction(kSignals[i], nullptr, &current);
        // An ignored signal (nohup's SIGHUP) stays ignored: it would not end the process.
        g_installed[i] = current.sa_handler != SIG_IGN;
        if (!g_installed[i]) continue;
        struct sigaction action {};
        action.sa_handler = remove_temp_and_reraise;
        sigemptyset(&action.sa_mask);
        for (int sig : kSignals) sigaddset(&action.sa_mask, sig);
        ::sigaction(kSignals[i], &action, &g_previous[i]);
    }
}

TempFileGuard::~TempFileGuard() {
    g_armed = 0;
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
        if (g_installed[i]) ::sigaction(kSignals[i], &g_previous[i], nullptr);
        g_installed[i] = false;
    }
}

}  // namespace keyward::cli
