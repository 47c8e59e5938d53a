// SPDX-License-Identifier: Apache-2.0
// Keeps SoftHSM 2.6.1's file store from losing a token when a process dies inside C_Login: an
// exclusive lock around every keyward "C_Initialize ... C_Login" sequence, and a copy of each
// token's token.object that is put back when SoftHSM left the file empty.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/error.hpp"

namespace keyward::p11 {

/// Whether the guard applies to a module: its file name (not its directory) contains "softhsm",
/// in any case ("libsofthsm2.so", "libsofthsm2-custom.so"). A renamed SoftHSM module goes
/// unguarded; any other module is never touched.
bool is_softhsm_module(std::string_view module_path);

/// The configuration file SoftHSM 2.6.1 reads (SimpleConfigLoader::getConfigPath):
/// `softhsm2_conf` when non-empty (keyward exports it as SOFTHSM2_CONF before C_Initialize),
/// else $SOFTHSM2_CONF, else $HOME/.config/softhsm2/softhsm2.conf when readable, else
/// /etc/softhsm/softhsm2.conf.
std::string softhsm_config_path(const std::string& softhsm2_conf);

/// directories.tokendir in a SoftHSM configuration text, read the way SoftHSM 2.6.1 reads it:
/// each line is cut at the first '#', CR or LF; the name is the text before the first '=', the
/// value the text up to the next '=', both trimmed; the last assignment wins. nullopt when the
/// key is absent (SoftHSM then uses its built-in /var/lib/softhsm/tokens/).
std::optional<std::string> parse_softhsm_tokendir(std::string_view config_text);

/// An exclusive lock on <tokendir>/keyward-login.lock, held from before C_Initialize until the
/// login has succeeded, so that no keyward process scans the token directory (C_Initialize) or
/// rewrites a token.object (C_Login) while another one is doing either. Under the lock, before
/// the module is initialised, every token.object that a killed process left empty (or that is
/// missing beside the token's object files), and that stays so for 100 ms, is restored from
/// keyward's copy; after a successful login, refresh_copy() brings that token's copy up to date.
/// A copy is the file as of keyward's last login there: a PIN changed since by another tool
/// comes back as the old one (docs/OPERATIONS.md).
///
/// Files it writes, all mode 0600 and all at the top level of the token directory, where
/// SoftHSM looks only at sub-directories (each one a token): keyward-login.lock and
/// keyward-<token dir name>.token.object.copy (with a ".tmp" while it is being replaced). A
/// restore writes token.object.keyward-restore inside the token's directory and renames it over
/// token.object; SoftHSM loads only names ending in ".object" there.
///
/// Move-only. The destructor unlocks and closes; nothing throws across it.
class SoftHsmLoginGuard {
  public:
    /// How long acquire() waits for another process's login to finish by default.
    static constexpr std::chrono::milliseconds kDefaultWait{30000};

    /// Takes the lock for a module about to be initialised and logged in to. nullopt, and no
    /// error, when the guard does not apply or cannot work: the module is not SoftHSM, its
    /// configuration cannot be read, the token directory does not exist, or the lock file
    /// cannot be created or opened (a system token directory that is not ours and not
    /// writable); the caller then proceeds without it, as keyward did before the guard.
    /// Errors: Errc::hsm_unavailable when another process has held the lock for `wait` (it is
    /// stuck inside SoftHSM's login; the message names the lock file and its last holder).
    static Result<std::optional<SoftHsmLoginGuard>> acquire(
        const std::string& module_path, const std::string& softhsm2_conf,
        std::chrono::milliseconds wait = kDefaultWait);

    /// acquire() without the module name check: for a connection whose quirks profile has
    /// login-guard on (quirks.hpp decides where the guard applies; keyward.conf may add it
    /// for a renamed SoftHSM module).
    static Result<std::optional<SoftHsmLoginGuard>> acquire_for_config(
        const std::string& softhsm2_conf, std::chrono::milliseconds wait = kDefaultWait);

    /// Same for a known token directory (acquire() after reading the configuration).
    static Result<std::optional<SoftHsmLoginGuard>> acquire_tokendir(
        const std::string& tokendir, std::chrono::milliseconds wait = kDefaultWait);

    SoftHsmLoginGuard(SoftHsmLoginGuard&& other) noexcept;
    SoftHsmLoginGuard& operator=(SoftHsmLoginGuard&& other) noexcept;
    SoftHsmLoginGuard(const SoftHsmLoginGuard&) = delete;
    SoftHsmLoginGuard& operator=(const SoftHsmLoginGuard&) = delete;
    ~SoftHsmLoginGuard();

    /// After a successful C_Login, still holding the lock: copies the token.object that
    /// carries `token_serial` (SoftHSM stores the serial in it) to its keyward copy, atomically
    /// and mode 0600, when the file is non-empty and differs from the copy. Returns whether a
    /// copy was written. Errors: Errc::io_error naming the file (the token itself is untouched;
    /// callers should not fail a login for it).
    Result<bool> refresh_copy(std::string_view token_serial);

    /// Unlocks now (the destructor does it otherwise).
    void release() noexcept;

    const std::string& tokendir() const noexcept { return tokendir_; }
    /// Names of the token directories whose token.object acquire() restored.
    const std::vector<std::string>& restored() const noexcept { return restored_; }
    /// One line per restore, and per token.object that was empty but could not be restored.
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }

    /// <tokendir>/keyward-login.lock
    static std::string lock_path(const std::string& tokendir);
    /// <tokendir>/keyward-<token_dir_name>.token.object.copy
    static std::string copy_path(const std::string& tokendir, const std::string& token_dir_name);

  private:
    SoftHsmLoginGuard(std::string tokendir, int fd) noexcept;
    void restore_emptied_tokens();

    // std::string, not std::filesystem::path: <filesystem> brings std::quoted into ADL for
    // every file that includes this header.
    std::string tokendir_;
    int fd_ = -1;
    std::vector<std::string> restored_;
    std::vector<std::string> warnings_;
};

}  // namespace keyward::p11
