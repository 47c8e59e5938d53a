// SPDX-License-Identifier: Apache-2.0
// The database failing behind keyward's back, end to end: another process holding the write
// lock (a SQLite connection of the test in BEGIN IMMEDIATE), and a full file system (a small
// tmpfs holding the database, where this machine lets the test mount one).
#include <signal.h>
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli_setup.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Runs keyward, killing it if it has not ended within `limit`: a put that waits out 16 busy
/// timeouts must fail the test, not hang it.
CliResult run_within(const CliRunner& kw, const std::vector<std::string>& args,
                     const std::string& input, double limit, double& took) {
    const auto start = Clock::now();
    auto child = kw.start(args, input);
    while (!child.ended() && seconds_since(start) < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    took = seconds_since(start);
    if (!child.ended()) child.kill(SIGKILL);
    return child.wait();
}

void append(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::app) << text;
}

/// The config with its database line pointing at `db`.
void move_database(const CliSetup& s, const fs::path& db) {
    const fs::path conf = s.dir / "keyward.conf";
    std::string text = read_file(conf), out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        out += line.rfind("database =", 0) == 0 ? "database = " + db.string() : line;
        out += "\n";
        start = end + 1;
    }
    std::ofstream(conf, std::ios::trunc) << out;
}

/// KEK objects in the SoftHSM token of a setup (its *.object files but token.object).
int token_objects(const CliSetup& s) {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(s.dir / "tokens")) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() == ".object" && name != "token.object") ++n;
    }
    return n;
}

/// A tmpfs of `size` at `dir` until destroyed (lazy unmount, so a failed check leaves none).
class Tmpfs {
  public:
    /// nullptr, with the reason, where mounting is not allowed (not root, no CAP_SYS_ADMIN).
    static std::unique_ptr<Tmpfs> mount(const fs::path& dir, const std::string& size,
                                        std::string& why) {
        fs::create_directories(dir);
        const std::string options = "size=" + size + ",mode=0700";
        if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
            why = std::string("cannot mount a tmpfs here: ") + std::strerror(errno);
            return nullptr;
        }
        return std::unique_ptr<Tmpfs>(new Tmpfs(dir));
    }
    ~Tmpfs() { ::umount2(dir_.c_str(), MNT_DETACH); }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;

    /// Writes a file until the file system has not one byte left.
    void fill() const {
        std::FILE* f = std::fopen((dir_ / "filler").c_str(), "wb");
        if (f == nullptr) throw std::runtime_error("cannot create the filler");
        std::setvbuf(f, nullptr, _IONBF, 0);
        const std::vector<char> block(65536, 'x');
        for (std::size_t chunk : {std::size_t{65536}, std::size_t{4096}, std::size_t{1}}) {
            while (std::fwrite(block.data(), 1, chunk, f) == chunk) {
            }
            std::clearerr(f);
        }
        std::fclose(f);
    }
    void free() const { fs::remove(dir_ / "filler"); }

  private:
    explicit Tmpfs(fs::path dir) : dir_(std::move(dir)) {}
    fs::path dir_;
};

}  // namespace

TEST_CASE("a put behind another process's write lock exits 1 within busy_timeout_ms") {
    auto s = CliSetup::fresh("cli-db-lock");
    const fs::path db = s.dir / "keyward.db";
    REQUIRE(s.kw.run({"put", "ns/a", "--kind", "custom_secret"}, "one").exit_code == 0);
    SqliteFile other(db);
    other.exec("BEGIN IMMEDIATE");

    // The default budget: 10 s for the whole put. Before, the put took SQLITE_BUSY for a lost
    // version race and sealed again 16 times, each waiting out a 10 s busy timeout: 160 s,
    // then "written by other writers too fast".
    double took = 0;
    auto slow = run_within(s.kw, {"put", "ns/a", "--kind", "custom_secret"}, "two", 25.0, took);
    INFO(slow.err);
    CHECK(took >= 9.9);
    CHECK(took < 25.0);
    CHECK(slow.exit_code == 1);
    CHECK_THAT(slow.err, Catch::Contains(" is locked by another process (gave up after waiting "
                                         "10000 ms, busy_timeout_ms = 10000)"));

    append(s.dir / "keyward.conf", "busy_timeout_ms = 1000\n");
    auto put = run_within(s.kw, {"put", "ns/a", "--kind", "custom_secret"}, "two", 8.0, took);
    INFO(put.err);
    CHECK(took < 8.0);
    CHECK(took >= 0.9);
    CHECK(put.exit_code == 1);
    CHECK(put.out.empty());
    CHECK(put.err == "keyward: database " + db.string() +
                         " is locked by another process (gave up after waiting 1000 ms, "
                         "busy_timeout_ms = 1000); retry once it has finished, or raise "
                         "busy_timeout_ms in the configuration\n");

    auto json =
        run_within(s.kw, {"--json", "put", "ns/a", "--kind", "custom_secret"}, "two", 8.0, took);
    CHECK(json.exit_code == 1);
    CHECK_THAT(json.out, Catch::Contains("\"code\":\"database_locked\",\"exit\":1"));

    // A read is audited strictly (docs/AUDIT.md): behind the lock its entry cannot be written
    // within the budget, so the value is withheld, in one line.
    auto get = run_within(s.kw, {"get", "ns/a"}, "", 8.0, took);
    CHECK(get.exit_code == 1);
    CHECK(get.out.empty());
    CHECK(get.err == "keyward: record.get could not be audited, so its result is withheld: "
                     "writing the audit log: database " +
                         db.string() +
                         " is locked by another process (gave up after waiting 1000 ms, "
                         "busy_timeout_ms = 1000); retry once it has finished, or raise "
                         "busy_timeout_ms in the configuration\n");

    other.exec("ROLLBACK");
    auto get_after = s.kw.run({"get", "ns/a"});
    CHECK(get_after.exit_code == 0);
    CHECK(get_after.out == "one");
    CHECK(other.integer("SELECT count(*) FROM record_versions") == 1);
    auto after = s.kw.run({"put", "ns/a", "--kind", "custom_secret"}, "two");
    CHECK(after.exit_code == 0);
    CHECK(after.out == "stored ns/a version 2\n");
}

TEST_CASE("a full file system: put names the database and the lack of space, get is withheld") {
    auto s = CliSetup::fresh("cli-db-full");
    REQUIRE(s.kw.run({"put", "ns/a", "--kind", "custom_secret"}, "one").exit_code == 0);
    std::string why;
    auto fs_full = Tmpfs::mount(s.dir / "full", "1m", why);
    if (!fs_full) {
        WARN("skipped, " << why << " (the same checks run over a test VFS in the core suite)");
        return;
    }
    // The database moves onto the small file system and is used there once (keyward keeps its
    // -wal and -shm files beside it), then the file system fills up.
    const fs::path db = s.dir / "full" / "keyward.db";
    fs::copy_file(s.dir / "keyward.db", db);
    move_database(s, db);
    REQUIRE(s.kw.run({"get", "ns/a"}).out == "one");
    fs_full->fill();
    const int keks = token_objects(s);

    const std::string full = "keyward: database " + db.string() +
                             ": no space left on device (SQLITE_FULL); free space on its file "
                             "system, then retry\n";
    auto put = s.kw.run({"put", "ns/a", "--kind", "custom_secret"}, "two");
    CHECK(put.exit_code == 1);
    CHECK(put.err == full);
    // A first put into a new namespace makes its keyring's KEK, then cannot record it.
    auto fresh = s.kw.run({"put", "fresh/x", "--kind", "custom_secret"}, "x");
    CHECK(fresh.exit_code == 1);
    CHECK(fresh.err == full);
    CHECK(token_objects(s) == keks + 1);

    // Reads are audited strictly (docs/AUDIT.md): with no room for their entries, no value
    // leaves keyward unlogged. One line, exit 1, nothing on stdout.
    for (int i = 0; i < 2; ++i) {
        auto get = s.kw.run({"get", "ns/a"});
        CHECK(get.exit_code == 1);
        CHECK(get.out.empty());
        CHECK(get.err ==
              "keyward: record.get could not be audited, so its result is withheld: "
              "writing the audit log: " +
                  full.substr(std::string("keyward: ").size()));
    }

    // Space again: nothing was half-written, and the KEK made for the failed put is adopted.
    fs_full->free();
    auto fresh_again = s.kw.run({"put", "fresh/x", "--kind", "custom_secret"}, "x");
    CHECK(fresh_again.exit_code == 0);
    CHECK(token_objects(s) == keks + 1);
    CHECK(s.kw.run({"get", "fresh/x"}).out == "x");
    auto again = s.kw.run({"put", "ns/a", "--kind", "custom_secret"}, "two");
    CHECK(again.out == "stored ns/a version 2\n");
    SqliteFile check(db);
    CHECK(check.text("PRAGMA integrity_check") == "ok\n");
    CHECK(check.integer("SELECT count(*) FROM record_versions") == 3);
}
