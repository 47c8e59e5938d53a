// SPDX-License-Identifier: Apache-2.0
// Start-up checks of the database's keyrings against the token: the binding, each row's own
// consistency, the token's ledger of compromised and destroyed versions, and each live KEK
// version's object, attributes, CKA_ID and check value. The database is a claim; the token
// decides.
#include "core/clock.hpp"
#include "core/keyrings.hpp"

namespace keyward::core {

namespace {

// Set once the database's compromised and destroyed versions are in the token's ledger.
constexpr std::string_view kLedgerCopiedKey = "kek_state_ledger";

std::string version_name(const KeyringRow& ring, std::uint32_t version) {
    return "KEK " + kek_label(ring.name, version) + " (keyring \"" + ring.name + "\" version " +
           std::to_string(version) + ")";
}

}  // namespace

Status Keyrings::verify_version(const KeyringRow& ring, const KekVersionRow& v) {
    const std::string label = kek_label(ring.name, v.version);
    const std::string what = version_name(ring, v.version);
    // A row that names another object would make the key used disagree with the version
    // written into new envelopes' headers.
    if (v.label != label) {
        return Error(Errc::token_mismatch, "the database row of " + what + " names the object " +
                                               v.label +
                                               "; rows cannot be trusted: restore the database "
                                               "from a backup taken with this token");
    }
    if (v.state == KekState::destroyed || v.state == KekState::pre_active) return {};
    KW_TRY(auto found, hsm_.find_keks(label));
    if (found.empty()) {
        std::string note;
        if (auto publics = hsm_.count_public_objects(label); publics.ok() && *publics > 0) {
            note =
                " (a public object carries its label: it was made without the PIN, and "
                "keyward ignores it)";
        }
        return Error(Errc::token_mismatch,
                     what + " is missing from the token" + note +
                         "; this database needs the token it was made with (restore the token "
                         "and database from the same backup)");
    }
    if (found.size() > 1) {
        return Error(Errc::token_mismatch, what + " appears " + std::to_string(found.size()) +
                                               " times in the token as a private object; remove "
                                               "the duplicates with the token's tools");
    }
    if (!constant_time_equal(found[0].id, v.object_id)) {
        return Error(Errc::token_mismatch, what + " was replaced: its CKA_ID is " +
                                               to_hex(found[0].id) + ", the database recorded " +
                                               to_hex(v.object_id));
    }
    // check_value looks the object up through the adapter, which refuses one whose attributes
    // are not exactly keyward's (naming the attribute) before it is used.
    KW_TRY(auto check, hsm_.check_value(KekRef{label, ring.suite}));
    if (!constant_time_equal(check, v.check_value)) {
        return Error(Errc::token_mismatch,
                     what +
                         " was replaced: its check value differs from the one recorded "
                         "when it was made");
    }
    return {};
}

Status Keyrings::verify_versions(const std::vector<KeyringRow>& rings, RowsOf rows_of,
                                 const std::string& whose, std::vector<KekFault>* faults) {
    const bool live = rows_of == RowsOf::live_database;
    for (const auto& ring : rings) {
        for (const auto& row : ring.versions) {
            // The live database runs at the states the token allows (a version the token says
            // is destroyed is not looked for). A backup must hold what it needs as it stands:
            // one that needs a KEK destroyed since cannot be restored.
            KekVersionRow v = row;
            if (live) v.state = ledger_.effective_state(row);
            auto status = verify_version(ring, v);
            if (!status.ok() && !live) {
                if (auto when = ledger_.recorded(row, KekState::destroyed)) {
                    const Error& e = status.error();
                    status = Error(e.code(), e.message() + " (the token records it destroyed on " +
                                                 *when + ")");
                }
            }
            if (status.ok()) continue;
            Error e = std::move(status).error();
            if (!live) e = e.context(whose);
            if (faults == nullptr) return e;
            faults->push_back({ring.name, row.version, std::move(e)});
        }
    }
    return {};
}

Status Keyrings::copy_states_to_token(const std::vector<KeyringRow>& rings) {
    KW_TRY(auto copied, store_.meta_value(std::string(kLedgerCopiedKey)));
    if (copied) return {};
    for (const auto& ring : rings) {
        for (const auto& v : ring.versions) {
            if (v.label != kek_label(ring.name, v.version)) continue;  // refused below
            if (v.state == KekState::compromised) {
                KW_TRY_STATUS(ledger_.record(v, KekState::compromised));
            } else if (v.state == KekState::destroyed) {
                // Only what the token confirms: a database writer must not be able to make
                // keyward declare a key that still exists destroyed for ever.
                KW_TRY(auto found, hsm_.find_keks(v.label));
                if (found.empty()) KW_TRY_STATUS(ledger_.record(v, KekState::destroyed));
            }
        }
    }
    // Best effort: a database that cannot be written now (a full disk) is copied again next
    // time, and recording an event twice is harmless (record() looks first).
    (void)store_.set_meta_value(std::string(kLedgerCopiedKey), utc_now_iso8601());
    return {};
}

Status Keyrings::verify_binding(bool diagnose) {
    const auto& token = hsm_.identity();
    KW_TRY(auto binding, store_.token_binding());
    KW_TRY_STATUS(ledger_.load());
    if (!binding) return store_.bind_token(TokenBinding{token.serial, token.label});
    KW_TRY(auto rings, store_.list_keyrings());
    KW_TRY_STATUS(verify_token_match(*binding, {}, "the database"));
    KW_TRY_STATUS(copy_states_to_token(rings));
    std::vector<KekFault> found;
    KW_TRY_STATUS(
        verify_versions(rings, RowsOf::live_database, "the database", diagnose ? &found : nullptr));
    std::lock_guard lock(faults_mutex_);
    faults_.clear();
    for (auto& f : found) faults_.emplace(std::make_pair(f.keyring, f.version), f.error);
    return {};
}

Status Keyrings::verify_token_match(const TokenBinding& binding,
                                    const std::vector<KeyringRow>& rings,
                                    const std::string& whose) {
    const auto& token = hsm_.identity();
    if (binding.serial != token.serial || binding.label != token.label) {
        return Error(Errc::token_mismatch,
                     whose + " belongs to token \"" + binding.label + "\" (serial " +
                         binding.serial + ") but the configured token is \"" + token.label +
                         "\" (serial " + token.serial +
                         "); point the config at the right token or database");
    }
    // Only a backup comes with rows (the live database's are checked by verify_binding).
    return verify_versions(rings, RowsOf::backup, whose, nullptr);
}

std::vector<KekFault> Keyrings::faults() const {
    std::lock_guard lock(faults_mutex_);
    std::vector<KekFault> out;
    for (const auto& [key, error] : faults_) out.push_back({key.first, key.second, error});
    return out;
}

}  // namespace keyward::core
