// SPDX-License-Identifier: Apache-2.0
// audit verify | list | export | archive | rotate-key: the audit log (docs/AUDIT.md).
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

void entry_json(Json& j, const AuditEntry& e) {
    j.begin_object()
        .field("seq", e.seq)
        .field("at", e.at)
        .field("principal", e.principal)
        .field_or_null("actor", e.actor)
        .field("operation", e.operation)
        .field("target", e.target)
        .field("outcome", e.outcome)
        .field_or_null("error", e.error)
        .field_or_null("detail", e.detail)
        .field_or_null("client_address", e.client_address)
        .field_or_null("user_agent", e.user_agent)
        .field_or_null("request_id", e.request_id)
        .field_or_null("reason", e.reason)
        .field("prev_hash", e.prev_hash)
        .field("hash", e.hash)
        .field("head", e.head)
        .end_object();
}

std::string entry_line(const AuditEntry& e) {
    std::string who = e.actor.empty() ? e.principal : e.actor + " as " + e.principal;
    std::string line = std::to_string(e.seq) + " " + e.at + " " + who + " " + e.operation + " " +
                       e.target + " " + e.outcome;
    if (!e.error.empty()) line += " " + e.error;
    if (!e.detail.empty()) line += ": " + e.detail;
    if (!e.client_address.empty()) line += " [client " + e.client_address + "]";
    if (!e.reason.empty()) line += " [reason " + e.reason + "]";
    return escape_controls(line);
}

Result<AuditQuery> query_from(const Args& args) {
    AuditQuery q;
    q.since = args.get("--since").value_or("");
    q.until = args.get("--until").value_or("");
    q.principal = args.get("--principal").value_or("");
    q.operation = args.get("--operation").value_or("");
    q.target = args.get("--target").value_or("");
    q.outcome = args.get("--outcome").value_or("");
    if (!q.outcome.empty() && q.outcome != "ok" && q.outcome != "denied" && q.outcome != "failed") {
        return Error(Errc::usage, "--outcome is ok, denied or failed");
    }
    return q;
}

Status run_verify(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    auto archive = args.get("--archive");
    KW_TRY(auto r, archive ? kw->verify_audit_archive(*archive) : kw->verify_audit());
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("intact", r.ok)
            .field("entries", r.entries)
            .field("first_seq", r.first_seq)
            .field("last_seq", r.last_seq)
            .field("macs_checked", r.macs_checked)
            .field("checkpoint_seq", r.checkpoint_seq)
            .field_or_null("checkpoint_at", r.checkpoint_at)
            .key("bad_seq");
        if (r.bad_seq == 0) {
            j.null();
        } else {
            j.value(r.bad_seq);
        }
        j.field_or_null("problem", r.problem).end_object();
        inv.print_json(j);
    } else if (r.ok) {
        std::string text = "audit log intact: entries " + std::to_string(r.first_seq) + ".." +
                           std::to_string(r.last_seq) + ", " + std::to_string(r.macs_checked) +
                           " chain heads verified in the token";
        if (!archive) {
            text += ", token checkpoint at entry " + std::to_string(r.checkpoint_seq) + " (" +
                    r.checkpoint_at + ", " + r.checkpoint_reason + ")";
        }
        inv.print_text(text + "\n");
    }
    if (!r.ok) {
        // Exit 3: the log's authentication failed.
        return Error(Errc::auth_failed, "audit log does not verify: " + r.problem);
    }
    return {};
}

Status run_list(const Invocation& inv, const Args& args) {
    KW_TRY(auto q, query_from(args));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto entries, kw->audit_entries(q));
    if (inv.json) {
        Json j;
        j.begin_object().key("entries").begin_array();
        for (const auto& e : entries) entry_json(j, e);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& e : entries) out << entry_line(e) << "\n";
    inv.print_text(out.str());
    return {};
}

Status run_export(const Invocation& inv, const Args& args) {
    if (!args.has("--jsonl")) return Error(Errc::usage, "audit export needs --jsonl");
    KW_TRY(auto q, query_from(args));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto entries, kw->audit_entries(q));
    inv.printed_document = true;
    for (const auto& e : entries) {
        Json j;
        entry_json(j, e);
        std::cout << j.str() << "\n";
    }
    return {};
}

Status run_archive(const Invocation& inv, const Args& args) {
    auto before = args.get("--before");
    auto out = args.get("--out");
    if (!before || !out) return Error(Errc::usage, "audit archive needs --before TIME --out FILE");
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto r, kw->archive_audit(*before, *out));
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("entries", r.entries)
            .field("first_seq", r.first_seq)
            .field("last_seq", r.last_seq)
            .field_or_null("file", r.entries == 0 ? std::string() : r.path)
            .end_object();
        inv.print_json(j);
    } else if (r.entries == 0) {
        inv.print_text("no entries before " + escape_controls(*before) + " to archive\n");
    } else {
        inv.print_text("archived entries " + std::to_string(r.first_seq) + ".." +
                       std::to_string(r.last_seq) + " to " + escape_controls(r.path) +
                       "; check it with keyward audit verify --archive FILE\n");
    }
    return {};
}

Status run_rotate_key(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY_STATUS(kw->rotate_audit_key());
    if (inv.json) {
        Json j;
        j.begin_object().field("rotated", true).end_object();
        inv.print_json(j);
    } else {
        inv.print_text("audit key rotated; grants and proposals carry MACs of the new key\n");
    }
    return {};
}

const std::vector<OptionSpec> kQueryOptions = {{"--since", true},     {"--until", true},
                                               {"--principal", true}, {"--operation", true},
                                               {"--target", true},    {"--outcome", true}};

std::vector<OptionSpec> with_jsonl(std::vector<OptionSpec> specs) {
    specs.push_back({"--jsonl", false});
    return specs;
}

}  // namespace

const Command kAuditVerifyCommand = {
    "audit verify",
    "check the audit chain against the token; names the first bad entry",
    "usage: keyward audit verify [--archive FILE] [--json]\n\n"
    "Recomputes the SHA-256 chain, checks every chain head's MAC in the token and compares\n"
    "the end of the log with the token's checkpoint: an edited, deleted, inserted or\n"
    "reordered entry, a cut tail or an older database is named. Exit 0 only if intact, 3 if\n"
    "not. --archive checks a file made by keyward audit archive instead.\n",
    {{"--archive", true}},
    0,
    0,
    run_verify};

const Command kAuditListCommand = {
    "audit list",
    "audit entries, filtered",
    "usage: keyward audit list [--since T] [--until T] [--principal P] [--operation OP]\n"
    "                          [--target T] [--outcome ok|denied|failed] [--json]\n",
    kQueryOptions,
    0,
    0,
    run_list};

const Command kAuditExportCommand = {
    "audit export",
    "audit entries as JSON lines on stdout",
    "usage: keyward audit export --jsonl [the filters of audit list]\n",
    with_jsonl(kQueryOptions),
    0,
    0,
    run_export};

const Command kAuditArchiveCommand = {
    "audit archive",
    "move old entries to a file, leaving a MAC'd anchor",
    "usage: keyward audit archive --before TIME --out FILE\n\n"
    "Verifies the log first. Writes the entries dated before TIME (and their chain) to FILE,\n"
    "a new file of mode 0600, then removes them from the database and leaves an anchor MAC'd\n"
    "in the token, so that audit verify passes on what remains and audit verify --archive\n"
    "FILE on the archive. The newest entry always stays.\n",
    {{"--before", true}, {"--out", true}},
    0,
    0,
    run_archive};

const Command kAuditRotateKeyCommand = {
    "audit rotate-key",
    "make a new audit key version in the token",
    "usage: keyward audit rotate-key\n\n"
    "Grants and proposals are MAC'd again under the new key; older entries keep verifying\n"
    "under the older versions, which stay in the token. Two-person rule when configured.\n",
    {},
    0,
    0,
    run_rotate_key};

}  // namespace keyward::cli
