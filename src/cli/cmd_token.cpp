// SPDX-License-Identifier: Apache-2.0
// token create | list | revoke: keywardd's service tokens (docs/SERVICE.md).
#include <cctype>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "io.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

void token_json(Json& j, const ServiceTokenInfo& t, bool valid) {
    j.begin_object()
        .field("id", t.id)
        .field("principal", t.principal)
        .field("created_at", t.created_at)
        .field("created_by", t.created_by)
        .field_or_null("expires_at", t.expires_at)
        .field("ttl_seconds", t.ttl_seconds)
        .field("renewable", t.renewable)
        .field_or_null("max_expires_at", t.max_expires_at)
        .field_or_null("revoked_at", t.revoked_at)
        .field("expired", t.expired)
        .field("valid", valid)
        .end_object();
}

std::string token_line(const ServiceTokenInfo& t) {
    std::string line =
        t.id + " " + t.principal + " created " + t.created_at + " by " + t.created_by;
    if (!t.revoked_at.empty()) {
        line += " REVOKED " + t.revoked_at;
    } else if (!t.expires_at.empty()) {
        line += (t.expired ? " EXPIRED " : " until ") + t.expires_at;
    } else {
        line += " never expires";
    }
    if (t.renewable) line += " renewable";
    return escape_controls(line);
}

Status run_create(const Invocation& inv, const Args& args) {
    ServiceTokenRequest req;
    req.principal = args.get("--principal").value_or("");
    if (req.principal.empty()) return Error(Errc::usage, "token create needs --principal NAME");
    const auto roles = args.all("--role");
    const auto scopes = args.all("--on");
    if (roles.size() != scopes.size()) {
        return Error(Errc::usage, "each --role needs its --on NS|keyring:NAME|* (in order)");
    }
    std::vector<GrantRequest> grants;
    for (std::size_t i = 0; i < roles.size(); ++i) {
        auto role = parse_role(roles[i]);
        if (!role) {
            return Error(Errc::usage, "unknown role \"" + escape_controls(roles[i]) +
                                          "\" (reader, writer, rotator, auditor, admin)");
        }
        GrantRequest g;
        g.principal = req.principal;
        g.role = *role;
        g.scope = scopes[i];
        grants.push_back(std::move(g));
    }
    if (auto ttl = args.get("--ttl")) {
        KW_TRY(req.ttl_seconds, parse_duration(*ttl, "--ttl"));
    }
    if (auto max = args.get("--max-ttl")) {
        KW_TRY(req.max_ttl_seconds, parse_duration(*max, "--max-ttl"));
    }
    req.renewable = args.has("--renewable");
    KW_TRY(auto kw, inv.open_keyward());
    // Grants first: a token is never handed out for roles that could not be given.
    for (const auto& g : grants) {
        KW_TRY(auto granted, kw->grant(g));
        (void)granted;
    }
    KW_TRY(auto issued, kw->create_service_token(req));
    std::ostringstream head;
    for (const auto& g : grants) {
        head << "granted " << escape_controls(req.principal) << " " << role_name(g.role) << " on "
             << escape_controls(g.scope) << "\n";
    }
    head << "token " << token_line(issued.info) << "\n"
         << "the token follows, once; keyward keeps only an HMAC of it\n";
    if (inv.json) {
        Json j;
        j.begin_object().key("token_info");
        token_json(j, issued.info, true);
        j.end_object();
        inv.print_json(j);
    } else {
        inv.print_text(head.str());
    }
    // The secret goes straight from wiped memory to stdout, on the last line (after what
    // std::cout holds).
    std::cout.flush();
    issued.token.push_back('\n');
    return write_all(
        1,
        ByteView(reinterpret_cast<const std::uint8_t*>(issued.token.data()), issued.token.size()),
        "stdout");
}

Status run_list(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto listing, kw->service_tokens());
    auto valid = [&](const ServiceTokenInfo& t) {
        for (const auto& id : listing.invalid) {
            if (id == t.id) return false;
        }
        return true;
    };
    if (inv.json) {
        Json j;
        j.begin_object().key("tokens").begin_array();
        for (const auto& t : listing.tokens) token_json(j, t, valid(t));
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& t : listing.tokens) {
        out << token_line(t) << (valid(t) ? "" : "  INVALID (no token MAC: never honoured)")
            << "\n";
    }
    if (listing.tokens.empty()) out << "no service tokens\n";
    inv.print_text(out.str());
    return {};
}

Status run_revoke(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto info, kw->revoke_service_token(args.positional()[0]));
    if (inv.json) {
        Json j;
        token_json(j, info, true);
        inv.print_json(j);
    } else {
        inv.print_text("revoked " + token_line(info) + "\n");
    }
    return {};
}

}  // namespace

const Command kTokenCreateCommand = {
    "token create",
    "a service token for keywardd's clients, printed once",
    "usage: keyward token create --principal P [--role ROLE --on NS|keyring:NAME|*]...\n"
    "                            [--ttl DURATION] [--renewable] [--max-ttl DURATION]\n\n"
    "Grants each --role on its --on to P (as access grant does), then makes a random token\n"
    "that stands for P and prints it on the last line of stdout, once: the database keeps\n"
    "only an HMAC of it made in the token. DURATION: 3600, 90s, 15m, 24h or 30d. Without\n"
    "--ttl the token never expires; --renewable lets its holder extend it by its ttl\n"
    "(POST /v1/auth/token/renew-self) up to --max-ttl after creation (default 32 days).\n"
    "Needs admin on *.\n",
    {{"--principal", true},
     {"--role", true, true},
     {"--on", true, true},
     {"--ttl", true},
     {"--renewable", false},
     {"--max-ttl", true}},
    0,
    0,
    run_create};

const Command kTokenListCommand = {
    "token list",
    "service tokens (never the tokens themselves), forged rows marked invalid",
    "usage: keyward token list [--json]\n\nNeeds auditor or admin on *.\n",
    {},
    0,
    0,
    run_list};

const Command kTokenRevokeCommand = {
    "token revoke",
    "revoke a service token by id",
    "usage: keyward token revoke ID\n\n"
    "keywardd stops honouring it within a second. Exit 4 for an unknown id. Needs admin on *.\n",
    {},
    1,
    1,
    run_revoke};

}  // namespace keyward::cli
