// SPDX-License-Identifier: Apache-2.0
// PIN sources. The result is always heap-allocated (capacity above the small-string buffer) so
// that moving it never leaves a copy in a moved-from std::string's inline buffer.
#include "p11/pin_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "keyward/unique_fd.hpp"

namespace keyward::p11 {

namespace {

constexpr std::size_t kMaxPin = 1024;

SecretString heap_secret() {
    SecretString s;
    s.reserve(64);  // beyond libstdc++'s 15-byte inline buffer
    return s;
}

void strip_newline(SecretString& pin) {
    if (!pin.empty() && pin.back() == '\n') {
        pin.pop_back();
        if (!pin.empty() && pin.back() == '\r') pin.pop_back();
    }
}

// Reads up to kMaxPin bytes (and up to a newline when stop_at_newline).
Result<SecretString> read_fd(int fd, bool stop_at_newline, const std::string& what) {
    SecretString pin = heap_secret();
    char c = 0;
    for (;;) {
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return Error(Errc::bad_config,
                         "cannot read the PIN from " + what + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        pin.push_back(c);
        if (stop_at_newline && c == '\n') break;
        if (pin.size() > kMaxPin) {
            secure_wipe(&c, 1);
            return Error(Errc::bad_config, "the PIN in " + what + " is longer than " +
                                               std::to_string(kMaxPin) + " bytes");
        }
    }
    secure_wipe(&c, 1);
    return pin;
}

Result<SecretString> from_env(const std::string& var) {
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) {
        return Error(Errc::bad_config,
                     "PIN source env:" + var + ": environment variable " + var + " is not set");
    }
    if (*value == '\0') {
        return Error(Errc::bad_config,
                     "PIN source env:" + var + ": environment variable " + var + " is empty");
    }
    SecretString pin = heap_secret();
    pin.assign(value);
    return pin;
}

Result<SecretString> from_file(const std::string& path) {
    const std::string what = "PIN file \"" + path + "\"";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) {
        return Error(Errc::bad_config, "cannot open " + what + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return Error(Errc::bad_config, "cannot stat " + what + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return Error(Errc::bad_config, what + " is not a regular file");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return Error(Errc::bad_config, what + " is accessible to group or others (mode " + mode +
                                           "); run chmod 600 \"" + path + "\"");
    }
    KW_TRY(auto pin, read_fd(fd.get(), false, what));
    strip_newline(pin);
    if (pin.empty()) return Error(Errc::bad_config, what + " is empty");
    return pin;
}

Result<SecretString> from_terminal(std::string_view prompt_text) {
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (tty.get() < 0) {
        return Error(Errc::bad_config,
                     "no terminal to ask for the PIN on; give it as env:VAR or file:PATH");
    }
    termios saved{};
    if (::tcgetattr(tty.get(), &saved) != 0) {
        return Error(Errc::bad_config,
                     "/dev/tty is not a terminal; give the PIN as env:VAR or file:PATH");
    }
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    if (::tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) {
        return Error(Errc::bad_config, "cannot turn off echo on the terminal");
    }
    (void)!::write(tty.get(), prompt_text.data(), prompt_text.size());
    auto pin = read_fd(tty.get(), true, "the terminal");
    ::tcsetattr(tty.get(), TCSAFLUSH, &saved);
    if (!pin) return pin;
    strip_newline(*pin);
    if (pin->empty()) return Error(Errc::bad_config, "no PIN was entered");
    return pin;
}

}  // namespace

Result<SecretString> read_pin(std::string_view source, std::string_view prompt_text) {
    if (source.starts_with("env:") && source.size() > 4) {
        return from_env(std::string(source.substr(4)));
    }
    if (source.starts_with("file:") && source.size() > 5) {
        return from_file(std::string(source.substr(5)));
    }
    if (source == "prompt") return from_terminal(prompt_text);
    // The source is not echoed: a PIN given where a source belongs must not reach a log.
    return Error(Errc::bad_config, "unknown PIN source; use env:VAR, file:PATH or prompt");
}

}  // namespace keyward::p11
