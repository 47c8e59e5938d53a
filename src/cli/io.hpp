// SPDX-License-Identifier: Apache-2.0
// Input and output for commands: bounded reads from a file or stdin, and writes to stdout or
// an --out target (output_file.cpp), whose regular files land whole or not at all, mode 0600
// (private_file.hpp).
#pragma once

#include <optional>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "private_file.hpp"

namespace keyward::cli {

/// Reads all of `path` (stdin when nullopt or "-"), refusing more than max_bytes with
/// Errc::input_too_large before reading the rest. The buffer is wiped when freed.
Result<SecretBytes> read_input(const std::optional<std::string>& path, std::size_t max_bytes);

/// Writes bytes to `path` (stdout when nullopt or "-"). What an existing target is decides
/// how: a regular file is replaced whole (write_private_file; through a symbolic link, the
/// file it names is replaced and the link kept); anything else (a FIFO, a terminal or another
/// device, this process's own stdout or stderr by any name such as /dev/stdout) is opened and
/// written in place, never replaced. A directory, or a link to nothing, is refused.
Status write_output(const std::optional<std::string>& path, ByteView bytes);

/// Writes all of bytes to fd, retrying short writes and EINTR; `name` is for the message.
Status write_all(int fd, ByteView bytes, const std::string& name);

}  // namespace keyward::cli
