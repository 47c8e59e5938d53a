// SPDX-License-Identifier: Apache-2.0
// Keyring policies in the public facade: Transit's version window (min_decryption_version,
// min_encryption_version), trim, deletion and the auto-rotate period (docs/SERVICE.md "Key
// policies"). The rules and their wording follow Vault's Transit engine, so that keywardd can
// pass the messages on unchanged.
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"

namespace keyward {

namespace {

std::uint32_t newest_version(const core::KeyringRow& ring) {
    std::uint32_t newest = 0;
    for (const auto& v : ring.versions) newest = std::max(newest, v.version);
    return newest;
}

Error bad(std::string message) {
    return Error(Errc::bad_input, std::move(message));
}

// Vault's rules for a policy change, applied to `next` (a copy of the current one).
Status apply_update(KeyringPolicy& next, const KeyringPolicyUpdate& u, std::uint32_t latest) {
    const KeyringPolicy before = next;
    if (u.min_decryption_version) {
        // Vault forces 0 up to 1: versions are numbered from 1.
        const std::uint32_t v = std::max<std::uint32_t>(1, *u.min_decryption_version);
        if (v != before.min_decryption_version && v > latest) {
            return bad("cannot set min decryption version of " + std::to_string(v) +
                       ", latest key version is " + std::to_string(latest));
        }
        next.min_decryption_version = v;
    }
    if (u.min_encryption_version) {
        const std::uint32_t v = *u.min_encryption_version;
        if (v != before.min_encryption_version && v > latest) {
            return bad("cannot set min encryption version of " + std::to_string(v) +
                       ", latest key version is " + std::to_string(latest));
        }
        next.min_encryption_version = v;
    }
    if (next.min_encryption_version > 0 &&
        next.min_encryption_version < next.min_decryption_version) {
        return bad("cannot set min encryption/decryption values; min encryption version of " +
                   std::to_string(next.min_encryption_version) +
                   " must be greater than or equal to min decryption version of " +
                   std::to_string(next.min_decryption_version));
    }
    if (u.deletion_allowed) next.deletion_allowed = *u.deletion_allowed;
    if (u.auto_rotate_period_seconds) {
        const std::uint64_t s = *u.auto_rotate_period_seconds;
        if (s != 0 && s < 3600)
            return bad("auto rotate period must be 0 to disable or at least an hour");
        next.auto_rotate_period_seconds = s;
    }
    if (next.min_available_version > next.min_encryption_version) {
        return bad("min encryption version should not be less than min available version");
    }
    if (next.min_available_version > next.min_decryption_version) {
        return bad("min decryption version should not be less than min available version");
    }
    return {};
}

bool same_policy(const KeyringPolicy& a, const KeyringPolicy& b) {
    return a.min_decryption_version == b.min_decryption_version &&
           a.min_encryption_version == b.min_encryption_version &&
           a.min_available_version == b.min_available_version &&
           a.deletion_allowed == b.deletion_allowed &&
           a.auto_rotate_period_seconds == b.auto_rotate_period_seconds;
}

std::string describe(const KeyringPolicy& p) {
    return "min_decryption_version " + std::to_string(p.min_decryption_version) +
           ", min_encryption_version " + std::to_string(p.min_encryption_version) +
           ", min_available_version " + std::to_string(p.min_available_version) +
           ", deletion_allowed " + (p.deletion_allowed ? "yes" : "no") + ", auto_rotate_period " +
           std::to_string(p.auto_rotate_period_seconds) + "s";
}

}  // namespace

Status check_decryption_policy(Keyward::Impl& impl, const std::string& keyring,
                               std::uint32_t version) {
    KW_TRY(auto p, impl.policies.get(keyring));
    if (version >= p.min_decryption_version) return {};
    return Error(Errc::policy_refused,
                 "KEK version " + std::to_string(version) + " of keyring \"" + keyring +
                     "\" is below the keyring's min_decryption_version (" +
                     std::to_string(p.min_decryption_version) +
                     "): disallowed by policy (too old); rewrap it under a newer version");
}

Status check_encryption_policy(Keyward::Impl& impl, const std::string& keyring,
                               std::uint32_t version) {
    if (version == 0) return {};  // "the active one", checked on the result
    KW_TRY(auto p, impl.policies.get(keyring));
    if (version >= p.min_encryption_version) return {};
    return Error(Errc::policy_refused,
                 "KEK version " + std::to_string(version) + " of keyring \"" + keyring +
                     "\" is below the keyring's min_encryption_version (" +
                     std::to_string(p.min_encryption_version) + "): disallowed by policy");
}

Result<KeyringInfo> Keyward::configure_keyring(const std::string& name,
                                               const KeyringPolicyUpdate& update) {
    return impl_->audited(core::ops::keyring_config, core::Resource::of_keyring(name),
                          "keyring:" + name, [&](AuditNote& note) -> Result<KeyringInfo> {
                              KW_TRY(auto ring, impl_->keyrings.show(name));
                              KW_TRY(const auto current, impl_->policies.get(name));
                              KeyringPolicy next = current;
                              KW_TRY_STATUS(apply_update(next, update, newest_version(ring)));
                              if (!same_policy(next, current)) {
                                  next.updated_at = core::utc_now_iso8601();
                                  KW_TRY_STATUS(impl_->policies.put(name, next));
                              }
                              note.detail = describe(next);
                              return keyring_info(*impl_, ring);
                          });
}

Result<KeyringInfo> Keyward::trim_keyring(const std::string& name,
                                          std::uint32_t min_available_version) {
    const std::string target = "keyring:" + name;
    if (impl_->config.two_person_rule) {
        // Trimming destroys KEKs, as retire does; under the rule each one is proposed.
        if (auto s = impl_->require_approval(GuardedOperation::retire, name); !s.ok()) {
            return impl_->refuse(
                core::ops::keyring_trim, target,
                Error(Errc::access_denied,
                      "access denied: trim destroys KEK versions and needs two admins "
                      "(two_person_rule = on): propose retiring each version below " +
                          std::to_string(min_available_version) + " with keyward propose retire " +
                          name + "/VERSION, then another admin runs keyward approve ID"));
        }
    }
    return impl_->audited(
        core::ops::keyring_trim, core::Resource::of_keyring(name), target,
        [&](AuditNote& note) -> Result<KeyringInfo> {
            KW_TRY(auto ring, impl_->keyrings.show(name));
            KW_TRY(auto p, impl_->policies.get(name));
            const std::uint32_t m = min_available_version;
            note.detail = "min_available_version " + std::to_string(m);
            if (m < p.min_available_version) {
                return bad("minimum available version cannot be decremented");
            }
            if (p.min_encryption_version == 0) {
                return bad(
                    "minimum available version cannot be set when minimum encryption version is "
                    "not set");
            }
            if (m > p.min_encryption_version) {
                return bad(
                    "minimum available version cannot be greater than minimum encryption "
                    "version");
            }
            if (m > p.min_decryption_version) {
                return bad(
                    "minimum available version cannot be greater than minimum decryption "
                    "version");
            }
            if (m == 0) return bad("minimum available version should be positive");
            // Every version to destroy first, so that nothing is destroyed when one is in use.
            std::vector<std::uint32_t> doomed;
            std::uint64_t in_use = 0;
            for (const auto& v : ring.versions) {
                if (v.version >= m || v.state == KekState::destroyed) continue;
                if (v.state == KekState::active || v.state == KekState::pre_active) {
                    return Error(Errc::state_refused, "cannot trim: version " +
                                                          std::to_string(v.version) +
                                                          " of keyring " + name + " is " +
                                                          std::string(kek_state_name(v.state)));
                }
                KW_TRY(auto n, impl_->store->records_under(name, v.version));
                in_use += n;
                doomed.push_back(v.version);
            }
            if (in_use > 0) {
                return Error(Errc::state_refused,
                             "cannot trim: " + std::to_string(in_use) +
                                 " stored record versions still use versions below " +
                                 std::to_string(m) + " of keyring " + name +
                                 "; run keyward keyring rotate " + name + " first");
            }
            for (std::uint32_t v : doomed) {
                // retire reads every stored envelope's header, not only the columns counted
                // above, and records the destruction in the token before destroying the KEK.
                KW_TRY_STATUS(impl_->rotation.retire(name, v));
            }
            p.min_available_version = m;
            p.updated_at = core::utc_now_iso8601();
            KW_TRY_STATUS(impl_->policies.put(name, p));
            note.detail += ", " + std::to_string(doomed.size()) + " versions destroyed";
            KW_TRY(ring, impl_->keyrings.show(name));
            return keyring_info(*impl_, ring);
        });
}

Status Keyward::delete_keyring(const std::string& name) {
    const std::string target = "keyring:" + name;
    if (auto s = impl_->require_approval(GuardedOperation::delete_keyring, name); !s.ok()) {
        return impl_->refuse(core::ops::keyring_delete, target, s.error());
    }
    return impl_->audited(
        core::ops::keyring_delete, core::Resource::of_keyring(name), target,
        [&](AuditNote& note) -> Status {
            KW_TRY(auto ring, impl_->keyrings.show(name));
            KW_TRY(auto p, impl_->policies.get(name));
            if (!p.deletion_allowed) {
                return Error(Errc::state_refused,
                             "deletion is not allowed for this policy (keyward keyring config " +
                                 name + " --deletion-allowed yes allows it)");
            }
            KW_TRY(auto running, impl_->store->running_job(name));
            if (running) {
                return Error(Errc::state_refused,
                             "keyring " + name + " has an unfinished " +
                                 std::string(rotation_kind_name(running->kind)) + " (job " +
                                 std::to_string(running->id) + ")");
            }
            std::uint64_t in_use = 0;
            for (const auto& v : ring.versions) {
                KW_TRY(auto n, impl_->store->records_under(name, v.version));
                in_use += n;
            }
            KW_TRY(auto spaces, impl_->store->list_namespaces());
            std::size_t mapped = 0;
            for (const auto& ns : spaces) mapped += ns.keyring == name ? 1 : 0;
            if (in_use > 0 || mapped > 0) {
                return Error(Errc::state_refused, "keyring " + name + " is still used by " +
                                                      std::to_string(mapped) + " namespaces and " +
                                                      std::to_string(in_use) +
                                                      " stored record versions; it is not deleted");
            }
            // The token's ledger first: from then on no process wraps or unwraps under these
            // KEKs, and a keyring made later under the same name cannot adopt one of them.
            // Then the rows (refused again, atomically, if a record arrived meanwhile), then the
            // objects and the policy.
            std::size_t destroyed = 0;
            for (const auto& v : ring.versions) {
                if (v.state == KekState::destroyed) continue;
                KW_TRY(auto row, impl_->store->find_version(name, v.version));
                if (row) KW_TRY_STATUS(impl_->keyrings.ledger().record(*row, KekState::destroyed));
            }
            KW_TRY_STATUS(impl_->store->delete_keyring(name));
            for (const auto& v : ring.versions) {
                if (v.state == KekState::destroyed) continue;
                auto gone = impl_->hsm->destroy_kek(kek_label(name, v.version));
                if (!gone.ok() && gone.error().code() != Errc::not_found) return gone;
                ++destroyed;
            }
            KW_TRY_STATUS(impl_->policies.remove(name));
            note.detail = std::to_string(destroyed) + " KEK versions destroyed";
            return {};
        });
}

}  // namespace keyward
