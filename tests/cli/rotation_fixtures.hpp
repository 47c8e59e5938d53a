// SPDX-License-Identifier: Apache-2.0
// What the rotation tests share: the database read directly, records made and opened, the CLI's
// JSON, envelopes and child processes. The test's own view of what keyward committed, not
// keyward's report of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_setup.hpp"
#include "keyward/bytes.hpp"
#include "support/envelope_reader.hpp"
#include "support/sqlite_file.hpp"

namespace keyward::test {

using Clock = std::chrono::steady_clock;
using Db = SqliteFile;

double seconds_since(Clock::time_point t);

// ---- The database, read directly

/// 'name' for test-chosen names only ([a-z0-9]).
std::string quoted(const std::string& s);
/// Stored record versions per KEK version of a keyring.
std::map<std::uint32_t, std::int64_t> rows_per_kek(const Db& db, const std::string& ring);
/// Kept wrapped DEKs of a keyring (under one KEK version when not 0).
std::int64_t kept_rows(const Db& db, const std::string& ring, std::int64_t kek_version = 0);

struct JobRow {
    std::int64_t id = 0;
    std::string kind, state;
    std::uint32_t from = 0, to = 0;
    std::int64_t total = 0, done = 0, skipped = 0, failed = 0, hsm_rewraps = 0, runs = 0;
};

std::vector<JobRow> job_rows(const Db& db, const std::string& ring, const std::string& where);
std::optional<JobRow> running_job(const Db& db, const std::string& ring);

// ---- Records, made and opened

std::string record_name(int i);
std::string imported_value(const std::string& ns, int i);
/// n records NS/r00000.. (version 1, imported_value) in one `keyward import`.
void import_records(const CliSetup& s, const std::string& ns, int n);

/// SoftHSM reads SOFTHSM2_CONF once per C_Initialize and keyward sets it when it loads the
/// module in this process: put the environment back as it was for the next setup.
class SofthsmConfRestore {
  public:
    SofthsmConfRestore() {
        if (const char* v = std::getenv("SOFTHSM2_CONF")) saved_ = v;
    }
    ~SofthsmConfRestore() {
        if (saved_) {
            ::setenv("SOFTHSM2_CONF", saved_->c_str(), 1);
        } else {
            ::unsetenv("SOFTHSM2_CONF");
        }
    }
    SofthsmConfRestore(const SofthsmConfRestore&) = delete;
    SofthsmConfRestore& operator=(const SofthsmConfRestore&) = delete;

  private:
    std::optional<std::string> saved_;
};

/// label -> CKA_IDs of the KEK objects with that label in the setup's token, read in this
/// process through the PKCS#11 layer.
std::map<std::string, std::vector<Bytes>> token_keks(const CliSetup& s,
                                                     const std::vector<std::string>& labels);
/// Every stored version of the keyring's records opened in this process through the library
/// (one login), each with its record context: "NS/NAME#V" -> plaintext. Any failure fails
/// the test.
std::map<std::string, std::string> open_all(const CliSetup& s, const std::string& ring);
/// The n imported records of ns all open with their values (and nothing else is stored).
void check_imported(const std::map<std::string, std::string>& opened, const std::string& ns, int n);

// ---- The CLI's JSON

nlohmann::json json_of(const CliResult& r);

struct VersionState {
    std::string state;
    std::int64_t records = 0;
    friend bool operator==(const VersionState&, const VersionState&) = default;
};

std::ostream& operator<<(std::ostream& os, const VersionState& v);
/// `keyring show NAME --json`: version -> (state, records).
std::map<std::uint32_t, VersionState> show(const CliSetup& s, const std::string& ring);
std::vector<nlohmann::json> history(const CliSetup& s, const std::string& ring);
/// `keyward validate --keyring NAME --json`: every stored version of the keyring opens,
/// through the binary. Returns its per-version counts (version -> records).
std::map<std::uint32_t, std::int64_t> validate(const CliSetup& s, const std::string& ring,
                                               std::int64_t expected);

// ---- Envelopes, as the CLI and the database hold them

Envelope parse_text_envelope(std::string text);
/// `keyward get ADDRESS --envelope`, parsed.
Envelope cli_envelope(const CliSetup& s, const std::string& address);
/// "NS/NAME#V" -> stored envelope bytes, for a keyring.
std::map<std::string, std::string> stored_envelopes(const Db& db, const std::string& ring);

// ---- Child processes

/// SIGKILL and reap; true when the kill ended it (false: it had exited on its own before).
bool kill_hard(CliChild& child);
/// Waits until the keyring's running job has committed at least `done` record versions.
JobRow wait_for_progress(const Db& db, const std::string& ring, std::int64_t done, CliChild& child);
/// $name as a number, else fallback.
std::int64_t env_number(const char* name, std::int64_t fallback);

}  // namespace keyward::test
