// SPDX-License-Identifier: Apache-2.0
// The access-control and audit part of the public facade: grants, proposals and approvals,
// and the audit log's verify, list, archive and key rotation.
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "core/record_address.hpp"
#include "crypto/random.hpp"

namespace keyward {

namespace {

constexpr std::int64_t kProposalLifetimeSeconds = 24 * 3600;

// The resource a scope text names, for the admin check on grant and revoke.
Result<core::Resource> resource_of_scope(Keyward::Impl& impl, const std::string& scope) {
    KW_TRY_STATUS(core::check_scope(scope));
    if (scope == "*") return core::Resource::all();
    if (scope.rfind("keyring:", 0) == 0) return core::Resource::of_keyring(scope.substr(8));
    return impl.namespace_resource(scope);
}

std::string describe(const GrantInfo& g) {
    std::string d = std::string(role_name(g.role)) + " on " + g.scope;
    if (!g.expires_at.empty()) d += " until " + g.expires_at;
    if (g.break_glass) d += " (break-glass)";
    return d;
}

}  // namespace

Result<GrantInfo> Keyward::grant(const GrantRequest& request) {
    KW_TRY(auto resource, resource_of_scope(*impl_, request.scope));
    const Caller c = impl_->caller();
    // Recovery: when no valid admin of "*" is left (rows lost or edited), whoever holds the
    // config, the PIN and the files, acting as themselves, may grant again: they are root over
    // keyward anyway (docs/ACCESS.md). The entry says so.
    bool bootstrap = false;
    if (c.actor.empty() && c.principal == impl_->config.principal) {
        KW_TRY(bool any_admin, impl_->access.has_admin_of_everything());
        bootstrap = !any_admin;
    }
    auto body = [&](AuditNote& note) -> Result<GrantInfo> {
        KW_TRY(auto g, impl_->access.grant(request, c.principal));
        note.target = request.principal + ":" + g.scope;
        note.detail = "grant " + g.id + ": " + describe(g);
        if (bootstrap) note.detail += "; no valid admin of * was left (recovery)";
        if (!request.reason.empty()) note.detail += "; reason: " + request.reason;
        return g;
    };
    if (bootstrap) {
        return impl_->run_audited(core::ops::access_grant, c,
                                  request.principal + ":" + request.scope, body);
    }
    return impl_->audited(core::ops::access_grant, resource,
                          request.principal + ":" + request.scope, body);
}

Status Keyward::revoke_grant(const std::string& principal, Role role, const std::string& scope) {
    KW_TRY(auto resource, resource_of_scope(*impl_, scope));
    return impl_->audited(core::ops::access_revoke, resource, principal + ":" + scope,
                          [&](AuditNote& note) -> Status {
                              note.detail =
                                  "revoke " + std::string(role_name(role)) + " on " + scope;
                              KW_TRY(auto n, impl_->access.revoke(principal, role, scope));
                              if (n == 0) {
                                  return Error(Errc::not_found, principal + " holds no " +
                                                                    std::string(role_name(role)) +
                                                                    " grant on " + scope);
                              }
                              return ok_status();
                          });
}

Result<Keyward::GrantListing> Keyward::grants(const std::string& principal) {
    const Caller c = impl_->caller();
    // Everyone may list their own grants; others' need auditor or admin of "*".
    const bool own = !principal.empty() && principal == c.principal;
    auto body = [&](AuditNote& note) -> Result<GrantListing> {
        KW_TRY(auto checked, impl_->access.checked_grants(principal));
        GrantListing out;
        for (auto& g : checked) {
            if (!g.mac_ok) out.invalid.push_back(g.row.grant.id);
            out.grants.push_back(std::move(g.row.grant));
        }
        note.detail = std::to_string(out.grants.size()) + " grants";
        return out;
    };
    if (own) return impl_->run_audited(core::ops::access_list, c, principal, body);
    return impl_->audited(core::ops::access_list, core::Resource::all(),
                          principal.empty() ? "*" : principal, body);
}

namespace {

// The resource a guarded operation's target touches, for the admin check.
Result<core::Resource> guarded_resource(Keyward::Impl& impl, GuardedOperation op,
                                        const std::string& target) {
    switch (op) {
        case GuardedOperation::retire:
        case GuardedOperation::compromise: {
            const auto slash = target.rfind('/');
            if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
                target.find_first_not_of("0123456789", slash + 1) != std::string::npos) {
                return Error(Errc::usage, "a " + std::string(guarded_operation_name(op)) +
                                              " target is KEYRING/VERSION, e.g. payments/1");
            }
            return core::Resource::of_keyring(target.substr(0, slash));
        }
        case GuardedOperation::purge: {
            KW_TRY(auto a, core::parse_record_address(target));
            return impl.namespace_resource(a.ns);
        }
        case GuardedOperation::delete_keyring:
            KW_TRY_STATUS(core::check_keyring_name(target));
            return core::Resource::of_keyring(target);
        case GuardedOperation::audit_rotate_key:
            if (target != "audit") {
                return Error(Errc::usage, "the audit-rotate-key target is \"audit\"");
            }
            return core::Resource::all();
    }
    return core::Resource::all();
}

std::uint32_t version_of(const std::string& target) {
    try {
        return static_cast<std::uint32_t>(std::stoul(target.substr(target.rfind('/') + 1)));
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

Result<Proposal> Keyward::propose(GuardedOperation operation, const std::string& target,
                                  const std::string& reason) {
    KW_TRY(auto resource, guarded_resource(*impl_, operation, target));
    const Caller c = impl_->caller();
    return impl_->audited(
        core::ops::propose, resource, target, [&](AuditNote& note) -> Result<Proposal> {
            Proposal p;
            Bytes id(8);
            KW_TRY_STATUS(crypto::random_bytes(id));
            p.id = to_hex(id);
            p.operation = operation;
            p.target = target;
            p.reason = reason;
            p.proposed_by = c.principal;
            p.proposed_at = core::utc_now_iso8601();
            p.expires_at = core::iso8601_from_unix(
                core::unix_from_iso8601(p.proposed_at).value_or(0) + kProposalLifetimeSeconds);
            p.state = "pending";
            core::ProposalRow row;
            row.proposal = p;
            KW_TRY(auto tag, impl_->audit_key.mac(impl_->audit_key.proposal_message(p)));
            row.mac = std::move(tag.first);
            row.key_version = tag.second;
            KW_TRY_STATUS(impl_->store->insert_proposal(row));
            note.detail = "proposal " + p.id + ": " +
                          std::string(guarded_operation_name(operation)) + " " + target;
            return p;
        });
}

Result<Proposal> Keyward::approve(const std::string& id) {
    KW_TRY(auto found, impl_->store->find_proposal(id));
    if (!found) return Error(Errc::not_found, "no proposal " + id);
    core::ProposalRow row = std::move(*found);
    KW_TRY(bool genuine, impl_->audit_key.verify(impl_->audit_key.proposal_message(row.proposal),
                                                 row.mac, row.key_version));
    if (!genuine) {
        return impl_->rejected_input(
            core::ops::approve,
            Error(Errc::access_denied, "access denied: proposal " + id +
                                           " does not carry a valid token MAC: it was not made "
                                           "by keyward, or was edited; it is ignored"));
    }
    KW_TRY(auto resource, guarded_resource(*impl_, row.proposal.operation, row.proposal.target));
    const Caller c = impl_->caller();
    return impl_->audited(
        core::ops::approve, resource, row.proposal.target,
        [&](AuditNote& note) -> Result<Proposal> {
            Proposal& p = row.proposal;
            note.detail = "proposal " + p.id + " by " + p.proposed_by + ": " +
                          std::string(guarded_operation_name(p.operation));
            if (p.state != "pending") {
                return Error(Errc::state_refused, "proposal " + id + " is " + p.state);
            }
            const std::string now = core::utc_now_iso8601();
            if (p.expires_at <= now) {
                return Error(Errc::state_refused, "proposal " + id + " expired at " + p.expires_at +
                                                      "; propose it again");
            }
            if (p.proposed_by == c.principal) {
                return Error(Errc::access_denied,
                             "access denied: " + c.principal +
                                 " proposed this and cannot approve it too: a different admin "
                                 "must (two-person rule)");
            }
            // Claimed first (a second approver loses the race), then run.
            p.state = "running";
            p.approved_by = c.principal;
            p.approved_at = now;
            KW_TRY(auto tag, impl_->audit_key.mac(impl_->audit_key.proposal_message(p)));
            core::ProposalRow claimed{p, tag.second, std::move(tag.first)};
            KW_TRY_STATUS(impl_->store->update_proposal(claimed, "pending"));
            Status outcome = ok_status();
            {
                ApprovedRun approved;
                switch (p.operation) {
                    case GuardedOperation::retire:
                        outcome = retire_kek(p.target.substr(0, p.target.rfind('/')),
                                             version_of(p.target));
                        break;
                    case GuardedOperation::compromise:
                        outcome = compromise_kek(p.target.substr(0, p.target.rfind('/')),
                                                 version_of(p.target));
                        break;
                    case GuardedOperation::purge:
                        outcome = purge_record(p.target);
                        break;
                    case GuardedOperation::audit_rotate_key:
                        outcome = rotate_audit_key();
                        break;
                    case GuardedOperation::delete_keyring:
                        outcome = delete_keyring(p.target);
                        break;
                }
            }
            p.state = outcome.ok() ? "done" : "failed";
            KW_TRY(auto tag2, impl_->audit_key.mac(impl_->audit_key.proposal_message(p)));
            core::ProposalRow ended{p, tag2.second, std::move(tag2.first)};
            KW_TRY_STATUS(impl_->store->update_proposal(ended, "running"));
            if (!outcome.ok()) return outcome.error();
            return p;
        });
}

Result<std::vector<Proposal>> Keyward::proposals() {
    return impl_->audited(core::ops::access_list, core::Resource::all(), "proposals",
                          [&](AuditNote&) -> Result<std::vector<Proposal>> {
                              KW_TRY(auto rows, impl_->store->proposals());
                              std::vector<Proposal> out;
                              for (auto& r : rows) {
                                  KW_TRY(bool ok, impl_->audit_key.verify(
                                                      impl_->audit_key.proposal_message(r.proposal),
                                                      r.mac, r.key_version));
                                  if (ok) out.push_back(std::move(r.proposal));
                              }
                              return out;
                          });
}

Result<AuditVerifyReport> Keyward::verify_audit() {
    return impl_->audited(core::ops::audit_verify, core::Resource::all(), "audit",
                          [&](AuditNote& note) -> Result<AuditVerifyReport> {
                              KW_TRY(auto r, impl_->audit.verify());
                              note.detail =
                                  r.ok ? "intact, " + std::to_string(r.entries) + " entries"
                                       : "broken: " + r.problem;
                              return r;
                          });
}

Result<AuditVerifyReport> Keyward::verify_audit_archive(const std::string& path) {
    return impl_->audited(core::ops::audit_verify, core::Resource::all(), "archive",
                          [&](AuditNote& note) -> Result<AuditVerifyReport> {
                              KW_TRY(auto r, impl_->audit.verify_archive(path));
                              note.detail =
                                  r.ok ? "archive intact, " + std::to_string(r.entries) + " entries"
                                       : "archive broken";
                              return r;
                          });
}

Result<std::vector<AuditEntry>> Keyward::audit_entries(const AuditQuery& query) {
    return impl_->audited(core::ops::audit_list, core::Resource::all(), "audit",
                          [&](AuditNote& note) -> Result<std::vector<AuditEntry>> {
                              KW_TRY(auto entries, impl_->audit.list(query));
                              note.detail = std::to_string(entries.size()) + " entries";
                              return entries;
                          });
}

Result<AuditArchiveReport> Keyward::archive_audit(const std::string& before,
                                                  const std::string& out_path) {
    return impl_->audited(core::ops::audit_archive, core::Resource::all(), "audit",
                          [&](AuditNote& note) -> Result<AuditArchiveReport> {
                              KW_TRY(auto t, core::normalize_iso8601(before));
                              KW_TRY(auto r, impl_->audit.archive(t, out_path));
                              note.detail = r.entries == 0
                                                ? "nothing before " + t
                                                : "entries " + std::to_string(r.first_seq) + ".." +
                                                      std::to_string(r.last_seq) + " archived";
                              return r;
                          });
}

Status Keyward::rotate_audit_key() {
    return impl_->audited(
        core::ops::audit_rotate_key, core::Resource::all(), "audit",
        [&](AuditNote& note) -> Status {
            KW_TRY_STATUS(impl_->require_approval(GuardedOperation::audit_rotate_key, "audit"));
            auto& key = impl_->audit_key;
            // Only rows that verify now are carried over to the new key: a forged row stays
            // forged.
            KW_TRY(auto checked, impl_->access.checked_grants(""));
            KW_TRY(auto proposal_rows, impl_->store->proposals());
            KW_TRY(auto next, key.generate_next());
            std::vector<core::GrantRow> grants;
            for (auto& g : checked) {
                if (!g.mac_ok) continue;
                KW_TRY(g.row.mac, key.mac_with(key.grant_message(g.row.grant), next));
                grants.push_back(std::move(g.row));
            }
            std::vector<core::ProposalRow> proposals;
            for (auto& p : proposal_rows) {
                KW_TRY(bool ok, key.verify(key.proposal_message(p.proposal), p.mac, p.key_version));
                if (!ok) continue;
                KW_TRY(p.mac, key.mac_with(key.proposal_message(p.proposal), next));
                proposals.push_back(std::move(p));
            }
            KW_TRY(auto token_rows, impl_->service_tokens.checked_rows());
            std::vector<core::ServiceTokenRow> tokens;
            for (auto& t : token_rows) {
                if (!t.mac_ok) continue;
                KW_TRY(t.row.mac, key.mac_with(key.service_token_message(t.row), next));
                tokens.push_back(std::move(t.row));
            }
            KW_TRY_STATUS(impl_->store->remac_access_rows(grants, proposals, tokens, next));
            key.use_version(next);
            note.detail = "audit key version " + std::to_string(next) + "; " +
                          std::to_string(grants.size()) + " grants and " +
                          std::to_string(proposals.size()) + " proposals and " +
                          std::to_string(tokens.size()) + " service tokens re-MAC'd";
            return ok_status();
        });
}

Status Keyward::flush_audit() {
    return impl_->audit.flush();
}

}  // namespace keyward
