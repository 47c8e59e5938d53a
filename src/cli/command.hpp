// SPDX-License-Identifier: Apache-2.0
// What every subcommand sees (its words, --json, --config) and the table that lists them.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "args.hpp"
#include "keyward/json.hpp"
#include "keyward/keyward.hpp"

namespace keyward::cli {

struct Invocation {
    std::string command;  // "keyring create"
    bool json = false;
    std::optional<std::string> config_path;
    /// --principal NAME: act as NAME (audited as "<config principal> as NAME").
    std::string principal;
    /// Set by print_json: stdout holds one JSON document, so an error adds none.
    mutable bool printed_document = false;

    /// Loads the configuration (--config, $KEYWARD_CONFIG, ./keyward.conf, /etc/keyward) and
    /// opens keyward with it.
    Result<std::unique_ptr<Keyward>> open_keyward(const OpenOptions& options = {}) const;

    /// Prints one JSON document, or human text, to stdout. Text has its control characters
    /// escaped except line breaks (terminal_text.hpp); values that could hold a line break
    /// are escaped with escape_controls before they are put into the text.
    void print_json(const Json& doc) const;
    void print_text(const std::string& text) const;
};

/// A subcommand, declared whole: main parses its arguments against `options` (plus --json
/// and --help, which every command takes) before run() sees them, so an option's value is
/// never mistaken for a flag (`seal --context --help` seals with context "--help").
struct Command {
    const char* name;     // "keyring create"
    const char* summary;  // one line for `keyward --help`
    const char* help;     // full text for `keyward <name> --help`
    std::vector<OptionSpec> options;
    std::size_t min_positional = 0;
    std::size_t max_positional = 0;
    Status (*run)(const Invocation&, const Args&);
};

std::span<const Command* const> commands();

// One per file under src/cli/cmd_*.cpp.
extern const Command kInitCommand;
extern const Command kKeyringCreateCommand;
extern const Command kKeyringListCommand;
extern const Command kKeyringShowCommand;
extern const Command kKeyringRotateCommand;
extern const Command kKeyringRollbackCommand;
extern const Command kKeyringHistoryCommand;
extern const Command kKeyringCompromiseCommand;
extern const Command kKeyringRetireCommand;
extern const Command kKeyringConfigCommand;
extern const Command kKeyringTrimCommand;
extern const Command kKeyringDeleteCommand;
extern const Command kComplianceCommand;
extern const Command kComplianceVerifyCommand;
extern const Command kSealCommand;
extern const Command kOpenCommand;
extern const Command kRewrapCommand;
extern const Command kDatakeyCommand;
extern const Command kPutCommand;
extern const Command kGetCommand;
extern const Command kListCommand;
extern const Command kImportCommand;
extern const Command kShowCommand;
extern const Command kVersionsCommand;
extern const Command kRestoreCommand;
extern const Command kRevokeCommand;
extern const Command kDeleteCommand;
extern const Command kRecoverCommand;
extern const Command kPurgeCommand;
extern const Command kUpdateCommand;
extern const Command kRotateSecretCommand;
extern const Command kStatsCommand;
extern const Command kHealthCommand;
extern const Command kNamespaceMapCommand;
extern const Command kNamespaceListCommand;
extern const Command kValidateCommand;
extern const Command kBackupCommand;
extern const Command kAccessGrantCommand;
extern const Command kAccessRevokeCommand;
extern const Command kAccessListCommand;
extern const Command kProposeCommand;
extern const Command kApproveCommand;
extern const Command kProposalsCommand;
extern const Command kAuditVerifyCommand;
extern const Command kAuditListCommand;
extern const Command kAuditExportCommand;
extern const Command kAuditArchiveCommand;
extern const Command kAuditRotateKeyCommand;
extern const Command kTokenCreateCommand;
extern const Command kTokenListCommand;
extern const Command kTokenRevokeCommand;

}  // namespace keyward::cli
