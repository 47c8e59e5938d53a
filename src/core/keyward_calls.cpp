// SPDX-License-Identifier: Apache-2.0
// The path of every public call: who is calling (the handle's principal or a CallScope's),
// the access check, the audit entry, and the two-person rule.
#include <syslog.h>

#include "core/clock.hpp"
#include "core/keyward_impl.hpp"

namespace keyward {

struct CallScope::Frame {
    // The handle's inside, taken when the scope is made: never dereferenced later, only
    // compared, so a frame left behind by a handle closed first is harmless.
    const void* impl;
    CallContext context;
    Frame* previous;
};

namespace {

// The innermost scope of each thread. Plain pointers: no non-trivial thread-local object, so
// nothing runs at thread exit (the provider's DESIGN.md traps).
thread_local CallScope::Frame* t_top = nullptr;
// Set while an approved proposal runs on this thread, so that the two-person rule lets it by.
thread_local bool t_running_approved = false;

}  // namespace

CallScope::CallScope(const void* handle_inside, CallContext context)
    : frame_(new Frame{handle_inside, std::move(context), t_top}) {
    t_top = frame_;
}

CallScope::~CallScope() {
    // Scopes nest: this is the top one unless a caller broke the documented rule, in which
    // case unlink it wherever it is rather than leave a dangling frame.
    if (t_top == frame_) {
        t_top = frame_->previous;
    } else {
        for (Frame* f = t_top; f != nullptr; f = f->previous) {
            if (f->previous == frame_) {
                f->previous = frame_->previous;
                break;
            }
        }
    }
    delete frame_;
}

CallScope Keyward::act_as(CallContext context) const {
    return CallScope(impl_.get(), std::move(context));
}

std::string Keyward::principal() const {
    return impl_->caller().principal;
}

Caller Keyward::Impl::caller() const {
    Caller c;
    c.principal = principal;
    c.actor = actor;
    for (const CallScope::Frame* f = t_top; f != nullptr; f = f->previous) {
        // A scope belongs to one handle; this Impl belongs to exactly one.
        if (f->impl != this) continue;
        c.context = f->context;
        if (!f->context.principal.empty() && f->context.principal != principal) {
            // The handle's holder lets a caller act: the log names both ("owner as alice").
            c.actor = actor.empty() ? principal : actor;
            c.principal = f->context.principal;
        }
        break;
    }
    return c;
}

Result<core::Resource> Keyward::Impl::namespace_resource(const std::string& ns) {
    KW_TRY(auto ring, store->find_namespace(ns));
    return core::Resource::of_namespace(ns, ring.value_or(ns));
}

Status Keyward::Impl::write_entry(const core::Operation& op, const Caller& c,
                                  const std::string& target, const std::string& outcome,
                                  const std::string& error, const std::string& detail,
                                  const char* checkpoint_reason) {
    AuditEntry e;
    e.principal = c.principal;
    e.actor = c.actor;
    e.operation = std::string(op.name);
    e.target = target;
    e.outcome = outcome;
    e.error = error;
    e.detail = detail;
    e.client_address = c.context.client_address;
    e.user_agent = c.context.user_agent;
    e.request_id = c.context.request_id;
    e.reason = c.context.reason;
    const bool stateless = op.kind == core::OperationClass::stateless;
    const auto durability =
        stateless && !config.audit_strict ? core::Durability::grouped : core::Durability::strict;
    // Denials are strict whatever the class: a refused caller may be probing.
    const bool strict_denial = outcome == "denied";
    return audit.record(std::move(e), strict_denial ? core::Durability::strict : durability,
                        op.kind == core::OperationClass::management && outcome == "ok",
                        checkpoint_reason);
}

Status Keyward::Impl::authorize(const core::Operation& op, const Caller& c,
                                const core::Resource& resource, const std::string& target) {
    if (!valid_principal_name(c.principal)) {
        // Never logged as given: it could be anything a door passed on.
        return Error(Errc::access_denied,
                     "access denied: the caller's principal is not a valid name (1-64 letters, "
                     "digits or ._@-)");
    }
    if (!audit_blocked.empty() && !reports_on_audit(op) && &op != &core::ops::restore) {
        return Error(Errc::token_mismatch, audit_blocked);
    }
    auto allowed = access.check(c.principal, op.permission, resource, std::string(op.name));
    if (allowed.ok()) return allowed;
    if (allowed.error().code() == Errc::access_denied) {
        auto written = write_entry(op, c, target, "denied", "access_denied", "");
        if (!written.ok()) {
            syslog(LOG_AUTHPRIV | LOG_WARNING, "keyward: denial not audited: %s",
                   written.error().message().c_str());
        }
    }
    return allowed;
}

Error Keyward::Impl::refuse(const core::Operation& op, const std::string& target,
                            const Error& error) {
    const Caller c = caller();
    const bool denied = error.code() == Errc::access_denied;
    (void)write_entry(op, c, target, denied ? "denied" : "failed",
                      std::string(errc_name(error.code())), "");
    return error;
}

Status Keyward::Impl::require_approval(GuardedOperation op, const std::string& target) const {
    if (!config.two_person_rule || t_running_approved) return ok_status();
    return Error(Errc::access_denied,
                 "access denied: " + std::string(guarded_operation_name(op)) + " of " + target +
                     " needs two admins (two_person_rule = on): propose it with keyward "
                     "propose " +
                     std::string(guarded_operation_name(op)) + " " + target +
                     ", then another admin runs keyward approve ID");
}

ApprovedRun::ApprovedRun() {
    t_running_approved = true;
}

ApprovedRun::~ApprovedRun() {
    t_running_approved = false;
}

}  // namespace keyward
