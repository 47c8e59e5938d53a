// Input and output for commands: bounded reads from a file or stdin, and writes that either
// land whole or not at all (temporary file, fsync, rename), created with mode 0600.
#pragma once

#include <optional>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::cli {

/// Reads all of `path` (stdin when nullopt or "-"), refusing more than max_bytes with
/// Errc::input_too_large before reading the rest. The buffer is wiped when freed.
Result<SecretBytes> read_input(const std::optional<std::string>& path, std::size_t max_bytes);

/// Writes bytes to `path` (stdout when nullopt or "-"). A file is written beside the target
/// and renamed over it only when complete, mode 0600.
Status write_output(const std::optional<std::string>& path, ByteView bytes);

/// Writes a whole file with mode 0600, refusing to replace an existing one when exclusive.
Status write_private_file(const std::string& path, ByteView bytes, bool exclusive);

}  // namespace keyward::cli
