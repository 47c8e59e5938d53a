// SPDX-License-Identifier: Apache-2.0
// Regular files that land whole or not at all, mode 0600: outputs (--out), and init's
// configuration and PIN files. No plaintext may outlive a killed process under another name.
#pragma once

#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::cli {

struct PrivateFileOptions {
    /// Never replace an existing file, whatever it is (init: a lost config must not lead to
    /// new PINs over the old ones). Otherwise an existing regular file is replaced.
    bool exclusive = false;
    /// Write the data into an unnamed file (O_TMPFILE) and give it its name only once it is
    /// complete and synced. Tests turn it off to exercise the fallback that file systems
    /// without O_TMPFILE get: a named temporary removed on SIGINT, SIGTERM and SIGHUP, and
    /// by the next run after a SIGKILL (temp_files.hpp).
    bool unnamed = true;
};

/// Writes `bytes` to the regular file `path` with mode 0600. The file appears (or replaces
/// the old one, by rename) only complete and fsync'd, and the directory is synced after.
/// Before writing, stale temporaries left in that directory by killed keyward processes are
/// removed. Errc::already_exists when exclusive and the name exists; Errc::io_error with the
/// path and the system's reason otherwise.
Status write_private_file(const std::string& path, ByteView bytes,
                          const PrivateFileOptions& options);

inline Status write_private_file(const std::string& path, ByteView bytes, bool exclusive) {
    return write_private_file(path, bytes, PrivateFileOptions{.exclusive = exclusive});
}

}  // namespace keyward::cli
