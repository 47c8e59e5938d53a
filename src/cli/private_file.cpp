// SPDX-License-Identifier: Apache-2.0
// Whole-or-nothing private files (see private_file.hpp).
//
// Where the file system has O_TMPFILE, the data is written into a file without a name, which
// the kernel frees whatever kills the process; it is given a name only once complete and
// synced. linkat(2) cannot replace an existing name, so a replacement links it under a
// temporary name and renames that over the target at once, with SIGINT, SIGTERM and SIGHUP
// blocked: only a SIGKILL (or a crash) between those two calls leaves a named copy, complete,
// mode 0600, which the next keyward writing into that directory removes. Elsewhere the data
// goes into a named temporary that those signals remove.
#include "private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "io.hpp"
#include "keyward/unique_fd.hpp"
#include "temp_files.hpp"

namespace keyward::cli {

namespace {

namespace fs = std::filesystem;

struct Target {
    fs::path dir;
    std::string name;  // file name in dir
    std::string path;  // as the user gave it, for messages
};

Error exists_error(const std::string& path) {
    return Error(Errc::already_exists, path + " already exists; keyward will not overwrite it");
}

Status write_and_sync(int fd, ByteView bytes, const std::string& path) {
    KW_TRY_STATUS(write_all(fd, bytes, path));
    if (::fsync(fd) != 0) return io_error("cannot sync", path, errno);
    return {};
}

// A new name is durable only once its directory is synced: init relies on "the config
// exists" meaning the setup completed.
void sync_dir(const fs::path& dir) {
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() >= 0) ::fsync(dfd.get());
}

// linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link does not.
int link_unnamed(int fd, const std::string& to) {
    const std::string from = "/proc/self/fd/" + std::to_string(fd);
    return ::linkat(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW);
}

bool proc_mounted() {
    return ::access("/proc/self/fd", F_OK) == 0;
}

// nullopt: no O_TMPFILE here (or no /proc to name the file with); the caller falls back.
std::optional<Status> write_unnamed(const Target& t, ByteView bytes, bool exclusive) {
    UniqueFd fd(::open(t.dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return std::nullopt;
        return Status(io_error("cannot create a file in", t.dir.native(), errno));
    }
    if (!proc_mounted()) return std::nullopt;
    KW_TRY_STATUS(write_and_sync(fd.get(), bytes, t.path));
    if (exclusive) {
        if (link_unnamed(fd.get(), t.path) == 0) return Status{};
        if (errno == EEXIST) return Status(exists_error(t.path));
        return Status(io_error("cannot create", t.path, errno));
    }
    const SignalBlock block;
    std::string temp;
    for (int attempt = 0;; ++attempt) {
        temp = temp_name(t.dir, t.name);
        if (link_unnamed(fd.get(), temp) == 0) break;
        if (errno != EEXIST || attempt == 9) {
            return Status(io_error("cannot create a file in", t.dir.native(), errno));
        }
    }
    if (::rename(temp.c_str(), t.path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return Status(io_error("cannot replace", t.path, err));
    }
    return Status{};
}

Status write_named(const Target& t, ByteView bytes, bool exclusive) {
    std::string temp = temp_template(t.dir, t.name);
    std::optional<TempFileGuard> guard;
    int raw = -1;
    {
        const SignalBlock block;  // no signal between the file's creation and its guard
        raw = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
        if (raw < 0) return io_error("cannot create a file in", t.dir.native(), errno);
        guard.emplace(temp);
    }
    UniqueFd fd(raw);
    Status st = write_and_sync(fd.get(), bytes, t.path);
    // close() reports write errors some file systems (NFS) only see then.
    if (st.ok() && ::close(fd.release()) != 0) st = io_error("cannot write", t.path, errno);
    const SignalBlock block;
    bool renamed = false;
    if (st.ok() && exclusive) {
        if (::link(temp.c_str(), t.path.c_str()) != 0) {
            st = errno == EEXIST ? exists_error(t.path) : io_error("cannot create", t.path, errno);
        }
    } else if (st.ok()) {
        renamed = ::rename(temp.c_str(), t.path.c_str()) == 0;
        if (!renamed) st = io_error("cannot replace", t.path, errno);
    }
    if (!renamed) ::unlink(temp.c_str());
    guard.reset();
    return st;
}

}  // namespace

Status write_private_file(const std::string& path, ByteView bytes,
                          const PrivateFileOptions& options) {
    const fs::path target(path);
    const std::string name = target.filename().string();
    if (name.empty() || name == "." || name == "..") {
        return Error(Errc::io_error, "cannot write " + path + ": it names a directory");
    }
    Target t{target.has_parent_path() ? target.parent_path() : fs::path("."), name, path};
    struct stat st {};
    if (options.exclusive && ::lstat(path.c_str(), &st) == 0) return exists_error(path);
    remove_stale_temps(t.dir);
    std::optional<Status> done;
    if (options.unnamed) done = write_unnamed(t, bytes, options.exclusive);
    if (!done) done = write_named(t, bytes, options.exclusive);
    if (done->ok()) sync_dir(t.dir);
    return std::move(*done);
}

}  // namespace keyward::cli
