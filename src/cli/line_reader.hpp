// SPDX-License-Identifier: Apache-2.0
// Reads a file (or stdin) line by line into wiped memory, with a cap on line length, for bulk
// inputs whose lines hold secrets (keyward import).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::cli {

class LineReader {
  public:
    /// path "-" is stdin.
    static Result<LineReader> open(const std::string& path, std::size_t max_line);
    LineReader(LineReader&& other) noexcept;
    LineReader& operator=(LineReader&&) = delete;
    ~LineReader();

    /// The next line without its "\n" into `line`; false at the end. A line longer than
    /// max_line is Errc::input_too_large (the reader stops there).
    Result<bool> next(SecretBytes& line);

    std::size_t line_number() const noexcept { return line_number_; }
    std::uint64_t bytes_read() const noexcept { return consumed_; }
    /// Size of a regular file, 0 when unknown (a pipe).
    std::uint64_t total_bytes() const noexcept { return total_; }

  private:
    LineReader(int fd, bool owned, std::string name, std::size_t max_line, std::uint64_t total)
        : fd_(fd), owned_(owned), name_(std::move(name)), max_line_(max_line), total_(total) {}
    Result<bool> fill();

    int fd_ = -1;
    bool owned_ = false;
    std::string name_;
    std::size_t max_line_ = 0;
    std::uint64_t total_ = 0, consumed_ = 0;
    std::size_t line_number_ = 0;
    SecretBytes buffer_;  // read but not yet returned
    std::size_t start_ = 0;
    bool eof_ = false;
};

}  // namespace keyward::cli
