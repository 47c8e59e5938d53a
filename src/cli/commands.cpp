// SPDX-License-Identifier: Apache-2.0
// The command table and what all commands share.
#include <unistd.h>

#include <array>
#include <iostream>

#include "command.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

std::span<const Command* const> commands() {
    static const std::array<const Command*, 51> table = {
        &kInitCommand,
        &kKeyringCreateCommand,
        &kKeyringListCommand,
        &kKeyringShowCommand,
        &kKeyringRotateCommand,
        &kKeyringRollbackCommand,
        &kKeyringHistoryCommand,
        &kKeyringCompromiseCommand,
        &kKeyringRetireCommand,
        &kKeyringConfigCommand,
        &kKeyringTrimCommand,
        &kKeyringDeleteCommand,
        &kSealCommand,
        &kOpenCommand,
        &kRewrapCommand,
        &kDatakeyCommand,
        &kNamespaceMapCommand,
        &kNamespaceListCommand,
        &kPutCommand,
        &kGetCommand,
        &kListCommand,
        &kImportCommand,
        &kShowCommand,
        &kVersionsCommand,
        &kRestoreCommand,
        &kUpdateCommand,
        &kRotateSecretCommand,
        &kRevokeCommand,
        &kDeleteCommand,
        &kRecoverCommand,
        &kPurgeCommand,
        &kStatsCommand,
        &kHealthCommand,
        &kValidateCommand,
        &kBackupCommand,
        &kAccessGrantCommand,
        &kAccessRevokeCommand,
        &kAccessListCommand,
        &kProposeCommand,
        &kApproveCommand,
        &kProposalsCommand,
        &kAuditVerifyCommand,
        &kAuditListCommand,
        &kAuditExportCommand,
        &kAuditArchiveCommand,
        &kAuditRotateKeyCommand,
        &kTokenCreateCommand,
        &kTokenListCommand,
        &kTokenRevokeCommand,
        &kComplianceCommand,
        &kComplianceVerifyCommand,
    };
    return table;
}

Result<std::unique_ptr<Keyward>> Invocation::open_keyward(const OpenOptions& options) const {
    std::optional<std::filesystem::path> flag;
    if (config_path) flag = *config_path;
    KW_TRY(auto path, locate_config(flag));
    KW_TRY(auto config, load_config(path));
    // One process per command: grouping entries buys nothing here, and a value or key is
    // printed only once its entry is durable (docs/AUDIT.md).
    config.audit_strict = true;
    OpenOptions with_principal = options;
    with_principal.act_as = principal;
    return Keyward::open(config, with_principal);
}

void Invocation::print_json(const Json& doc) const {
    printed_document = true;
    std::cout << doc.str() << "\n";
}

void Invocation::print_text(const std::string& text) const {
    // The last line of defence: whatever a command quoted, no control character but the line
    // breaks reaches the terminal.
    std::cout << escape_controls_keep_lines(text);
}

}  // namespace keyward::cli
