// SPDX-License-Identifier: Apache-2.0
// Line reading over read(2) into a zeroizing buffer: stdio and std::getline would leave copies
// of secret lines in buffers nobody wipes.
#include "line_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace keyward::cli {

namespace {
constexpr std::size_t kChunk = 256 * 1024;
}

Result<LineReader> LineReader::open(const std::string& path, std::size_t max_line) {
    const bool from_stdin = path == "-";
    const std::string name = from_stdin ? std::string("standard input") : path;
    int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return Error(Errc::not_found, "input file " + name + " does not exist");
        return io_error("cannot open", name, errno);
    }
    struct stat st {};
    std::uint64_t total = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        total = static_cast<std::uint64_t>(st.st_size);
    return LineReader(fd, !from_stdin, name, max_line, total);
}

LineReader::LineReader(LineReader&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      owned_(other.owned_),
      name_(std::move(other.name_)),
      max_line_(other.max_line_),
      total_(other.total_),
      consumed_(other.consumed_),
      line_number_(other.line_number_),
      buffer_(std::move(other.buffer_)),
      start_(other.start_),
      eof_(other.eof_) {}

LineReader::~LineReader() {
    if (owned_ && fd_ >= 0) ::close(fd_);
}

Result<bool> LineReader::fill() {
    // Drop what was returned already, then append one chunk.
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    for (;;) {
        ssize_t n = ::read(fd_, buffer_.data() + old, kChunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            buffer_.resize(old);
            return io_error("cannot read", name_, errno);
        }
        buffer_.resize(old + static_cast<std::size_t>(n));
        if (n == 0) eof_ = true;
        return n > 0;
    }
}

Result<bool> LineReader::next(SecretBytes& line) {
    std::size_t scanned = start_;
    for (;;) {
        auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(scanned);
        auto nl = std::find(begin, buffer_.end(), std::uint8_t{'\n'});
        if (nl != buffer_.end() || (eof_ && start_ < buffer_.size())) {
            const auto end = static_cast<std::size_t>(nl - buffer_.begin());
            if (end - start_ > max_line_) break;
            line.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(start_), nl);
            const std::size_t taken = end - start_ + (nl != buffer_.end() ? 1 : 0);
            consumed_ += taken;
            start_ += taken;
            ++line_number_;
            return true;
        }
        if (eof_) return false;
        if (buffer_.size() - start_ > max_line_) break;
        // fill() moves the unreturned bytes to the front: resume the scan where it stopped.
        scanned = buffer_.size() - start_;
        KW_TRY(bool more, fill());
        (void)more;
    }
    return Error(Errc::input_too_large, name_ + " line " + std::to_string(line_number_ + 1) +
                                            " is longer than " + std::to_string(max_line_ >> 20) +
                                            " MiB; keyward stops reading there");
}

}  // namespace keyward::cli
