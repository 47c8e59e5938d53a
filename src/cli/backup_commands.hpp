// SPDX-License-Identifier: Apache-2.0
// Database backups from the command line: `keyward backup --out FILE` (kBackupCommand) and
// `keyward restore FILE --yes`, which shares the name `restore` with record versions
// (cmd_record_admin.cpp hands a call without --version to run_backup_restore).
#pragma once

#include "command.hpp"

namespace keyward::cli {

/// keyward restore FILE --yes: replaces the database with backup FILE after checking that it
/// belongs to the configured token. Without --yes, a usage error that says what it would do.
Status run_backup_restore(const Invocation& inv, const Args& args);

}  // namespace keyward::cli
