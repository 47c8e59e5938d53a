// SPDX-License-Identifier: Apache-2.0
// show, versions, restore, revoke, delete, recover, purge, update: one record's history,
// lifecycle and metadata.
#include "backup_commands.hpp"
#include "command.hpp"
#include "record_output.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

Status print_record(const Invocation& inv, Keyward& kw, const std::string& address,
                    const std::string& done) {
    KW_TRY(auto info, kw.record(address));
    if (inv.json) {
        Json j;
        record_json(j, info);
        inv.print_json(j);
    } else {
        inv.print_text(done.empty() ? record_details(info) : done + "\n");
    }
    return {};
}

Status run_show(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    return print_record(inv, *kw, args.positional()[0], "");
}

Status run_versions(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    KW_TRY(auto versions, kw->record_versions(address));
    if (inv.json) {
        Json j;
        j.begin_object().field("record", address).key("versions").begin_array();
        for (const auto& v : versions) version_json(j, v);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::string out = "VERSION  CREATED               BY          ORIGIN        KEK\n";
    for (const auto& v : versions) {
        char line[256];
        std::snprintf(line, sizeof line, "%-8u %-21s %-11s %-13s %s v%u\n", v.version,
                      escape_controls(v.created_at).c_str(), escape_controls(v.created_by).c_str(),
                      escape_controls(v.origin).c_str(), escape_controls(v.keyring).c_str(),
                      v.kek_version);
        out += line;
    }
    inv.print_text(out);
    return {};
}

Status run_restore(const Invocation& inv, const Args& args) {
    // Without --version the word is a backup file: keyward restore FILE --yes (cmd_backup.cpp).
    if (!args.has("--version")) return run_backup_restore(inv, args);
    KW_TRY(auto n, args.number("--version", 0, 1, 0xffffffffu));
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    KW_TRY(auto version, kw->restore_record(address, static_cast<std::uint32_t>(n)));
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("record", address)
            .field("version", version)
            .field("restored_from", static_cast<std::uint64_t>(n))
            .end_object();
        inv.print_json(j);
    } else {
        inv.print_text("restored " + address + " version " + std::to_string(n) + " as version " +
                       std::to_string(version) + "\n");
    }
    return {};
}

template <Status (Keyward::*Change)(const std::string&)>
Status run_state_change(const Invocation& inv, const Args& args, const char* verb) {
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    KW_TRY_STATUS(((*kw).*Change)(address));
    return print_record(inv, *kw, address, std::string(verb) + " " + address);
}

Status run_revoke(const Invocation& inv, const Args& args) {
    return run_state_change<&Keyward::revoke_record>(inv, args, "revoked");
}
Status run_delete(const Invocation& inv, const Args& args) {
    return run_state_change<&Keyward::delete_record>(inv, args, "deleted");
}
Status run_recover(const Invocation& inv, const Args& args) {
    return run_state_change<&Keyward::recover_record>(inv, args, "recovered");
}
Status run_purge(const Invocation& inv, const Args& args) {
    if (!args.has("--yes")) {
        return Error(Errc::usage, "purge destroys every version of " + args.positional()[0] +
                                      " for good; add --yes to confirm");
    }
    return run_state_change<&Keyward::purge_record>(inv, args, "purged");
}

Status run_update(const Invocation& inv, const Args& args) {
    MetadataUpdate update;
    update.description = args.get("--description");
    KW_TRY(update.set_tags, tags_from(args));
    update.remove_tags = args.all("--untag");
    if (auto e = args.get("--expires")) update.expires_at = *e == "none" ? std::string() : *e;
    if (args.has("--generate-bytes")) {
        KW_TRY(auto n, args.number("--generate-bytes", 0, 16, 4096));
        update.generate_bytes = static_cast<std::uint32_t>(n);
    }
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    KW_TRY(auto current, kw->record(address));
    KW_TRY(update.policy, policy_from(args, current.policy));
    KW_TRY_STATUS(kw->update_record(address, update));
    return print_record(inv, *kw, address, "updated " + address);
}

std::vector<OptionSpec> update_options() {
    std::vector<OptionSpec> specs = {{"--description", true},
                                     {"--tag", true, true},
                                     {"--untag", true, true},
                                     {"--expires", true},
                                     {"--generate-bytes", true}};
    for (auto& p : policy_options()) specs.push_back(p);
    return specs;
}

}  // namespace

const Command kShowCommand = {"show",
                              "a record's metadata (never its value)",
                              "usage: keyward show NS/NAME [--json]\n\n"
                              "Kind, state, versions, description, tags, who changed it and "
                              "when, expiry and\nrotation policy, in any state (deleted and "
                              "purged too).\n",
                              {},
                              1,
                              1,
                              run_show};

const Command kVersionsCommand = {
    "versions",
    "a record's versions",
    "usage: keyward versions NS/NAME [--json]\n\n"
    "Every stored version: when and by whom it was made, how (put, generate, import,\n"
    "rotate-secret, restore:N), and the KEK version its data key is wrapped under.\n",
    {},
    1,
    1,
    run_versions};

const Command kRestoreCommand = {
    "restore",
    "make an old version's value the latest again, or restore a database backup",
    "usage: keyward restore NS/NAME --version N\n"
    "       keyward restore FILE --yes\n\n"
    "With --version: stores version N's value as a new version (history is never\n"
    "rewritten). The new version keeps N's expiry and the date N's value was first stored,\n"
    "so a restored old value is as due for rotation as it was.\n\n"
    "With a file made by keyward backup: replaces the whole database with the backup's\n"
    "content (what was stored since is lost, so --yes is required). Refused with exit 6\n"
    "when the backup belongs to another token or the token no longer holds a KEK version\n"
    "it needs (same CKA_ID and check value); with exit 1 when its schema is newer than this\n"
    "keyward, or while a rotation is running or unfinished. Suite 2 wrap counters keep\n"
    "their higher value. Run keyward validate afterwards.\n",
    {{"--version", true}, {"--yes", false}},
    1,
    1,
    run_restore};

const Command kRevokeCommand = {
    "revoke",
    "mark a record revoked: its values are withheld from then on",
    "usage: keyward revoke NS/NAME\n\n"
    "For a credential that must not be used again (leaked, withdrawn). Revocation is final:\n"
    "a revoked record takes no new version and gives no value; delete and purge it, or use\n"
    "a new name.\n",
    {},
    1,
    1,
    run_revoke};

const Command kDeleteCommand = {"delete",
                                "soft-delete a record (hidden; keyward recover brings it back)",
                                "usage: keyward delete NS/NAME\n\n"
                                "Hides an active or revoked record from list and get. Its "
                                "versions stay sealed in\nthe database until keyward purge.\n",
                                {},
                                1,
                                1,
                                run_delete};

const Command kRecoverCommand = {"recover",
                                 "bring a deleted record back",
                                 "usage: keyward recover NS/NAME\n\n"
                                 "Returns a deleted record to the state it was deleted from "
                                 "(active or revoked).\n",
                                 {},
                                 1,
                                 1,
                                 run_recover};

const Command kPurgeCommand = {
    "purge",
    "destroy a deleted record's versions for good",
    "usage: keyward purge NS/NAME --yes\n\n"
    "Deletes every version (SQLite's secure_delete overwrites the freed pages), the tags\n"
    "and the description of a deleted record. A tombstone keeps the name's version count,\n"
    "so a later put under the same name never reuses a sealing context.\n",
    {{"--yes", false}},
    1,
    1,
    run_purge};

const Command kUpdateCommand = {
    "update",
    "change a record's metadata without a new version",
    "usage: keyward update NS/NAME [--description TEXT] [--tag K=V]... [--untag K]...\n"
    "                      [--expires DATE|none] [--rotate-after DAYS|none]\n"
    "                      [--warn-before DAYS] [--auto-rotate | --no-auto-rotate]\n"
    "                      [--generate-bytes N]\n\n"
    "--expires changes the latest version's expiry; --generate-bytes the length\n"
    "rotate-secret generates.\n",
    update_options(),
    1,
    1,
    run_update};

}  // namespace keyward::cli
