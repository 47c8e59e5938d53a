// SPDX-License-Identifier: Apache-2.0
// The facade's insides, shared by the files that implement keyward::Keyward: the services, and
// the one path every public call takes through access control and the audit log.
#pragma once

#include <syslog.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/access.hpp"
#include "core/audit_key.hpp"
#include "core/audit_log.hpp"
#include "core/busy_budget.hpp"
#include "core/envelopes.hpp"
#include "core/hsm.hpp"
#include "core/keyring_policies.hpp"
#include "core/keyrings.hpp"
#include "core/operations.hpp"
#include "core/record_address.hpp"
#include "core/records.hpp"
#include "core/rotation.hpp"
#include "core/service_tokens.hpp"
#include "core/store.hpp"
#include "core/wrap_budget.hpp"
#include "keyward/keyward.hpp"

namespace keyward {

/// audit verify, audit list and health: they report on the log, so they run (and return their
/// result) when the log cannot take their own entry.
inline bool reports_on_audit(const core::Operation& op) {
    return &op == &core::ops::audit_verify || &op == &core::ops::audit_list ||
           &op == &core::ops::health || &op == &core::ops::compliance ||
           &op == &core::ops::compliance_verify;
}

/// Who is calling now: the principal whose grants apply, who acted as it (`--principal`), and
/// the caller's context for the audit log.
struct Caller {
    std::string principal;
    std::string actor;
    /// Set at open when the audit log cannot be vouched for (core::AuditLog::check_head):
    /// every call is refused with it but those that report on the log (audit verify and
    /// list, health) and restore, which repairs it.
    std::string audit_blocked;
    CallContext context;
};

/// What a call adds to its audit entry once it knows it (the version a put made...).
struct AuditNote {
    std::string target;
    std::string detail;
};

struct Keyward::Impl {
    Impl(std::unique_ptr<core::Hsm> h, std::unique_ptr<core::Store> s, const Config& cfg,
         std::unique_ptr<core::Store> audit_connection = nullptr)
        : hsm(std::move(h)),
          store(std::move(s)),
          audit_store(std::move(audit_connection)),
          keyrings(*hsm, *store),
          policies(*hsm),
          budget(*store, cfg.gcm_wrap_limit, cfg.gcm_wrap_reserve),
          envelopes(*hsm, keyrings, budget),
          records(*store, *hsm, keyrings, envelopes),
          rotation(*store, *hsm, keyrings, envelopes, budget),
          audit_key(*hsm, audit_db()),
          audit(*hsm, audit_db(), audit_key),
          access(*store, audit_key),
          service_tokens(*store, audit_key),
          config(cfg),
          principal(cfg.principal) {}

    std::unique_ptr<core::Hsm> hsm;
    std::unique_ptr<core::Store> store;
    /// The audit log's own connection (nullptr: it shares `store`).
    std::unique_ptr<core::Store> audit_store;
    core::Store& audit_db() { return audit_store ? *audit_store : *store; }
    core::Keyrings keyrings;
    core::KeyringPolicies policies;
    core::WrapBudget budget;
    core::Envelopes envelopes;
    core::Records records;
    core::Rotation rotation;
    core::AuditKey audit_key;
    core::AuditLog audit;
    core::Access access;
    core::ServiceTokens service_tokens;
    Config config;
    TokenSummary token;
    /// The handle's principal, and who acts as it ("" unless OpenOptions::act_as was used).
    std::string principal;
    std::string actor;
    /// Set at open when the audit log cannot be vouched for (core::AuditLog::check_head):
    /// every call is refused with it but those that report on the log (audit verify and
    /// list, health) and restore, which repairs it.
    std::string audit_blocked;

    /// The caller of the current thread: a CallScope of this handle, else the handle's own.
    Caller caller() const;

    /// The resource a namespace's records are: the namespace and the keyring it maps to (its
    /// own name before its first record, as put would make it).
    Result<core::Resource> namespace_resource(const std::string& ns);

    /// Appends the entry for an operation; returns the audit error when it cannot be written.
    Status write_entry(const core::Operation& op, const Caller& c, const std::string& target,
                       const std::string& outcome, const std::string& error,
                       const std::string& detail, const char* checkpoint_reason = "admin");

    /// Whether `op` may run for the caller on `resource`; a denial is audited and returned
    /// (Errc::access_denied).
    Status authorize(const core::Operation& op, const Caller& c, const core::Resource& resource,
                     const std::string& target);

    /// Checks access, runs body, audits its outcome. When the operation succeeded but its entry
    /// cannot be written, the call fails (the value is not handed out): nothing that the log
    /// does not record leaves the library.
    template <typename Fn>
    auto audited(const core::Operation& op, const core::Resource& resource, std::string target,
                 Fn&& body) -> decltype(body(std::declval<AuditNote&>())) {
        const Caller c = caller();
        KW_TRY_STATUS(authorize(op, c, resource, target));
        return run_audited(op, c, std::move(target), std::forward<Fn>(body));
    }

    /// audited() without the access check, for calls that check per item themselves (listings
    /// show only what the principal holds a role on) or need none (one's own grants).
    template <typename Fn>
    auto run_audited(const core::Operation& op, const Caller& c, std::string target, Fn&& body)
        -> decltype(body(std::declval<AuditNote&>())) {
        // One busy budget for the operation and its audit entry: a call behind another
        // writer's lock waits busy_timeout_ms once, not once for each.
        core::BusyBudget call_budget;
        core::BusyBudget::Scope in_budget(call_budget);
        AuditNote note{std::move(target), {}};
        auto result = body(note);
        const bool ok = result.ok();
        // A refusal decided inside the operation (the two-person rule's same admin) is a denial.
        const char* outcome = ok                                             ? "ok"
                              : result.error().code() == Errc::access_denied ? "denied"
                                                                             : "failed";
        auto written = write_entry(
            op, c, note.target, outcome,
            ok ? std::string() : std::string(errc_name(result.error().code())), note.detail);
        if (!written.ok() && ok && reports_on_audit(op)) {
            // audit verify, audit list and health must report on a log that cannot take
            // their own entry (a tampered one): the result is the point.
            syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: %s by %s not audited: %s",
                   std::string(op.name).c_str(), c.principal.c_str(),
                   written.error().message().c_str());
            return result;
        }
        if (!written.ok()) {
            // The caller's one error line is the operation's own (or, below, this one); the
            // lost entry is recorded where the operator looks besides.
            syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: %s by %s not audited: %s",
                   std::string(op.name).c_str(), c.principal.c_str(),
                   written.error().message().c_str());
            if (ok) {
                return Error(Errc::failed, std::string(op.name) +
                                               " could not be audited, so its result is "
                                               "withheld: " +
                                               written.error().message());
            }
        }
        return result;
    }

    /// Audits a call refused before it ran (input whose header does not parse: outcome
    /// failed; the two-person rule: outcome denied) and returns the error.
    Error refuse(const core::Operation& op, const std::string& target, const Error& error);
    Error rejected_input(const core::Operation& op, const Error& error) {
        return refuse(op, "-", error);
    }

    /// The two-person rule (docs/ACCESS.md): access_denied unless the config leaves it off or
    /// this call runs an approved proposal.
    Status require_approval(GuardedOperation op, const std::string& target) const;
};

/// Runs an operation on record `address`: parses it (a malformed one is audited as failed),
/// finds its namespace's resource, and calls body(address, note) through Impl::audited.
template <typename Fn>
auto on_record(Keyward::Impl& impl, const core::Operation& op, const std::string& address,
               Fn&& body)
    -> decltype(body(std::declval<const core::RecordAddress&>(), std::declval<AuditNote&>())) {
    auto a = core::parse_record_address(address);
    if (!a.ok()) return impl.rejected_input(op, a.error());
    KW_TRY(auto resource, impl.namespace_resource(a->ns));
    return impl.audited(op, resource, a->text(), [&](AuditNote& note) { return body(*a, note); });
}

/// The keyring an envelope or data key blob names, read from its header without the token.
Result<std::string> keyring_named_in(ByteView input);

/// The KEK (keyring and version) an envelope or data key blob names, from its header.
struct NamedKek {
    std::string keyring;
    std::uint32_t version = 0;
};
Result<NamedKek> kek_named_in(ByteView input);

/// The public view of a keyring row: states, record counts, due date and policy.
Result<KeyringInfo> keyring_info(Keyward::Impl& impl, const core::KeyringRow& ring);

/// Errc::policy_refused when the keyring's min_decryption_version is above `version`.
Status check_decryption_policy(Keyward::Impl& impl, const std::string& keyring,
                               std::uint32_t version);
/// Errc::policy_refused when the keyring's min_encryption_version is above `version`.
Status check_encryption_policy(Keyward::Impl& impl, const std::string& keyring,
                               std::uint32_t version);

/// Marks the current thread as running an approved proposal while it lives.
class ApprovedRun {
  public:
    ApprovedRun();
    ~ApprovedRun();
    ApprovedRun(const ApprovedRun&) = delete;
    ApprovedRun& operator=(const ApprovedRun&) = delete;
};

/// Who made a change, for the created_by and updated_by columns: the calling principal.
std::string current_actor(const Keyward::Impl& impl);

}  // namespace keyward
