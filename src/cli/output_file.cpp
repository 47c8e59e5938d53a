// SPDX-License-Identifier: Apache-2.0
// Where --out writes, decided by what the target is (see write_output in io.hpp). Replacing
// by rename is right for a regular file only: done to /dev/stdout, a FIFO or a device node,
// it put a regular file holding the secret in the device's place, and a FIFO's reader got
// nothing.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "io.hpp"
#include "keyward/unique_fd.hpp"

namespace keyward::cli {

namespace {

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// STDOUT_FILENO or STDERR_FILENO when `target` is that stream's file, else -1.
int std_stream_of(const struct stat& target) {
    for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && same_file(st, target)) return fd;
    }
    return -1;
}

bool same_as_std_stream(const struct stat& target) {
    return std_stream_of(target) >= 0;
}

// An EPIPE from a FIFO whose reader left becomes a message instead of a silent SIGPIPE death.
class IgnoreSigpipe {
  public:
    IgnoreSigpipe() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGPIPE, &ignore, &previous_);
    }
    ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &previous_, nullptr); }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

  private:
    struct sigaction previous_ {};
};

// A FIFO, a terminal, a device: opened without O_CREAT or O_TRUNC and written as it is. A
// FIFO without a reader waits for one, as any writer would. `nameless` is a regular file
// that has no name to replace (truncated, then written).
Status write_in_place(const std::string& path, ByteView bytes, bool nameless = false) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | (nameless ? O_TRUNC : 0)));
    if (fd.get() < 0) return io_error("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return io_error("cannot write", path, errno);
    if (S_ISREG(st.st_mode) != nameless) {
        // Changed into another kind of file since it was looked at: nothing was written.
        return Error(Errc::io_error, "cannot write " + path + ": it changed while being opened");
    }
    {
        const IgnoreSigpipe no_sigpipe;
        KW_TRY_STATUS(write_all(fd.get(), bytes, path));
    }
    // FIFOs and character devices cannot sync; block devices and files keep what they get.
    if ((S_ISBLK(st.st_mode) || nameless) && ::fsync(fd.get()) != 0)
        return io_error("cannot sync", path, errno);
    if (::close(fd.release()) != 0) return io_error("cannot write", path, errno);
    return {};
}

// The rule of the kernel's fs.protected_symlinks, applied whether or not it is on: a link in
// a sticky, world-writable directory (/tmp) is followed only when it belongs to the caller
// or to the directory's owner. Another local user could otherwise plant /tmp/out ->
// ~/.bashrc and have the secret written over it.
bool may_follow(const std::string& path, const struct stat& link) {
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    if (dir.empty()) dir = ".";
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0) return false;
    const bool shared = (d.st_mode & S_ISVTX) != 0 && (d.st_mode & S_IWOTH) != 0;
    return !shared || link.st_uid == ::geteuid() || link.st_uid == d.st_uid;
}

// A symbolic link to a regular file: the file is replaced and the link stays. When the link
// is another name of our own stdout or stderr (/dev/stdout, /dev/fd/1, /proc/self/fd/2),
// the bytes go to that descriptor, as a shell redirection or `tee /dev/stdout` would.
Status write_through_link(const std::string& path, const struct stat& target, ByteView bytes) {
    if (const int fd = std_stream_of(target); fd >= 0) {
        return write_all(fd, bytes, fd == STDOUT_FILENO ? "standard output" : "standard error");
    }
    std::unique_ptr<char, decltype(&::free)> resolved(::realpath(path.c_str(), nullptr), &::free);
    struct stat st {};
    if (resolved && ::stat(resolved.get(), &st) == 0 && same_file(st, target)) {
        return write_private_file(resolved.get(), bytes, false);
    }
    // A /proc link to a file that was deleted: it has no name to replace, nor to leave a copy
    // under.
    return write_in_place(path, bytes, true);
}

}  // namespace

Status write_output(const std::optional<std::string>& path, ByteView bytes) {
    if (!path || *path == "-") return write_all(STDOUT_FILENO, bytes, "standard output");
    struct stat link {};
    if (::lstat(path->c_str(), &link) != 0) {
        if (errno != ENOENT) return io_error("cannot write", *path, errno);
        return write_private_file(*path, bytes, false);  // a new file
    }
    struct stat target {};
    if (::stat(path->c_str(), &target) != 0) {
        if (errno == ENOENT) {
            // Creating the file the link names could be steered into any directory; replacing
            // the link is not what was asked. Neither is done.
            return Error(Errc::io_error, "cannot write " + *path +
                                             ": it is a symbolic link to a file that does not "
                                             "exist (keyward neither follows nor replaces it)");
        }
        return io_error("cannot write", *path, errno);
    }
    if (S_ISDIR(target.st_mode)) {
        return Error(Errc::io_error, "cannot write " + *path + ": it is a directory");
    }
    if (S_ISLNK(link.st_mode) && !same_as_std_stream(target) && !may_follow(*path, link)) {
        return Error(Errc::io_error,
                     "cannot write " + *path +
                         ": it is a symbolic link of another user in a shared directory (sticky "
                         "and world-writable); keyward does not follow it");
    }
    if (!S_ISREG(target.st_mode)) return write_in_place(*path, bytes);
    if (S_ISLNK(link.st_mode)) return write_through_link(*path, target, bytes);
    return write_private_file(*path, bytes, false);
}

}  // namespace keyward::cli
