// SPDX-License-Identifier: Apache-2.0
// Keyring policies in the public facade: Transit's version window (min_decryption_version,
// min_encryption_version), trim, deletion and the auto-rotate period (docs/SERVICE.md "Key
// policies"). The rules and their wording follow Vault's Transit engine, so that keywardd can
// pass the messages on unchanged.
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"

namespace keyward {

namespace {

// The version that encrypts, which Vault calls the latest: the active one (after a rollback,
// older than the newest), else the newest.
std::uint32_t encrypting_version(const core::KeyringRow& ring) {
    std::uint32_t newest = 0;
    for (const auto& v : ring.versions) {
        if (v.state == KekState::active) return v.version;
        newest = std::max(newest, v.version);
    }
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
    KW_TRY(auto p, impl.policies.get(keyring));
    if (p.min_encryption_version == 0) return {};
    if (version == 0) {
        // "The active one": looked up only when a minimum is set, so that a refused wrap
        // costs no token operation (and, on suite 2, nothing from the wrap budget).
        KW_TRY(auto active, impl.store->active_version(keyring));
        if (!active) return {};  // the operation itself says what is wrong
        version = active->version;
    }
    if (version >= p.min_encryption_version) return {};
    return Error(Errc::policy_refused,
                 "KEK version " + std::to_string(version) + " of keyring \"" + keyring +
                     "\" is below the keyring's min_encryption_version (" +
                     std::to_string(p.min_encryption_version) + "): disallowed by policy");
}

Result<KeyringInfo> Keyward::configure_keyring(const std::string& name,
                                               const KeyringPolicyUpdate& update) {
    return impl_->audited(
        core::ops::keyring_config, core::Resource::of_keyring(name), "keyring:" + name,
        [&](AuditNote& note) -> Result<KeyringInfo> {
            KW_TRY(auto ring, impl_->keyrings.show(name));
            const std::uint32_t latest = encrypting_version(ring);
            // Read, changed and written under the database's write lock: a change another
            // process makes at the same time is read first, never undone.
            KeyringPolicy next;
            KW_TRY_STATUS(impl_->store->with_write_lock([&]() -> Status {
                auto updated = impl_->policies.update(
                    name, [&](KeyringPolicy& p) { return apply_update(p, update, latest); });
                if (!updated.ok()) return updated.error();
                next = *updated;
                return {};
            }));
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
            KW_TRY(auto now, impl_->policies.read_now(name));
            const KeyringPolicy& p = now.first;
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
            // Only min_available_version changes, on the policy as it is now: a change made
            // while the versions were being destroyed stays.
            KW_TRY_STATUS(impl_->store->with_write_lock([&]() -> Status {
                auto updated = impl_->policies.update(name, [&](KeyringPolicy& q) -> Status {
                    q.min_available_version = std::max(q.min_available_version, m);
                    return {};
                });
                if (!updated.ok()) return updated.error();
                return {};
            }));
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
            KW_TRY(auto ring, impl_->keyrings.show(name));  // not_found for a missing keyring
            (void)ring;
            KW_TRY(auto now, impl_->policies.read_now(name));
            if (!now.first.deletion_allowed) {
                return Error(Errc::state_refused,
                             "deletion is not allowed for this policy (keyward keyring config " +
                                 name + " --deletion-allowed yes allows it)");
            }
            // Under the database's write lock, after the store has checked that no namespace,
            // record or running job uses the keyring (no writer can add one meanwhile): the
            // token's ledger records every version destroyed, from then on unusable by any
            // process and never adopted again, then the rows go in the same transaction.
            std::vector<std::uint32_t> versions;
            auto record_all = [&](const std::vector<core::KekVersionRow>& rows) -> Status {
                for (const auto& row : rows) {
                    KW_TRY_STATUS(impl_->keyrings.ledger().record(row, KekState::destroyed));
                    versions.push_back(row.version);
                }
                return {};
            };
            KW_TRY_STATUS(impl_->store->delete_keyring(name, record_all));
            // Then the objects, every version's label whatever its state (a retire that died
            // before destroying its object left one), and the policy. A failure here leaves
            // objects the ledger already condemns: a keyring made under the name later destroys
            // them instead of adopting them.
            std::size_t destroyed = 0;
            for (std::uint32_t v : versions) {
                auto gone = impl_->hsm->destroy_kek(kek_label(name, v));
                if (gone.ok()) ++destroyed;
                if (!gone.ok() && gone.error().code() != Errc::not_found) return gone;
            }
            KW_TRY_STATUS(impl_->policies.remove(name));
            note.detail = std::to_string(versions.size()) + " KEK versions recorded destroyed, " +
                          std::to_string(destroyed) + " objects destroyed";
            return {};
        });
}

}  // namespace keyward
