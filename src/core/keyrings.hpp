// Keyring service: creates keyrings (KEK v1 in the token, adopting a crash's orphan when it is
// exactly to spec), lists them, and proves at start-up that the database and the token belong
// together.
#pragma once

#include <string>
#include <vector>

#include "core/hsm.hpp"
#include "core/store.hpp"

namespace keyward::core {

class Keyrings {
  public:
    Keyrings(Hsm& hsm, Store& store) : hsm_(hsm), store_(store) {}

    /// Makes KEK version 1 and records the keyring. Refuses an invalid name (usage), an
    /// existing keyring (already_exists), and a token object with the label that is not
    /// exactly to spec or is duplicated (already_exists, naming the attribute).
    Result<KeyringRow> create(const std::string& name, Suite suite,
                              std::uint32_t cryptoperiod_days = 365);

    Result<KeyringRow> show(const std::string& name);
    Result<std::vector<KeyringRow>> list();

    /// Binds an unbound database to the token, or checks the binding: token serial and label,
    /// and for every live KEK version its presence, CKA_ID and check value. Any difference is
    /// Errc::token_mismatch naming it.
    Status verify_binding();

    /// KEK version `version` of an existing keyring, made in the token (or adopted, when a crash
    /// left exactly a spec KEK with its label) and found again, but not yet recorded: the
    /// caller records it in the same transaction as what depends on it. State: active.
    Result<KekVersionRow> prepare_version(const KeyringRow& ring, std::uint32_t version);

    /// verify_binding's checks for a database bound to `binding` holding `rings` (a backup
    /// about to be restored, say), named `whose` in errors ("the database", "backup F").
    Status verify_token_match(const TokenBinding& binding, const std::vector<KeyringRow>& rings,
                              const std::string& whose);

    /// The token object of a version the caller may use, or the reason it may not.
    Result<KekRef> kek_for(const KeyringRow& ring, const KekVersionRow& version) const;

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

    Hsm& hsm_;
    Store& store_;
};

/// "keyring name must be 1-64 characters ..." when invalid.
Status check_keyring_name(const std::string& name);

}  // namespace keyward::core
