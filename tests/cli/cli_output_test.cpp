// SPDX-License-Identifier: Apache-2.0
// --out targets through the real binary (issue 9, items 7 and 8): a FIFO, a device node and
// another name of stdout are written in place, never replaced; a regular file is replaced
// whole; and a get killed at any point of a 64 MiB --out leaves no plaintext but a whole
// file.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "cli_setup.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

// A value in which every window of marker.size() bytes holds the marker.
std::string marked_value(std::size_t size, const std::string& marker) {
    std::string v;
    v.reserve(size);
    while (v.size() < size) v += marker;
    v.resize(size);
    return v;
}

// Stores value as record `address` and returns it.
std::string put(CliSetup& s, const std::string& address, const std::string& value) {
    auto r = s.kw.run({"put", address, "--kind", "custom_secret"}, value);
    REQUIRE(r.exit_code == 0);
    return value;
}

struct stat lstat_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

// Reads a FIFO (opened non-blocking before the writer starts) until the writer is done.
std::string read_fifo_while(int fd, CliChild& writer) {
    std::string got;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const auto drain = [&] {
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, buf + n);
    };
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0 && (p.revents & POLLIN) != 0) {
            drain();
            continue;
        }
        if ((p.revents & POLLHUP) != 0 || writer.ended()) {
            drain();
            break;
        }
    }
    return got;
}

// True once the process has a descriptor open on something inside dir (its output file,
// named or not: an O_TMPFILE file reads as "dir/#inode (deleted)").
bool writes_into(pid_t pid, const fs::path& dir) {
    const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(fds.c_str());
    if (d == nullptr) return false;
    bool found = false;
    while (const dirent* e = ::readdir(d)) {
        char target[4096];
        const std::string link = fds + "/" + e->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (std::string(target).rfind(dir.string() + "/", 0) == 0) found = true;
    }
    ::closedir(d);
    return found;
}

}  // namespace

TEST_CASE("get --out writes a FIFO in place and its reader receives the value", "[out]") {
    auto& s = CliSetup::shared();
    const auto value = put(s, "outs/fifo", marked_value(1u << 20, "<fifo-marker>"));
    const auto dir = fresh_dir("out-fifo");
    const auto fifo = dir / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto child = s.kw.start({"get", "outs/fifo", "--out", fifo.string()});
    const std::string got = read_fifo_while(fd, child);
    ::close(fd);
    auto r = child.wait();
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(got.size() == value.size());
    CHECK(same(got, value));
    CHECK(S_ISFIFO(lstat_of(fifo).st_mode));
    CHECK(names_in(dir) == std::set<std::string>{"pipe"});
}

TEST_CASE("get --out writes a character device in place and it stays a device", "[out]") {
    if (::geteuid() != 0) {
        WARN("skipped: making a device node needs root (mknod)");
        return;
    }
    auto& s = CliSetup::shared();
    put(s, "outs/dev", "to the null device");
    const auto dir = fresh_dir("out-chardev");
    const auto node = dir / "null";
    if (::mknod(node.c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0) {
        WARN("skipped: mknod is not permitted here: " << std::strerror(errno));
        return;
    }
    auto r = s.kw.run({"get", "outs/dev", "--out", node.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto st = lstat_of(node);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(1, 3));
    CHECK(st.st_size == 0);
    CHECK(names_in(dir) == std::set<std::string>{"null"});
}

TEST_CASE("--out through another name of stdout writes to stdout and leaves the name alone",
          "[out]") {
    auto& s = CliSetup::shared();
    const auto value = put(s, "outs/stdout", "to stdout by another name");
    const auto dir = fresh_dir("out-stdout");
    // What /dev/stdout is; the test does not touch the system's own.
    fs::create_symlink("/proc/self/fd/1", dir / "stdout");
    auto r = s.kw.run({"get", "outs/stdout", "--out", (dir / "stdout").string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == value);
    CHECK(fs::is_symlink(dir / "stdout"));
    CHECK(fs::read_symlink(dir / "stdout") == "/proc/self/fd/1");
    CHECK(names_in(dir) == std::set<std::string>{"stdout"});
}

TEST_CASE("--out replaces a regular file whole, follows a link to one, refuses the rest", "[out]") {
    auto& s = CliSetup::shared();
    const auto value = put(s, "outs/file", "the file's new value");
    const auto dir = fresh_dir("out-regular");
    std::ofstream(dir / "real") << "old";
    ::chmod((dir / "real").c_str(), 0644);
    fs::create_symlink("real", dir / "link");

    auto r = s.kw.run({"get", "outs/file", "--out", (dir / "link").string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(fs::is_symlink(dir / "link"));
    CHECK(same(read_file(dir / "real"), value));
    CHECK((lstat_of(dir / "real").st_mode & 0777) == 0600);

    r = s.kw.run({"get", "outs/file", "--out", (dir / "plain").string()});
    CHECK(r.exit_code == 0);
    CHECK(same(read_file(dir / "plain"), value));
    CHECK((lstat_of(dir / "plain").st_mode & 0777) == 0600);
    CHECK(names_in(dir) == std::set<std::string>{"link", "plain", "real"});

    fs::create_symlink("nowhere", dir / "dangling");
    r = s.kw.run({"get", "outs/file", "--out", (dir / "dangling").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "keyward: cannot write " + (dir / "dangling").string() +
                       ": it is a symbolic link to a file that does not exist (keyward neither "
                       "follows nor replaces it)\n");
    CHECK(fs::is_symlink(dir / "dangling"));
    CHECK_FALSE(fs::exists(dir / "nowhere"));

    fs::create_directory(dir / "sub");
    r = s.kw.run({"get", "outs/file", "--out", (dir / "sub").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "keyward: cannot write " + (dir / "sub").string() + ": it is a directory\n");
    CHECK(fs::is_empty(dir / "sub"));
}

// As fs.protected_symlinks would have it (this machine may have it off): another user's link
// in a sticky, world-writable directory is not followed, so it cannot aim the secret at a
// file of the caller's.
TEST_CASE("--out does not follow another user's link in a sticky shared directory", "[out]") {
    if (::geteuid() != 0) {
        WARN("skipped: planting a link of another user needs root (lchown)");
        return;
    }
    auto& s = CliSetup::shared();
    put(s, "outs/shared", "must not reach the victim file");
    const auto dir = fresh_dir("out-sticky");
    const auto shared = dir / "tmp";
    fs::create_directory(shared);
    REQUIRE(::chmod(shared.c_str(), 01777) == 0);
    std::ofstream(dir / "victim") << "the caller's own file";
    fs::create_symlink(dir / "victim", shared / "out");
    REQUIRE(::lchown((shared / "out").c_str(), 65534, 65534) == 0);

    auto r = s.kw.run({"get", "outs/shared", "--out", (shared / "out").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "keyward: cannot write " + (shared / "out").string() +
                       ": it is a symbolic link of another user in a shared directory (sticky "
                       "and world-writable); keyward does not follow it\n");
    CHECK(read_file(dir / "victim") == "the caller's own file");
    CHECK(fs::is_symlink(shared / "out"));

    // The caller's own link there is followed as anywhere else.
    REQUIRE(::lchown((shared / "out").c_str(), 0, 0) == 0);
    r = s.kw.run({"get", "outs/shared", "--out", (shared / "out").string()});
    CHECK(r.exit_code == 0);
    CHECK(read_file(dir / "victim") == "must not reach the victim file");
}

// SIGKILL (and SIGTERM) at random points of a 64 MiB get --out: half of them once the output
// file is open, the others anywhere in the run. Afterwards the directory holds the old file
// or the whole new one, and nothing else but a whole copy under a keyward temporary name
// (killed between link and rename), which the next run removes.
TEST_CASE("a get --out killed at any point leaves no plaintext but a whole file", "[out][kill]") {
    auto& s = CliSetup::shared();
    std::random_device rd;
    const unsigned seed = rd();
    CAPTURE(seed);
    std::mt19937 rng(seed);
    char marker[33];
    std::snprintf(marker, sizeof marker, "<kill-marker-%08x-%08x>", static_cast<unsigned>(rng()),
                  static_cast<unsigned>(rng()));
    const auto value = put(s, "outs/big", marked_value(64u << 20, marker));
    const std::string old = "the old value, without the marker";

    const auto timed_dir = fresh_dir("out-kill-timing");
    const auto t0 = std::chrono::steady_clock::now();
    auto full = s.kw.run({"get", "outs/big", "--out", (timed_dir / "secret.bin").string()});
    const auto run_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    REQUIRE(full.exit_code == 0);
    REQUIRE(same(read_file(timed_dir / "secret.bin"), value));
    fs::remove_all(timed_dir);  // 64 MiB each: the build tree keeps none of them

    int cut_while_writing = 0;
    for (int i = 0; i < 10; ++i) {
        const int sig = i < 8 ? SIGKILL : SIGTERM;
        const bool at_write = i % 2 == 0;
        CAPTURE(i, sig, at_write);
        const auto dir = fresh_dir("out-kill");
        const auto target = dir / "secret.bin";
        std::ofstream(target) << old;
        auto child = s.kw.start({"get", "outs/big", "--out", target.string()});
        bool writing = false;
        if (at_write) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!child.ended() && std::chrono::steady_clock::now() < deadline &&
                   !(writing = writes_into(child.pid(), dir))) {
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            }
            std::this_thread::sleep_for(
                std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(
                std::uniform_int_distribution<long long>(0, run_us)(rng)));
        }
        child.kill(sig);
        auto r = child.wait();
        const bool killed = r.exit_code == 128 + sig;
        CHECK((killed || r.exit_code == 0));
        if (killed && writing) ++cut_while_writing;

        for (const auto& name : names_in(dir)) {
            CAPTURE(name);
            const std::string content = read_file(dir / name);
            if (name == "secret.bin") {
                INFO("size " << content.size());
                CHECK((content == old || same(content, value)));
            } else {
                // Only a whole copy may carry a name, and only keyward's temporary one.
                CHECK(name.rfind(".secret.bin.keyward-", 0) == 0);
                CHECK(same(content, value));
            }
        }
        // The next run into the directory leaves exactly the target, whole.
        auto next = s.kw.run({"get", "outs/big", "--out", target.string()});
        REQUIRE(next.exit_code == 0);
        CHECK(names_in(dir) == std::set<std::string>{"secret.bin"});
        CHECK(same(read_file(target), value));
        fs::remove_all(dir);
    }
    // Else the random points all missed the write, and the test proved little.
    CHECK(cut_while_writing >= 3);
}
