// SPDX-License-Identifier: Apache-2.0
// The SoftHSM login guard. What it relies on in SoftHSM 2.6.1's file store (src/lib/object_store
// and src/lib/slot_mgr of opendnssec/SoftHSMv2):
//  - ObjectStore loads every sub-directory of directories.tokendir as a token and ignores its
//    regular files; OSToken::index loads, inside a token directory, only names longer than 7
//    characters that end in ".object", other than "token.object" (which holds the token's
//    label, serial, flags and the SO and user PIN blobs that wrap the token's key).
//  - ObjectFile::store rewrites token.object in place: open without O_TRUNC, fcntl write lock,
//    ftruncate to 0, fwrite into a stdio buffer, unlock, and only then fclose writes the bytes.
//    Token::loginUser and loginSO (C_Login, also with a wrong PIN), reAuthenticate
//    (C_Login CKU_CONTEXT_SPECIFIC), initUserPIN (C_InitPIN), setUserPIN/setSOPIN (C_SetPIN) and
//    createToken/resetToken (C_InitToken) all store it. A SIGKILL between the ftruncate and the
//    fclose leaves it at 0 bytes, and ObjectFile::refresh then marks the file invalid: the token
//    disappears ("no token"), and with its PIN blobs every private object (each KEK) is lost.
//  - A process whose C_Initialize reads token.object inside that window (after the unlock,
//    before the fclose) loads the token without serial or PIN blobs.
#include "p11/softhsm_login_guard.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <utility>

#include "keyward/bytes.hpp"
#include "keyward/unique_fd.hpp"

namespace keyward::p11 {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = "keyward-login.lock";
constexpr const char* kTokenObject = "token.object";
// Inside a token directory: does not end in ".object", so SoftHSM never loads it.
constexpr const char* kRestoreTemp = "token.object.keyward-restore";
// SoftHSM's built-in directories.tokendir (Debian's build) when the configuration has none.
constexpr const char* kDefaultTokendir = "/var/lib/softhsm/tokens/";
// token.object is a few hundred bytes; anything near this is not one.
constexpr std::size_t kMaxTokenObject = 1 << 20;
// How long an empty token.object must stay unchanged before it is restored. Keyward processes
// cannot be writing it (we hold the lock), but another program using the same token directory
// may be between its ftruncate and its fclose, which takes microseconds.
constexpr std::chrono::milliseconds kSettle{100};

// The whole file, nullopt when it does not exist. Wiped on free: token.object's PIN blobs are
// what a PIN guess is checked against.
// The file's bytes; a missing file reads as empty (and sets *exists to false when asked).
// Not std::optional<SecretBytes>: GCC 12 at -O3 warns falsely (-Wmaybe-uninitialized) on it.
Result<SecretBytes> read_small_file(const fs::path& path, bool* exists = nullptr) {
    if (exists != nullptr) *exists = true;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) {
        if (errno == ENOENT) {
            if (exists != nullptr) *exists = false;
            return SecretBytes();
        }
        return io_error("cannot open", path.native(), errno);
    }
    SecretBytes out;
    out.reserve(4096);
    std::uint8_t buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot read", path.native(), errno);
        if (n == 0) break;
        if (out.size() + static_cast<std::size_t>(n) > kMaxTokenObject) {
            return Error(Errc::io_error, path.string() + " is larger than 1 MiB; not a token file");
        }
        out.insert(out.end(), buf, buf + n);
    }
    secure_wipe(buf, sizeof buf);
    return out;
}

Status fsync_dir(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return io_error("cannot open", dir.native(), errno);
    if (::fsync(fd.get()) != 0) return io_error("cannot sync", dir.native(), errno);
    return ok_status();
}

// Replaces `target` whole or not at all: a temporary file in the same directory, written,
// made 0600, synced, renamed over it, then the directory synced so the rename survives a crash.
// The new file gets `owner`'s uid and gid when we may set them (root restoring a file of
// another user), so that the token's owner can still read it.
// `still_wanted`, when given, is asked last, right before the rename: false leaves the target
// alone (and is no error).
Status write_atomically(const fs::path& target, const std::string& temp_name, ByteView bytes,
                        const struct stat* owner,
                        const std::function<bool()>& still_wanted = nullptr) {
    const fs::path dir = target.parent_path();
    const fs::path temp = dir / temp_name;
    ::unlink(temp.c_str());  // left by a process killed while writing it
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return io_error("cannot create", temp.native(), errno);
    auto fail = [&](const std::string& what, int e) {
        ::unlink(temp.c_str());
        return io_error(what, temp.native(), e);
    };
    if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod", errno);  // whatever the umask
    if (owner != nullptr && ::fchown(fd.get(), owner->st_uid, owner->st_gid) != 0) {
        // Not root, or not a member of its group: the file stays ours, which it is anyway
        // when we are the token's owner.
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("cannot write", errno);
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return fail("cannot sync", errno);
    if (::close(fd.release()) != 0) return fail("cannot close", errno);
    if (still_wanted && !still_wanted()) {
        ::unlink(temp.c_str());
        return ok_status();
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename over", errno);
    return fsync_dir(dir);
}

// SoftHSM's own test for the files of a token directory it loads as objects.
bool is_object_file_name(const std::string& name) {
    return name.size() > 7 && name.ends_with(".object") && name != kTokenObject;
}

bool has_object_files(const fs::path& token_dir) {
    std::error_code ec;
    for (fs::directory_iterator it(token_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (is_object_file_name(it->path().filename().string())) return true;
    }
    return false;
}

// What is wrong with a token directory's token.object, if anything: "" when it is fine (or
// not ours to judge: a directory with no token.object and no objects is not a file-store token),
// else "empty" or "missing". `seen` receives its stat for the settle check.
std::string token_object_problem(const fs::path& token_dir, struct stat& seen) {
    const fs::path object = token_dir / kTokenObject;
    if (::stat(object.c_str(), &seen) == 0) {
        return S_ISREG(seen.st_mode) && seen.st_size == 0 ? "empty" : "";
    }
    std::memset(&seen, 0, sizeof seen);
    return errno == ENOENT && has_object_files(token_dir) ? "missing" : "";
}

bool same_state(const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// The token sub-directories as SoftHSM enumerates them: directories, not symbolic links.
std::vector<fs::path> token_dirs(const fs::path& tokendir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(tokendir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->symlink_status(type_ec).type() == fs::file_type::directory) {
            out.push_back(it->path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string trim(std::string_view s) {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

// strtok(…, "=") as SoftHSM's loader uses it: skip leading '=', take up to the next one.
std::optional<std::string_view> next_field(std::string_view line, std::size_t& pos) {
    while (pos < line.size() && line[pos] == '=') ++pos;
    if (pos >= line.size()) return std::nullopt;
    std::size_t end = line.find('=', pos);
    if (end == std::string_view::npos) end = line.size();
    auto field = line.substr(pos, end - pos);
    pos = end < line.size() ? end + 1 : end;
    return field;
}

}  // namespace

bool is_softhsm_module(std::string_view module_path) {
    const auto slash = module_path.find_last_of('/');
    std::string name(slash == std::string_view::npos ? module_path : module_path.substr(slash + 1));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name.find("softhsm") != std::string::npos;
}

std::string softhsm_config_path(const std::string& softhsm2_conf) {
    if (!softhsm2_conf.empty()) return softhsm2_conf;
    if (const char* env = std::getenv("SOFTHSM2_CONF"); env != nullptr) return env;
    std::string home;
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        home = h;
    } else {
        struct passwd pwd {};
        struct passwd* found = nullptr;
        char buf[1024];
        if (::getpwuid_r(::getuid(), &pwd, buf, sizeof buf, &found) == 0 && found != nullptr) {
            home = found->pw_dir;
        }
    }
    if (!home.empty()) {
        std::string user = home + "/.config/softhsm2/softhsm2.conf";
        if (::access(user.c_str(), R_OK) == 0) return user;
    }
    return "/etc/softhsm/softhsm2.conf";
}

std::optional<std::string> parse_softhsm_tokendir(std::string_view config_text) {
    std::optional<std::string> tokendir;
    while (!config_text.empty()) {
        const auto eol = config_text.find('\n');
        std::string_view line = config_text.substr(0, eol);
        config_text.remove_prefix(eol == std::string_view::npos ? config_text.size() : eol + 1);
        line = line.substr(0, line.find_first_of("#\r"));
        std::size_t pos = 0;
        const auto name = next_field(line, pos);
        if (!name) continue;
        const auto value = next_field(line, pos);
        if (!value) continue;
        std::string v = trim(*value);
        if (trim(*name) == "directories.tokendir" && !v.empty()) tokendir = std::move(v);
    }
    return tokendir;
}

std::string SoftHsmLoginGuard::lock_path(const std::string& tokendir) {
    return (fs::path(tokendir) / kLockName).string();
}

std::string SoftHsmLoginGuard::copy_path(const std::string& tokendir,
                                         const std::string& token_dir_name) {
    return (fs::path(tokendir) / ("keyward-" + token_dir_name + ".token.object.copy")).string();
}

SoftHsmLoginGuard::SoftHsmLoginGuard(std::string tokendir, int fd) noexcept
    : tokendir_(std::move(tokendir)), fd_(fd) {}

SoftHsmLoginGuard::SoftHsmLoginGuard(SoftHsmLoginGuard&& other) noexcept
    : tokendir_(std::move(other.tokendir_)),
      fd_(std::exchange(other.fd_, -1)),
      restored_(std::move(other.restored_)),
      warnings_(std::move(other.warnings_)) {}

SoftHsmLoginGuard& SoftHsmLoginGuard::operator=(SoftHsmLoginGuard&& other) noexcept {
    if (this != &other) {
        release();
        tokendir_ = std::move(other.tokendir_);
        fd_ = std::exchange(other.fd_, -1);
        restored_ = std::move(other.restored_);
        warnings_ = std::move(other.warnings_);
    }
    return *this;
}

SoftHsmLoginGuard::~SoftHsmLoginGuard() {
    release();
}

void SoftHsmLoginGuard::release() noexcept {
    if (fd_ < 0) return;
    // Explicitly, not only by close(): a child forked meanwhile shares this open file
    // description, and its copy of the descriptor would otherwise keep the lock.
    (void)::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
}

Result<std::optional<SoftHsmLoginGuard>> SoftHsmLoginGuard::acquire(
    const std::string& module_path, const std::string& softhsm2_conf,
    std::chrono::milliseconds wait) {
    if (!is_softhsm_module(module_path)) return std::optional<SoftHsmLoginGuard>();
    return acquire_for_config(softhsm2_conf, wait);
}

Result<std::optional<SoftHsmLoginGuard>> SoftHsmLoginGuard::acquire_for_config(
    const std::string& softhsm2_conf, std::chrono::milliseconds wait) {
    // An unreadable configuration makes SoftHSM's own C_Initialize fail with its own error.
    bool exists = false;
    auto text = read_small_file(softhsm_config_path(softhsm2_conf), &exists);
    if (!text.ok() || !exists) return std::optional<SoftHsmLoginGuard>();
    const std::string_view conf(reinterpret_cast<const char*>(text->data()), text->size());
    return acquire_tokendir(parse_softhsm_tokendir(conf).value_or(kDefaultTokendir), wait);
}

Result<std::optional<SoftHsmLoginGuard>> SoftHsmLoginGuard::acquire_tokendir(
    const std::string& tokendir, std::chrono::milliseconds wait) {
    struct stat st {};
    if (::stat(tokendir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return std::optional<SoftHsmLoginGuard>();
    }
    const fs::path lock = lock_path(tokendir);
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) return std::optional<SoftHsmLoginGuard>();  // not ours: go without the guard
    SoftHsmLoginGuard guard(tokendir, fd);
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::optional<SoftHsmLoginGuard>();
    if (st.st_uid == ::geteuid() && (st.st_mode & 077) != 0) (void)::fchmod(fd, 0600);

    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
        if (errno == EINTR) continue;
        // A file system without flock: the guard cannot work there.
        if (errno != EWOULDBLOCK) return std::optional<SoftHsmLoginGuard>();
        if (std::chrono::steady_clock::now() >= deadline) {
            char holder[32] = {};
            const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
            std::string pid = n > 0 ? trim(std::string_view(holder, static_cast<std::size_t>(n)))
                                    : std::string("unknown");
            return Error(Errc::hsm_unavailable,
                         "another process has held " + lock.string() + " for " +
                             std::to_string(wait.count()) + " ms (last taken by pid " + pid +
                             "): a keyward process seems stuck logging in to SoftHSM; retry, or "
                             "find it with fuser " +
                             lock.string());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // Who holds it, for the message above in another process. Best effort.
    const std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, me.data(), me.size(), 0) < 0) {
        // Only the message of a waiter that times out loses the pid.
    }

    guard.restore_emptied_tokens();
    return std::optional<SoftHsmLoginGuard>(std::move(guard));
}

void SoftHsmLoginGuard::restore_emptied_tokens() {
    for (const auto& dir : token_dirs(tokendir_)) {
        struct stat before {};
        const std::string problem = token_object_problem(dir, before);
        if (problem.empty()) continue;
        const std::string name = dir.filename().string();
        const fs::path object = dir / kTokenObject;
        const fs::path copy = copy_path(tokendir_, name);
        auto saved = read_small_file(copy);
        if (!saved.ok() || saved->empty()) {
            warnings_.push_back(object.string() + " is " + problem +
                                " and keyward has no copy of it (" + copy.string() +
                                (saved.ok() ? "" : ": " + saved.error().message()) +
                                "); the token cannot be loaded: restore its directory from a "
                                "backup");
            continue;
        }
        std::this_thread::sleep_for(kSettle);
        struct stat after {};
        if (token_object_problem(dir, after) != problem || !same_state(before, after)) continue;

        struct stat owner {};
        const bool have_owner =
            ::stat(problem == "empty" ? object.c_str() : dir.c_str(), &owner) == 0;
        // Checked again after the copy's fsync, just before the rename: a program outside
        // keyward (softhsm2-util, a PIN change) that wrote the file meanwhile keeps its file.
        bool replaced = false;
        auto written =
            write_atomically(object, kRestoreTemp, *saved, have_owner ? &owner : nullptr, [&] {
                struct stat now {};
                replaced = token_object_problem(dir, now) == problem && same_state(before, now);
                return replaced;
            });
        if (written.ok() && !replaced) continue;
        if (!written.ok()) {
            warnings_.push_back(
                object.string() + " is " + problem +
                " and restoring it from keyward's copy failed: " + written.error().message());
            continue;
        }
        restored_.push_back(name);
        warnings_.push_back("restored " + object.string() + " (it was " + problem +
                            ": a process was killed while SoftHSM rewrote it) from keyward's "
                            "copy " +
                            copy.string());
    }
}

Result<bool> SoftHsmLoginGuard::refresh_copy(std::string_view token_serial) {
    if (fd_ < 0) {
        return Error(Errc::failed, "the SoftHSM login lock was released before refresh_copy");
    }
    if (token_serial.empty()) return false;
    bool wrote = false;
    for (const auto& dir : token_dirs(tokendir_)) {
        const fs::path object = dir / kTokenObject;
        // Another user's token in a shared directory may be unreadable to us: not ours.
        auto current = read_small_file(object);
        if (!current.ok() || current->empty()) continue;
        // SoftHSM stores the serial as a byte string attribute of token.object.
        const auto serial = as_bytes(token_serial);
        const SecretBytes& bytes = *current;
        if (std::search(bytes.begin(), bytes.end(), serial.begin(), serial.end()) == bytes.end()) {
            continue;
        }
        const fs::path copy = copy_path(tokendir_, dir.filename().string());
        KW_TRY(auto saved, read_small_file(copy));
        if (saved == bytes) continue;  // bytes is not empty: a missing copy never matches
        struct stat owner {};
        const bool have_owner = ::stat(object.c_str(), &owner) == 0;
        KW_TRY_STATUS(write_atomically(copy, copy.filename().string() + ".tmp", bytes,
                                       have_owner ? &owner : nullptr));
        wrote = true;
    }
    return wrote;
}

}  // namespace keyward::p11
