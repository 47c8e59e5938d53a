// SPDX-License-Identifier: Apache-2.0
// access grant | revoke | list, propose, approve, proposals: who may do what (docs/ACCESS.md).
#include <sstream>

#include "command.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

Result<Role> role_from(const std::string& word) {
    auto role = parse_role(word);
    if (!role) {
        return Error(Errc::usage, "unknown role \"" + escape_controls(word) +
                                      "\" (reader, writer, rotator, auditor, admin)");
    }
    return *role;
}

Result<std::string> scope_from(const Args& args, const char* command) {
    auto on = args.get("--on");
    if (!on) return Error(Errc::usage, std::string(command) + " needs --on NS|keyring:NAME|*");
    return *on;
}

void grant_json(Json& j, const GrantInfo& g, bool valid) {
    j.begin_object()
        .field("id", g.id)
        .field("principal", g.principal)
        .field("role", role_name(g.role))
        .field("scope", g.scope)
        .field("created_at", g.created_at)
        .field("created_by", g.created_by)
        .field_or_null("expires_at", g.expires_at)
        .field("break_glass", g.break_glass)
        .field("reason", g.reason)
        .field("expired", g.expired)
        .field("valid", valid)
        .end_object();
}

std::string grant_line(const GrantInfo& g) {
    std::string line = g.principal + " " + std::string(role_name(g.role)) + " on " + g.scope;
    if (!g.expires_at.empty()) line += (g.expired ? " expired " : " until ") + g.expires_at;
    if (g.break_glass) line += " BREAK-GLASS";
    if (!g.reason.empty()) line += " (" + g.reason + ")";
    return escape_controls(line);
}

Status run_grant(const Invocation& inv, const Args& args) {
    GrantRequest req;
    req.principal = args.positional()[0];
    KW_TRY(req.role, role_from(args.positional()[1]));
    KW_TRY(req.scope, scope_from(args, "access grant"));
    req.expires_at = args.get("--expires").value_or("");
    req.reason = args.get("--reason").value_or("");
    req.break_glass = args.has("--break-glass");
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto g, kw->grant(req));
    if (inv.json) {
        Json j;
        grant_json(j, g, true);
        inv.print_json(j);
    } else {
        inv.print_text("granted " + grant_line(g) + "\n");
    }
    return {};
}

Status run_revoke(const Invocation& inv, const Args& args) {
    const std::string principal = args.positional()[0];
    KW_TRY(auto role, role_from(args.positional()[1]));
    KW_TRY(auto scope, scope_from(args, "access revoke"));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY_STATUS(kw->revoke_grant(principal, role, scope));
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("principal", principal)
            .field("role", role_name(role))
            .field("scope", scope)
            .field("revoked", true)
            .end_object();
        inv.print_json(j);
    } else {
        inv.print_text("revoked " + escape_controls(principal) + " " +
                       std::string(role_name(role)) + " on " + escape_controls(scope) + "\n");
    }
    return {};
}

Status run_list(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto listing, kw->grants(args.get("--principal").value_or("")));
    auto valid = [&](const GrantInfo& g) {
        for (const auto& id : listing.invalid) {
            if (id == g.id) return false;
        }
        return true;
    };
    if (inv.json) {
        Json j;
        j.begin_object().key("grants").begin_array();
        for (const auto& g : listing.grants) grant_json(j, g, valid(g));
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& g : listing.grants) {
        out << grant_line(g) << (valid(g) ? "" : "  INVALID (no token MAC: ignored)") << "\n";
    }
    if (listing.grants.empty()) out << "no grants\n";
    inv.print_text(out.str());
    return {};
}

void proposal_json(Json& j, const Proposal& p) {
    j.begin_object()
        .field("id", p.id)
        .field("operation", guarded_operation_name(p.operation))
        .field("target", p.target)
        .field("state", p.state)
        .field("proposed_by", p.proposed_by)
        .field("proposed_at", p.proposed_at)
        .field("expires_at", p.expires_at)
        .field_or_null("approved_by", p.approved_by)
        .field_or_null("approved_at", p.approved_at)
        .field("reason", p.reason)
        .end_object();
}

Status run_propose(const Invocation& inv, const Args& args) {
    auto op = parse_guarded_operation(args.positional()[0]);
    if (!op) {
        return Error(Errc::usage,
                     "unknown operation \"" + escape_controls(args.positional()[0]) +
                         "\" (retire, compromise, purge, audit-rotate-key, delete-keyring)");
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto p, kw->propose(*op, args.positional()[1], args.get("--reason").value_or("")));
    if (inv.json) {
        Json j;
        proposal_json(j, p);
        inv.print_json(j);
    } else {
        inv.print_text("proposed " + std::string(guarded_operation_name(p.operation)) + " " +
                       escape_controls(p.target) + " until " + p.expires_at +
                       "; another admin runs: keyward approve " + p.id + "\n" + p.id + "\n");
    }
    return {};
}

Status run_approve(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto p, kw->approve(args.positional()[0]));
    if (inv.json) {
        Json j;
        proposal_json(j, p);
        inv.print_json(j);
    } else {
        inv.print_text("approved and ran " + std::string(guarded_operation_name(p.operation)) +
                       " " + escape_controls(p.target) + " (proposed by " +
                       escape_controls(p.proposed_by) + ")\n");
    }
    return {};
}

Status run_proposals(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto list, kw->proposals());
    if (inv.json) {
        Json j;
        j.begin_object().key("proposals").begin_array();
        for (const auto& p : list) proposal_json(j, p);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& p : list) {
        out << p.id << " " << guarded_operation_name(p.operation) << " "
            << escape_controls(p.target) << " " << p.state << " by "
            << escape_controls(p.proposed_by) << " at " << p.proposed_at << "\n";
    }
    if (list.empty()) out << "no proposals\n";
    inv.print_text(out.str());
    return {};
}

}  // namespace

const Command kAccessGrantCommand = {
    "access grant",
    "give a principal a role on a namespace, a keyring or everything",
    "usage: keyward access grant PRINCIPAL ROLE --on NS|keyring:NAME|* [--expires TIME]\n"
    "                            [--reason TEXT] [--break-glass]\n\n"
    "Roles: reader (get, open, decrypt, metadata), writer (put, seal, rewrap, datakey, plus\n"
    "reader), rotator (rotate, rollback, rotate-secret), auditor (audit, compliance,\n"
    "metadata, never a value), admin (everything). Granting the same role on the same scope\n"
    "again replaces the grant. --break-glass needs --reason and lasts at most one hour; it is\n"
    "flagged in the audit log and by keyward health while it lasts. Needs admin on the scope.\n",
    {{"--on", true}, {"--expires", true}, {"--reason", true}, {"--break-glass", false}},
    2,
    2,
    run_grant};

const Command kAccessRevokeCommand = {
    "access revoke",
    "take a role on a scope away from a principal",
    "usage: keyward access revoke PRINCIPAL ROLE --on NS|keyring:NAME|*\n\n"
    "Exit 4 when the principal holds no such grant. (keyward revoke NS/NAME revokes a record.)\n",
    {{"--on", true}},
    2,
    2,
    run_revoke};

const Command kAccessListCommand = {
    "access list",
    "grants, with those whose token MAC fails marked invalid",
    "usage: keyward access list [--principal P] [--json]\n\n"
    "Your own grants need no role; everyone's need auditor or admin on *.\n",
    {{"--principal", true}},
    0,
    0,
    run_list};

const Command kProposeCommand = {
    "propose",
    "propose a destructive operation for a second admin to approve",
    "usage: keyward propose OPERATION TARGET [--reason TEXT]\n\n"
    "  retire KEYRING/VERSION      keyring retire\n"
    "  compromise KEYRING/VERSION  keyring compromise\n"
    "  purge NS/NAME               purge a deleted record\n"
    "  audit-rotate-key audit      a new audit key version\n"
    "  delete-keyring KEYRING      keyring delete\n\n"
    "With two_person_rule = on these run only through a proposal that a different admin\n"
    "approves within 24 hours. Prints the proposal id on the last line.\n",
    {{"--reason", true}},
    2,
    2,
    run_propose};

const Command kApproveCommand = {"approve",
                                 "approve another admin's proposal, which then runs",
                                 "usage: keyward approve ID\n\n"
                                 "Refused (exit 5) for the admin who proposed it.\n",
                                 {},
                                 1,
                                 1,
                                 run_approve};

const Command kProposalsCommand = {
    "proposals",  "proposals and their states", "usage: keyward proposals [--json]\n", {}, 0, 0,
    run_proposals};

}  // namespace keyward::cli
