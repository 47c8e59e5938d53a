// SPDX-License-Identifier: Apache-2.0
// Where the tests find their inputs and scratch space, and why an executable may be skipped.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "keyward/bytes.hpp"

namespace keyward::test {

/// Defined once per test executable by linking one of the needs_*.cpp files: the reason this
/// executable cannot run here, or nullopt.
std::optional<std::string> skip_reason();

/// Why SoftHSM tests cannot run here (module not installed, not run through meson), or nullopt.
std::optional<std::string> softhsm_missing();

/// The test vectors directory: $KEYWARD_VECTORS when set, else the repository's tests/vectors
/// (meson passes its path). The vectors are part of the repository, so a missing directory is
/// a broken checkout or a wrong override: this throws (failing the test) rather than skipping.
std::filesystem::path vectors_dir();

/// A fresh, empty directory under the build tree (never /tmp of the system token).
std::filesystem::path fresh_dir(const std::string& name);

/// Decodes lowercase or uppercase hex; aborts the test on bad input.
Bytes from_hex(std::string_view hex);

std::string read_file(const std::filesystem::path& path);

/// The names of the entries of a directory (to see what a writer left behind).
std::set<std::string> names_in(const std::filesystem::path& dir);

/// a == b as a plain bool: Catch would print both sides of a failed CHECK(a == b), and
/// printing a 64 MiB value takes minutes.
bool same(const std::string& a, const std::string& b);

}  // namespace keyward::test
