// SPDX-License-Identifier: Apache-2.0
// Bounded input and whole writes for the CLI (see io.hpp).
#include "io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keyward::cli {

Status write_all(int fd, ByteView bytes, const std::string& name) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot write", name, errno);
        done += static_cast<std::size_t>(n);
    }
    return {};
}

Result<SecretBytes> read_input(const std::optional<std::string>& path, std::size_t max_bytes) {
    const bool from_stdin = !path || *path == "-";
    const std::string name = from_stdin ? std::string("standard input") : *path;
    int fd = from_stdin ? STDIN_FILENO : ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return Error(Errc::not_found, "input file " + name + " does not exist");
        return io_error("cannot open", name, errno);
    }
    SecretBytes data;
    data.reserve(64 * 1024);
    std::uint8_t chunk[64 * 1024];
    Status status;
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            status = io_error("cannot read", name, errno);
            break;
        }
        if (n == 0) break;
        if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
            std::string limit = std::to_string(max_bytes) + " bytes";
            if (max_bytes % (1024 * 1024) == 0) {
                limit = std::to_string(max_bytes / (1024 * 1024)) + " MiB (" + limit + ")";
            }
            status = Error(Errc::input_too_large,
                           name + " is larger than " + limit + ", the most keyward accepts here");
            break;
        }
        data.insert(data.end(), chunk, chunk + n);
    }
    secure_wipe(chunk, sizeof chunk);
    if (!from_stdin) ::close(fd);
    if (!status.ok()) return std::move(status).error();
    return data;
}

}  // namespace keyward::cli
