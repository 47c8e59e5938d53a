// SPDX-License-Identifier: Apache-2.0
// What the records test files share (cli_records_metadata_test, cli_records_lifecycle_test,
// cli_records_reports_test): successes and other users, dates, fields picked out of --json
// text, `list` results, and setup written straight into the database file.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_setup.hpp"

namespace keyward::test {

/// A success: exit 0 and nothing on stderr.
CliResult ok(const CliResult& r);
/// The same setup acting as another principal (`--principal USER`, granted admin of "*"
/// first): records name the principal as created_by / updated_by.
CliRunner as_user(const CliSetup& s, const std::string& user);

/// t as "YYYY-MM-DD" (with_time false) or "YYYY-MM-DDTHH:MM:SSZ", in UTC.
std::string utc_text(std::time_t t, bool with_time);
/// The UTC date `days` from now, "YYYY-MM-DD" (its start in UTC when given as --expires).
std::string date_in(int days);
/// "2030-01-01T00:00:00Z" plus `days`.
std::string plus_days(const std::string& stamp, int days);

/// The JSON text of the first value of `key` in `doc`: a string with its quotes, an object or
/// array with its brackets, or a scalar, exactly as keyward wrote it.
std::string json_value(const std::string& doc, const std::string& key);
/// A JSON string value without its quotes.
std::string json_string(const std::string& doc, const std::string& key);

/// The records `keyward list ARGS --json` names, in order.
std::vector<std::string> listed(const CliRunner& kw, const std::vector<std::string>& filters);

/// Test setup straight into the database file, as another program would: SQL that must change
/// at least one row.
void exec_sql(const CliSetup& s, const std::string& sql);
/// NS/NAME's value counts as stored on 2020-01-01: every rotation policy finds it due.
void make_old(const CliSetup& s, const std::string& ns, const std::string& name);

void run_shell(const std::string& command);
/// The notAfter of a certificate as `openssl x509 -enddate` reads it, in ISO 8601 UTC.
std::string openssl_not_after(const std::filesystem::path& cert);

/// The --json policy of a kind with the 90-day default, up to its due date.
inline const std::string kDefault90 =
    "{\"rotate_after_days\":90,\"warn_before_days\":14,\"auto_rotate\":false,\"due_at\":\"";

}  // namespace keyward::test
