// SPDX-License-Identifier: Apache-2.0
// The temporary names keyward writes output files under, and their cleanup: removal on
// SIGINT, SIGTERM and SIGHUP while one exists, and removal of the ones a killed process left
// behind (SIGKILL, power loss) by the next keyward that writes into the same directory.
//
// A temporary is named ".<target>.keyward-<pid>.<6 random characters>", beside its target.
// The pid says whose it is: one whose process is gone is stale.
#pragma once

#include <signal.h>

#include <filesystem>
#include <string>

namespace keyward::cli {

/// The mkostemp template of a temporary for `target` in `dir` ("XXXXXX" at the end).
std::string temp_template(const std::filesystem::path& dir, const std::string& target);

/// A fresh temporary name for `target` in `dir` (random suffix; not checked for existence).
std::string temp_name(const std::filesystem::path& dir, const std::string& target);

/// True when `name` (a file name, no directory) is a keyward temporary, with its pid.
bool parse_temp_name(const std::string& name, long& pid);

/// Removes, from `dir`, the keyward temporaries of any target whose process no longer exists
/// and that belong to this user. Errors are ignored: this is housekeeping, and a temporary
/// that cannot be removed is left for the next run.
void remove_stale_temps(const std::filesystem::path& dir);

/// Blocks SIGINT, SIGTERM and SIGHUP for its lifetime, so that the steps between "a named
/// temporary exists" and "it is renamed or removed" are not cut by them. A blocked signal
/// arrives when the block ends.
class SignalBlock {
  public:
    SignalBlock();
    ~SignalBlock();
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

  private:
    sigset_t saved_;
};

/// While alive, SIGINT, SIGTERM and SIGHUP remove the named temporary before the signal takes
/// its course (the previous disposition, re-raised). One at a time per process.
class TempFileGuard {
  public:
    /// Call with the signals blocked (SignalBlock) right after creating the file, so that
    /// no signal falls between its creation and its registration.
    explicit TempFileGuard(const std::string& path);
    ~TempFileGuard();
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;
};

}  // namespace keyward::cli
