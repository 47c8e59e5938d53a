// SPDX-License-Identifier: Apache-2.0
// The SoftHSM login guard on token-directory layouts made by hand (no SoftHSM needed): reading
// SoftHSM's configuration, restoring an emptied token.object from keyward's copy, refreshing
// the copy, and the lock between guards, threads and processes. tests/p11/login_test.cpp checks
// the same guard through P11Hsm::connect on real SoftHSM tokens.
#include "support/catch_errc.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "p11/softhsm_login_guard.hpp"
#include "support/test_env.hpp"

using keyward::Errc;
using keyward::p11::parse_softhsm_tokendir;
using keyward::p11::SoftHsmLoginGuard;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

void write(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.flush());
}

int mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<int>(st.st_mode & 07777);
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

// A token directory as SoftHSM's file store lays it out. The serial is in token.object as
// SoftHSM stores it: among the other attribute bytes.
struct Layout {
    fs::path tokens;

    explicit Layout(const std::string& name) : tokens(keyward::test::fresh_dir(name) / "tokens") {
        fs::create_directories(tokens);
    }
    fs::path add_token(const std::string& dir, const std::string& serial) {
        const fs::path d = tokens / dir;
        fs::create_directories(d);
        write(d / "token.object", token_object(serial, "flags-1"));
        write(d / "token.lock", "");
        write(d / "generation", std::string(8, '\1'));
        write(d / "0b1e3c4d-aaaa-bbbb-cccc-000000000001.object", "a KEK");
        write(d / "0b1e3c4d-aaaa-bbbb-cccc-000000000001.lock", "");
        return d;
    }
    static std::string token_object(const std::string& serial, const std::string& flags) {
        return std::string("\0\0\0\0\0\0\0\x07label...", 16) + serial + "PIN blobs " + flags;
    }
    std::string copy(const std::string& dir) const {
        return SoftHsmLoginGuard::copy_path(tokens.string(), dir);
    }
};

SoftHsmLoginGuard acquire(const fs::path& tokens) {
    auto g = SoftHsmLoginGuard::acquire_tokendir(tokens.string(), 5s);
    INFO((g.ok() ? "" : g.error().message()));
    REQUIRE(g.ok());
    REQUIRE(g->has_value());
    return std::move(**g);
}

// Sets an environment variable for one scope.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("the guard applies to modules whose file name says softhsm") {
    using keyward::p11::is_softhsm_module;
    CHECK(is_softhsm_module("/usr/lib/softhsm/libsofthsm2.so"));
    CHECK(is_softhsm_module("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"));
    CHECK(is_softhsm_module("/opt/LIBSOFTHSM2.SO"));
    CHECK(is_softhsm_module("libsofthsm2.so"));
    CHECK_FALSE(is_softhsm_module("/usr/lib/softhsm/libother-pkcs11.so"));
    CHECK_FALSE(is_softhsm_module("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"));
    CHECK_FALSE(is_softhsm_module(""));
}

TEST_CASE("directories.tokendir is read from a configuration the way SoftHSM reads it") {
    CHECK(parse_softhsm_tokendir("directories.tokendir = /var/lib/softhsm/tokens/\n") ==
          "/var/lib/softhsm/tokens/");
    CHECK(parse_softhsm_tokendir("# SoftHSM v2\n"
                                 "objectstore.backend = file\r\n"
                                 "  directories.tokendir\t=\t/a/b   # trailing comment\r\n"
                                 "log.level = ERROR\n") == "/a/b");
    // The last assignment wins; commented, value-less and other keys do not count.
    CHECK(parse_softhsm_tokendir("directories.tokendir = /first\n"
                                 "#directories.tokendir = /commented\n"
                                 "directories.tokendir =\n"
                                 "directories.tokendirs = /other-key\n"
                                 "directories.tokendir = /second\n") == "/second");
    // strtok(line, "="): leading '=' are skipped and the value ends at the next '='.
    CHECK(parse_softhsm_tokendir("=directories.tokendir==/x=y\n") == "/x");
    CHECK(parse_softhsm_tokendir("directories.tokendir = /no-newline-at-end") ==
          "/no-newline-at-end");
    CHECK_FALSE(parse_softhsm_tokendir("").has_value());
    CHECK_FALSE(parse_softhsm_tokendir("objectstore.backend = file\n").has_value());
    CHECK_FALSE(parse_softhsm_tokendir("# directories.tokendir = /x\n").has_value());
}

TEST_CASE(
    "SoftHSM's configuration file is the explicit one, then $SOFTHSM2_CONF, then ~, then /etc") {
    using keyward::p11::softhsm_config_path;
    const fs::path home = keyward::test::fresh_dir("guard-home");
    ScopedEnv home_env("HOME", home.c_str());
    {
        ScopedEnv conf("SOFTHSM2_CONF", "/from/env.conf");
        CHECK(softhsm_config_path("/explicit.conf") == "/explicit.conf");
        CHECK(softhsm_config_path("") == "/from/env.conf");
    }
    ScopedEnv conf("SOFTHSM2_CONF", nullptr);
    CHECK(softhsm_config_path("") == "/etc/softhsm/softhsm2.conf");
    fs::create_directories(home / ".config" / "softhsm2");
    write(home / ".config" / "softhsm2" / "softhsm2.conf", "directories.tokendir = /x\n");
    CHECK(softhsm_config_path("") == (home / ".config/softhsm2/softhsm2.conf").string());
}

TEST_CASE("acquire finds the token directory through the configuration and takes the lock") {
    Layout layout("guard-conf");
    const fs::path conf = layout.tokens.parent_path() / "softhsm2.conf";
    write(conf,
          "directories.tokendir = " + layout.tokens.string() + "\nobjectstore.backend = file\n");
    auto g = SoftHsmLoginGuard::acquire("/usr/lib/softhsm/libsofthsm2.so", conf.string());
    REQUIRE(g.ok());
    REQUIRE(g->has_value());
    CHECK((*g)->tokendir() == layout.tokens.string());
    const fs::path lock = layout.tokens / "keyward-login.lock";
    CHECK(SoftHsmLoginGuard::lock_path(layout.tokens.string()) == lock.string());
    CHECK(mode_of(lock) == 0600);
    // The holder's pid, for the message of a process that waits too long.
    CHECK(keyward::test::read_file(lock) == std::to_string(::getpid()) + "\n");
    CHECK((*g)->restored().empty());
    CHECK((*g)->warnings().empty());
}

TEST_CASE("no guard, and no error, when it does not apply or cannot work") {
    Layout layout("guard-none");
    const fs::path conf = layout.tokens.parent_path() / "softhsm2.conf";
    write(conf, "directories.tokendir = " + layout.tokens.string() + "\n");

    SECTION("a module that is not SoftHSM") {
        auto g =
            SoftHsmLoginGuard::acquire("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", conf.string());
        REQUIRE(g.ok());
        CHECK_FALSE(g->has_value());
        CHECK_FALSE(fs::exists(layout.tokens / "keyward-login.lock"));
    }
    SECTION("a configuration that cannot be read") {
        auto g =
            SoftHsmLoginGuard::acquire("libsofthsm2.so", (layout.tokens / "missing.conf").string());
        REQUIRE(g.ok());
        CHECK_FALSE(g->has_value());
    }
    SECTION("a token directory that does not exist") {
        auto g = SoftHsmLoginGuard::acquire_tokendir((layout.tokens / "nope").string());
        REQUIRE(g.ok());
        CHECK_FALSE(g->has_value());
        CHECK_FALSE(fs::exists(layout.tokens / "nope"));
    }
    SECTION("a lock file that cannot be opened") {
        // Something else in its place; as a non-root user an unwritable token directory too
        // (root writes anywhere, so that case is only checked when not root).
        fs::create_directory(layout.tokens / "keyward-login.lock");
        auto g = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string());
        REQUIRE(g.ok());
        CHECK_FALSE(g->has_value());
    }
    SECTION("a token directory we may not write (not root)") {
        if (::geteuid() == 0) return;
        fs::permissions(layout.tokens, fs::perms::owner_read | fs::perms::owner_exec);
        auto g = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string());
        fs::permissions(layout.tokens, fs::perms::owner_all);
        REQUIRE(g.ok());
        CHECK_FALSE(g->has_value());
        CHECK_FALSE(fs::exists(layout.tokens / "keyward-login.lock"));
    }
}

TEST_CASE("an empty token.object is restored from keyward's copy, atomically and mode 0600") {
    Layout layout("guard-restore");
    const fs::path dir =
        layout.add_token("4f3c0e6a-1111-2222-3333-a1b2c3d4e5f6", "a1b2c3d4e5f60001");
    const std::string saved = Layout::token_object("a1b2c3d4e5f60001", "saved flags");
    write(layout.copy(dir.filename()), saved);
    fs::resize_file(dir / "token.object", 0);  // what a SIGKILL inside C_Login leaves
    const auto before = names_in(dir);

    auto g = acquire(layout.tokens);
    CHECK(g.restored() == std::vector<std::string>{dir.filename().string()});
    REQUIRE(g.warnings().size() == 1);
    CHECK(g.warnings()[0].find("restored " + (dir / "token.object").string() + " (it was empty") ==
          0);
    CHECK(keyward::test::read_file(dir / "token.object") == saved);
    CHECK(mode_of(dir / "token.object") == 0600);
    // No temporary file left behind, nothing new in the token's directory.
    CHECK(names_in(dir) == before);
}

TEST_CASE("a missing token.object is restored only beside the token's object files") {
    Layout layout("guard-missing");
    const fs::path dir =
        layout.add_token("9d1a0b2c-1111-2222-3333-000000000009", "0000000000000009");
    const std::string saved = Layout::token_object("0000000000000009", "saved");
    write(layout.copy(dir.filename()), saved);
    fs::remove(dir / "token.object");
    // A sub-directory without token.object and without objects is no file-store token.
    fs::create_directories(layout.tokens / "not-a-token");
    write(layout.copy("not-a-token"), "stale copy");

    auto g = acquire(layout.tokens);
    CHECK(g.restored() == std::vector<std::string>{dir.filename().string()});
    CHECK(keyward::test::read_file(dir / "token.object") == saved);
    CHECK(names_in(layout.tokens / "not-a-token").empty());
}

TEST_CASE("a token.object that is not empty is never replaced by the copy") {
    Layout layout("guard-keep");
    const fs::path dir =
        layout.add_token("3e2d1c0b-1111-2222-3333-000000000003", "0000000000000003");
    const std::string live = keyward::test::read_file(dir / "token.object");
    write(layout.copy(dir.filename()), Layout::token_object("0000000000000003", "older"));

    auto g = acquire(layout.tokens);
    CHECK(g.restored().empty());
    CHECK(g.warnings().empty());
    CHECK(keyward::test::read_file(dir / "token.object") == live);
}

TEST_CASE("an empty token.object without a copy is reported, not touched") {
    Layout layout("guard-nocopy");
    const fs::path dir =
        layout.add_token("7a6b5c4d-1111-2222-3333-000000000007", "0000000000000007");
    fs::resize_file(dir / "token.object", 0);
    write(layout.copy("some-other-token"), "another token's copy");

    auto g = acquire(layout.tokens);
    CHECK(g.restored().empty());
    REQUIRE(g.warnings().size() == 1);
    CHECK(g.warnings()[0].find("is empty and keyward has no copy of it") != std::string::npos);
    CHECK(fs::file_size(dir / "token.object") == 0);
}

TEST_CASE("refresh_copy copies the token carrying the serial, only when it changed") {
    Layout layout("guard-refresh");
    const fs::path one =
        layout.add_token("11111111-1111-2222-3333-000000000001", "serial0000000001");
    const fs::path two =
        layout.add_token("22222222-1111-2222-3333-000000000002", "serial0000000002");
    const fs::path copy_one = layout.copy(one.filename());
    const fs::path copy_two = layout.copy(two.filename());

    auto g = acquire(layout.tokens);
    auto r = g.refresh_copy("serial0000000001");
    REQUIRE(r.ok());
    CHECK(*r);
    CHECK(keyward::test::read_file(copy_one) == keyward::test::read_file(one / "token.object"));
    CHECK(mode_of(copy_one) == 0600);
    CHECK_FALSE(fs::exists(copy_two));  // only the token we logged in to

    r = g.refresh_copy("serial0000000001");
    REQUIRE(r.ok());
    CHECK_FALSE(*r);  // unchanged: not rewritten

    const std::string relogged = Layout::token_object("serial0000000001", "flags-2");
    write(one / "token.object", relogged);
    r = g.refresh_copy("serial0000000001");
    REQUIRE(r.ok());
    CHECK(*r);
    CHECK(keyward::test::read_file(copy_one) == relogged);

    // An empty token.object is never copied over a good copy.
    fs::resize_file(one / "token.object", 0);
    r = g.refresh_copy("serial0000000001");
    REQUIRE(r.ok());
    CHECK_FALSE(*r);
    CHECK(keyward::test::read_file(copy_one) == relogged);

    r = g.refresh_copy("");
    REQUIRE(r.ok());
    CHECK_FALSE(*r);
    // Only the lock and the copy at the top level; nothing in the token directories.
    CHECK(names_in(layout.tokens) ==
          std::set<std::string>{"keyward-login.lock", copy_one.filename().string(),
                                one.filename().string(), two.filename().string()});

    g.release();
    r = g.refresh_copy("serial0000000001");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == Errc::failed);
}

TEST_CASE("the lock is exclusive between two guards of one process") {
    Layout layout("guard-fds");
    auto first = acquire(layout.tokens);
    auto second = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string(), 100ms);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == Errc::hsm_unavailable);
    CHECK(second.error().message() ==
          "another process has held " + (layout.tokens / "keyward-login.lock").string() +
              " for 100 ms (last taken by pid " + std::to_string(::getpid()) +
              "): a keyward process seems stuck logging in to SoftHSM; retry, or find it with "
              "fuser " +
              (layout.tokens / "keyward-login.lock").string());

    // A waiter gets it as soon as the holder lets go.
    std::thread holder([g = std::move(first)]() mutable {
        std::this_thread::sleep_for(300ms);
        g.release();
    });
    const auto t = std::chrono::steady_clock::now();
    auto third = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string(), 10s);
    const auto waited = std::chrono::steady_clock::now() - t;
    holder.join();
    REQUIRE(third.ok());
    REQUIRE(third->has_value());
    CHECK(waited >= 200ms);
    CHECK(waited < 5s);
}

TEST_CASE("the lock is exclusive between processes and dies with its holder") {
    Layout layout("guard-procs");
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(ready[0]);
        auto g = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string(), 5s);
        const char c = g.ok() && g->has_value() ? 'y' : 'n';
        if (::write(ready[1], &c, 1) != 1) ::_exit(2);
        std::this_thread::sleep_for(400ms);
        ::_exit(0);  // no destructor: the kernel drops the lock with the process
    }
    ::close(ready[1]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    REQUIRE(c == 'y');

    auto refused = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string(), 50ms);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == Errc::hsm_unavailable);
    CHECK(refused.error().message().find("last taken by pid " + std::to_string(child)) !=
          std::string::npos);

    auto after = SoftHsmLoginGuard::acquire_tokendir(layout.tokens.string(), 10s);
    REQUIRE(after.ok());
    CHECK(after->has_value());
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
