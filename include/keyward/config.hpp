// SPDX-License-Identifier: Apache-2.0
// keyward's configuration: which PKCS#11 module and token, where the PIN comes from, which
// database. The file is "key = value" lines with '#' comments (the format of softhsm2.conf).
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/error.hpp"

namespace keyward {

/// busy_timeout_ms when the config does not set it.
inline constexpr std::uint32_t kDefaultBusyTimeoutMs = 10000;

/// keywardd's settings (docs/SERVICE.md); the library and the CLI ignore them.
struct ServiceSettings {
    std::vector<std::string> listen;  ///< "ADDR:PORT" (IPv6 as "[::1]:8200"); repeatable
    std::filesystem::path socket;     ///< a Unix socket path; empty for none
    std::filesystem::path tls_cert, tls_key, tls_client_ca;
    std::uint32_t workers = 0;  ///< handler threads; 0: 2 * hardware threads
    std::uint32_t max_connections = 1024;
    std::uint32_t max_batch_items = 1000;
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t idle_timeout_ms = 60000;
    /// Time a client may take nothing of an answer before it is cut off.
    std::uint32_t write_timeout_ms = 60000;
    std::uint32_t drain_timeout_ms = 10000;
    /// How often keywardd looks for keyrings whose auto-rotate period has passed (0: never).
    std::uint32_t auto_rotate_check_ms = 60000;
    /// Run keywardd's threads under Linux's SCHED_BATCH policy (`service_scheduling = batch`,
    /// the default) or leave the policy it was started with (`normal`). docs/SERVICE.md.
    bool batch_scheduling = true;
};

struct Config {
    std::filesystem::path source;         ///< the file it was read from (empty when built in code)
    std::string module;                   ///< path of the PKCS#11 module
    std::string token;                    ///< token label, or RFC 7512 "pkcs11:" URI
    std::string pin_source;               ///< "env:VAR", "file:PATH" or "prompt"
    std::filesystem::path database;       ///< SQLite database file
    std::filesystem::path softhsm2_conf;  ///< when set, SOFTHSM2_CONF for the module
    std::uint64_t gcm_wrap_limit = std::uint64_t{1} << 31;  ///< suite 2 wraps per KEK version
    std::uint64_t gcm_wrap_reserve = 256;  ///< wraps reserved per durable counter update
    /// Session objects after which the token connection finalises the module and logs in
    /// again (0: never); unset: 10,000 on SoftHSM, never elsewhere (docs/CONFIG.md).
    std::optional<std::uint64_t> reconnect_after_objects;
    /// How long one operation waits, in total, for database locks held by other processes
    /// before failing with Errc::database_locked (0: not at all).
    std::uint32_t busy_timeout_ms = kDefaultBusyTimeoutMs;
    /// The token workarounds to use: "auto" (detected for the module and token), "none", and
    /// changes to either (docs/CONFIG.md, "Token quirks"). Kept as written: the PKCS#11 adapter
    /// parses it when it connects, and refuses an unknown word (Errc::bad_config).
    std::string quirks = "auto";
    /// Traces to stderr for an HSM administrator, besides those KEYWARD_DEBUG turns on: "p11"
    /// (every C_* call), "sql" (every statement), or both; empty for none (docs/OPERATIONS.md).
    /// Checked when the file is read; never a PIN, key, plaintext or bound value is traced.
    std::string debug;
    /// The principal this configuration's holder acts as (docs/ACCESS.md); "owner" when unset.
    std::string principal = "owner";
    /// Stateless seal/open/datakey calls: audited in groups committed within 100 ms (false), or
    /// each durably before the call returns (true, `audit = strict`). Management and record
    /// operations are always strict (docs/AUDIT.md).
    bool audit_strict = false;
    /// Destructive operations (retire, purge, compromise, audit key rotation) need a second
    /// admin's approval (`two_person_rule = on`, docs/ACCESS.md).
    bool two_person_rule = false;
    /// How long rollback copies may be kept after a rotation before `keyward compliance`
    /// reports them (docs/COMPLIANCE.md, rotation.kept-copies).
    std::uint32_t rollback_window_days = 30;
    ServiceSettings service;
};

/// Whether a principal name is acceptable: 1 to 64 characters of letters, digits and
/// "._@-", starting with a letter or digit (names appear in audit lines and grants).
KEYWARD_API bool valid_principal_name(std::string_view name) noexcept;

/// Reads a config file. Relative paths in it are relative to the file's directory. Unknown
/// keys, missing required keys and malformed lines are Errc::bad_config naming the line.
KEYWARD_API Result<Config> load_config(const std::filesystem::path& path);

/// The file to use: `flag` when given, else $KEYWARD_CONFIG, else ./keyward.conf, else
/// /etc/keyward/keyward.conf. Errc::bad_config when none exists.
KEYWARD_API Result<std::filesystem::path> locate_config(
    const std::optional<std::filesystem::path>& flag);

/// The text of a config file for cfg, with comments, as `keyward init` writes it.
KEYWARD_API std::string render_config(const Config& cfg);

}  // namespace keyward
