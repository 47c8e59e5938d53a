// SPDX-License-Identifier: Apache-2.0
// Keyring service: creates keyrings (KEK v1 in the token, adopting a crash's orphan when it is
// exactly to spec), lists them at the state the token allows, and proves at start-up that the
// database and the token belong together (keyring_checks.cpp).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/hsm.hpp"
#include "core/kek_ledger.hpp"
#include "core/store.hpp"

namespace keyward::core {

/// A KEK version that failed its start-up checks: refused for every use.
struct KekFault {
    std::string keyring;
    std::uint32_t version = 0;
    Error error;
};

class Keyrings {
  public:
    Keyrings(Hsm& hsm, Store& store) : hsm_(hsm), store_(store), ledger_(hsm) {}

    /// Makes KEK version 1 and records the keyring. Refuses an invalid name (usage), an
    /// existing keyring (already_exists), and a token object with the label that is not
    /// exactly to spec or is duplicated (already_exists, naming the attribute).
    Result<KeyringRow> create(const std::string& name, Suite suite,
                              std::uint32_t cryptoperiod_days = 365);

    /// The keyring with every version at its effective state (KekLedger: the token's record
    /// of compromised and destroyed versions wins over the database's).
    Result<KeyringRow> show(const std::string& name);
    Result<std::vector<KeyringRow>> list();

    /// Start-up: binds an unbound database to the token, or checks the binding: token serial
    /// and label; every row's label is keyward:<keyring>:v<version>; the token's state ledger
    /// (copied from the database's compromised and destroyed versions once, on upgrade); and
    /// for every live KEK version its presence as exactly one private object, its attributes,
    /// CKA_ID and check value. Any difference is Errc::token_mismatch naming it. With
    /// `diagnose`, a version that fails is recorded as a fault (faults(), refused by kek_for)
    /// instead, so that health and validate can name every one.
    Status verify_binding(bool diagnose = false);

    /// KEK version `version` of an existing keyring, made in the token (or adopted, when a crash
    /// left exactly a spec KEK with its label) and found again, but not yet recorded: the
    /// caller records it in the same transaction as what depends on it. State: active.
    Result<KekVersionRow> prepare_version(const KeyringRow& ring, std::uint32_t version);

    /// verify_binding's checks for a database bound to `binding` holding `rings` (a backup
    /// about to be restored, say), named `whose` in errors ("the database", "backup F").
    Status verify_token_match(const TokenBinding& binding, const std::vector<KeyringRow>& rings,
                              const std::string& whose);

    /// The token object of a version the caller may use, or the reason it may not. The label
    /// is derived from the keyring and version, never read from the row.
    Result<KekRef> kek_for(const KeyringRow& ring, const KekVersionRow& version) const;

    /// Versions refused at start-up (diagnose mode only; empty otherwise).
    std::vector<KekFault> faults() const;

    KekLedger& ledger() { return ledger_; }

    /// Whether the token's ledger records this object (label and CKA_ID) destroyed.
    bool destroyed_in_ledger(const std::string& label, const KekAttributes& object);

    /// Every live version of the live database checked now as verify_binding does (compliance
    /// runs): each refusal is collected, none stops the others.
    Status check_live_versions(const std::vector<KeyringRow>& rings, std::vector<KekFault>& faults) {
        return verify_versions(rings, RowsOf::live_database, "", &faults);
    }

  private:
    /// The token object for a new version: a crash leftover with exactly the spec's attributes
    /// (adopted = true), else a new KEK.
    struct Made {
        KekAttributes attributes;
        bool adopted = false;
    };
    Result<Made> generate_or_adopt(const std::string& label, Suite suite);
    Result<KekAttributes> generate(const std::string& label, Suite suite);
    Status verify_version(const KeyringRow& ring, const KekVersionRow& version);
    /// Whose KEK rows verify_versions checks: the live database's (run at the states the
    /// token's ledger allows) or a backup's (which must hold what it needs as it stands).
    enum class RowsOf { live_database, backup };
    /// Every version's checks; failures go to `faults` when given, else the first is returned.
    /// `whose` names a backup in its errors.
    Status verify_versions(const std::vector<KeyringRow>& rings, RowsOf rows_of,
                           const std::string& whose, std::vector<KekFault>* faults);
    /// On upgrade (once per database): compromised and destroyed states the database already
    /// held are copied into the token's ledger.
    Status copy_states_to_token(const std::vector<KeyringRow>& rings);

    Hsm& hsm_;
    Store& store_;
    KekLedger ledger_;
    mutable std::mutex faults_mutex_;
    std::map<std::pair<std::string, std::uint32_t>, Error> faults_;
};

/// "keyring name must be 1-64 characters ..." when invalid.
Status check_keyring_name(const std::string& name);

}  // namespace keyward::core
