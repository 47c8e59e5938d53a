// SPDX-License-Identifier: Apache-2.0
// backup and restore FILE: consistent online snapshots of the database, and putting one back
// after checking that this token still holds every KEK it needs.
#include <filesystem>

#include "backup_commands.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

std::string kek_list(const BackupInfo& info) {
    if (info.kek_versions.empty()) return "none";
    std::string out;
    for (const auto& k : info.kek_versions) {
        if (!out.empty()) out += ", ";
        out += escape_controls(k.keyring) + " v" + std::to_string(k.version);
    }
    return out;
}

std::string counts(const BackupInfo& info) {
    return std::to_string(info.records) + (info.records == 1 ? " record, " : " records, ") +
           std::to_string(info.record_versions) +
           (info.record_versions == 1 ? " version" : " versions");
}

void info_json(Json& j, const BackupInfo& info) {
    j.field("created_at", info.created_at)
        .key("token")
        .begin_object()
        .field("serial", info.token_serial)
        .field("label", info.token_label)
        .end_object()
        .field("schema_version", info.schema_version)
        .field("records", info.records)
        .field("record_versions", info.record_versions)
        .key("kek_versions")
        .begin_array();
    for (const auto& k : info.kek_versions) {
        j.begin_object()
            .field("keyring", k.keyring)
            .field("version", k.version)
            .field("state", k.state)
            .field("label", k.label)
            .end_object();
    }
    j.end_array();
}

Status run_backup(const Invocation& inv, const Args& args) {
    auto out = args.get("--out");
    if (!out || out->empty() || *out == "-") {
        return Error(Errc::usage, "backup needs --out FILE, a new file to write the snapshot to");
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto info, kw->backup(*out));
    if (inv.json) {
        Json j;
        j.begin_object().field("backup", *out);
        info_json(j, info);
        j.end_object();
        inv.print_json(j);
    } else {
        inv.print_text("backup written to " + escape_controls(*out) + " (" + counts(info) +
                       ", KEK versions " + kek_list(info) + "; token serial " +
                       escape_controls(info.token_serial) + ")\n");
    }
    return {};
}

}  // namespace

Status run_backup_restore(const Invocation& inv, const Args& args) {
    const std::string& file = args.positional()[0];
    if (!args.has("--yes")) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(file, ec)) {
            return Error(Errc::usage,
                         "restore needs --version N to restore a record version "
                         "(see keyward versions NS/NAME), or a backup file and "
                         "--yes to restore the database; " +
                             file + " is not a file");
        }
        return Error(Errc::usage, "restore replaces the whole database with backup " + file +
                                      " (records stored since it was taken are lost); add --yes "
                                      "to confirm");
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto info, kw->restore_backup(file));
    if (inv.json) {
        Json j;
        j.begin_object().field("restored", file);
        info_json(j, info);
        j.key("reapplied_states").begin_array();
        for (const auto& k : info.reapplied_states) {
            j.begin_object()
                .field("keyring", k.keyring)
                .field("version", k.version)
                .field("state", k.state)
                .end_object();
        }
        j.end_array().end_object();
        inv.print_json(j);
    } else {
        std::string text = "restored the database from " + escape_controls(file) + ", taken " +
                           escape_controls(info.created_at) + " (" + counts(info) +
                           ", KEK versions " + kek_list(info) + ")\n";
        for (const auto& k : info.reapplied_states) {
            text += "re-applied from the token: keyring " + escape_controls(k.keyring) +
                    " version " + std::to_string(k.version) + " is " + k.state +
                    " (the backup predates that; new seals never use it)\n";
        }
        inv.print_text(text + "run keyward validate to check every record opens\n");
    }
    return {};
}

const Command kBackupCommand = {
    "backup",
    "write a consistent snapshot of the database to a new file",
    "usage: keyward backup --out FILE [--json]\n\n"
    "Copies the database while keyward keeps running (SQLite's online backup, which never\n"
    "misses what is still in the WAL) into FILE, a new file of mode 0600 in rollback-journal\n"
    "mode: one self-contained file. It records the token's serial and label and every KEK\n"
    "version it needs. An existing FILE is never overwritten. The KEKs themselves stay in\n"
    "the token: back the token up too. Take one before every rotation; keyward restore FILE\n"
    "--yes puts it back.\n",
    {{"--out", true}},
    0,
    0,
    run_backup};

}  // namespace keyward::cli
