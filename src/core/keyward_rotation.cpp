// SPDX-License-Identifier: Apache-2.0
// The rotation part of the public facade.
#include "core/keyward_impl.hpp"

namespace keyward {

namespace {

RotationReport to_report(const core::RotationJob& j) {
    RotationReport r;
    r.id = j.id;
    r.keyring = j.keyring;
    r.kind = j.kind;
    r.state = j.state;
    r.from_version = j.from_version;
    r.to_version = j.to_version;
    r.started_at = j.started_at;
    r.started_by = j.started_by;
    r.finished_at = j.finished_at;
    r.total = j.total;
    r.done = j.done;
    r.skipped = j.skipped;
    r.failed = j.failed;
    r.hsm_rewraps = j.hsm_rewraps;
    r.seconds = j.seconds;
    r.max_commit_ms = j.max_commit_ms;
    r.runs = j.runs;
    return r;
}

core::RotationOptions core_options(const RotateOptions& o) {
    core::RotationOptions c;
    c.batch = o.batch;
    c.threads = o.threads;
    c.stop = o.stop;
    if (o.progress) {
        auto progress = o.progress;
        c.progress = [progress](const core::RotationJob& j) { progress(to_report(j)); };
    }
    if (o.activated) {
        auto activated = o.activated;
        c.activated = [activated](const core::RotationJob& j) { activated(to_report(j)); };
    }
    return c;
}

RotationReport from_outcome(core::RotationOutcome&& o) {
    RotationReport r = to_report(o.job);
    r.resumed = o.resumed;
    r.interrupted = o.interrupted;
    r.failures = std::move(o.failures);
    return r;
}

}  // namespace

Result<RotationReport> Keyward::rotate_keyring(const std::string& name,
                                               const RotateOptions& options) {
    return impl_->audited(
        core::ops::keyring_rotate, core::Resource::of_keyring(name), "keyring:" + name,
        [&](AuditNote& note) -> Result<RotationReport> {
            core::RotationOptions o = core_options(options);
            if (options.activated) {
                // The caller answers its own client at activation, long before this call
                // returns and writes its entry: the switch is audited first, or not announced.
                auto announce = options.activated;
                const Caller c = impl_->caller();
                o.activated = [this, announce, c, name](const core::RotationJob& j) {
                    auto written = impl_->write_entry(
                        core::ops::keyring_rotate, c,
                        "keyring:" + name + "/v" + std::to_string(j.to_version), "ok", "",
                        "v" + std::to_string(j.from_version) + " to v" +
                            std::to_string(j.to_version) +
                            " active; the re-wrap of stored records goes on");
                    if (written.ok()) announce(to_report(j));
                };
            }
            KW_TRY(auto outcome,
                   impl_->rotation.rotate(name, options.reencrypt, o, current_actor(*impl_)));
            auto r = from_outcome(std::move(outcome));
            note.target += "/v" + std::to_string(r.to_version);
            note.detail = std::string(options.reencrypt ? "re-encrypt" : "rotate") + " v" +
                          std::to_string(r.from_version) + " to v" + std::to_string(r.to_version) +
                          ": " + std::to_string(r.done) + " done, " + std::to_string(r.failed) +
                          " failed" + (r.interrupted ? ", interrupted" : "");
            return r;
        });
}

Result<RotationReport> Keyward::rollback_keyring(const std::string& name,
                                                 const RotateOptions& options) {
    return impl_->audited(
        core::ops::keyring_rollback, core::Resource::of_keyring(name), "keyring:" + name,
        [&](AuditNote& note) -> Result<RotationReport> {
            KW_TRY(auto outcome,
                   impl_->rotation.rollback(name, core_options(options), current_actor(*impl_)));
            auto r = from_outcome(std::move(outcome));
            note.detail = "v" + std::to_string(r.from_version) + " back to v" +
                          std::to_string(r.to_version) + ": " + std::to_string(r.done) + " done";
            return r;
        });
}

Result<std::vector<RotationReport>> Keyward::keyring_history(const std::string& name) {
    return impl_->audited(core::ops::keyring_history, core::Resource::of_keyring(name),
                          "keyring:" + name,
                          [&](AuditNote&) -> Result<std::vector<RotationReport>> {
                              KW_TRY(auto jobs, impl_->rotation.history(name));
                              std::vector<RotationReport> out;
                              for (const auto& j : jobs) out.push_back(to_report(j));
                              return out;
                          });
}

Status Keyward::compromise_kek(const std::string& name, std::uint32_t version) {
    const std::string target = name + "/" + std::to_string(version);
    if (auto s = impl_->require_approval(GuardedOperation::compromise, target); !s.ok()) {
        return impl_->refuse(core::ops::keyring_compromise,
                             "keyring:" + name + "/v" + std::to_string(version), s.error());
    }
    return impl_->audited(core::ops::keyring_compromise, core::Resource::of_keyring(name),
                          "keyring:" + name + "/v" + std::to_string(version),
                          [&](AuditNote&) { return impl_->rotation.compromise(name, version); });
}

Status Keyward::retire_kek(const std::string& name, std::uint32_t version) {
    const std::string target = name + "/" + std::to_string(version);
    if (auto s = impl_->require_approval(GuardedOperation::retire, target); !s.ok()) {
        return impl_->refuse(core::ops::keyring_retire,
                             "keyring:" + name + "/v" + std::to_string(version), s.error());
    }
    return impl_->audited(core::ops::keyring_retire, core::Resource::of_keyring(name),
                          "keyring:" + name + "/v" + std::to_string(version),
                          [&](AuditNote&) { return impl_->rotation.retire(name, version); });
}

}  // namespace keyward
