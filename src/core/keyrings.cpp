// SPDX-License-Identifier: Apache-2.0
// Keyring creation, listing and the database-to-token binding check.
#include "core/keyrings.hpp"

#include "core/clock.hpp"
#include "core/kek_spec.hpp"

namespace keyward::core {

namespace {

constexpr std::size_t kObjectIdSize = 16;

Error not_found_keyring(const std::string& name) {
    return Error(Errc::not_found, "keyring \"" + name +
                                      "\" does not exist (see keyward keyring list, or create "
                                      "it with keyward keyring create " +
                                      name + ")");
}

}  // namespace

Status check_keyring_name(const std::string& name) {
    if (is_valid_keyring_name(name)) return {};
    return Error(Errc::usage, "invalid keyring name \"" + name +
                                  "\": use 1-64 characters, a lowercase letter or digit first, "
                                  "then lowercase letters, digits, '.', '_' or '-'");
}

Result<Keyrings::Made> Keyrings::generate_or_adopt(const std::string& label, Suite suite) {
    KW_TRY(auto existing, hsm_.find_keks(label));
    if (existing.size() > 1) {
        return Error(Errc::already_exists,
                     "the token holds " + std::to_string(existing.size()) + " objects labelled " +
                         label + " (private ones)" +
                         "; keyward will not pick one: remove the extra objects with "
                         "the token's tools, then retry");
    }
    if (existing.size() == 1 && existing[0].local != true) {
        // Not a key the token generated to the end: SoftHSM 2.6.1 writes a new token object in
        // two steps (the template's attributes, then the key value with CKA_LOCAL = TRUE), so a
        // process killed between them leaves an object with the label and no key; or a key
        // someone imported with a value they know. This database does not know the label, so
        // it never protected anything here: destroy it and make the version's KEK again. A key
        // the token finished generating (CKA_LOCAL = TRUE) is never destroyed here.
        KW_TRY_STATUS(hsm_.destroy_kek(label));
        existing.clear();
    }
    if (existing.size() == 1 && destroyed_in_ledger(label, existing[0])) {
        // The token recorded this very object destroyed (a keyring deleted, or a version
        // retired, by a process that died before destroying the object): it must never come
        // back to protect anything. Finish the destruction and make the version's KEK again.
        KW_TRY_STATUS(hsm_.destroy_kek(label));
        existing.clear();
    }
    if (existing.size() == 1) {
        // A crash between generating the KEK and recording it leaves exactly this: adopt it
        // only when it is a KEK keyward would itself have made.
        if (auto why = kek_spec_mismatch(existing[0], suite, hsm_.accepts_modifiable_keks())) {
            return Error(Errc::already_exists,
                         "the token already holds an object labelled " + label +
                             " that this database does not know, and it is not a keyward KEK (" +
                             *why +
                             "); refusing to adopt it or to make a second one: remove or "
                             "relabel it with the token's tools");
        }
        return Made{existing[0], true};
    }
    KW_TRY(auto attributes, generate(label, suite));
    return Made{std::move(attributes), false};
}

bool Keyrings::destroyed_in_ledger(const std::string& label, const KekAttributes& object) {
    ledger_.refresh_if_stale();
    KekVersionRow row;
    row.label = label;
    row.object_id = object.id;
    return ledger_.recorded(row, KekState::destroyed).has_value();
}

Result<KekAttributes> Keyrings::generate(const std::string& label, Suite suite) {
    Bytes id(kObjectIdSize);
    KW_TRY_STATUS(hsm_.generate_random(id));
    return hsm_.generate_kek(label, suite, id);
}

Result<KeyringRow> Keyrings::create(const std::string& name, Suite suite,
                                    std::uint32_t cryptoperiod_days) {
    KW_TRY_STATUS(check_keyring_name(name));
    KW_TRY(auto known, store_.find_keyring(name));
    if (known) {
        return Error(
            Errc::already_exists,
            "keyring \"" + name + "\" already exists (see keyward keyring show " + name + ")");
    }
    KeyringRow ring;
    ring.name = name;
    ring.suite = suite;
    ring.created_at = utc_now_iso8601();
    ring.cryptoperiod_days = cryptoperiod_days;
    KW_TRY_STATUS(store_.create_keyring_locked(ring, [&]() -> Result<KekVersionRow> {
        KW_TRY(auto v1, prepare_version(ring, 1));
        v1.created_at = ring.created_at;
        return v1;
    }));
    KW_TRY(auto made, store_.find_keyring(name));
    if (!made) return not_found_keyring(name);
    return std::move(*made);
}

Result<KekVersionRow> Keyrings::prepare_version(const KeyringRow& ring, std::uint32_t version) {
    const std::string label = kek_label(ring.name, version);
    KW_TRY(auto made, generate_or_adopt(label, ring.suite));
    // check_value finds the object again by its label: a version is recorded only once the
    // token can give its key back (SoftHSM's file store only fflushes a new object).
    const KekRef kek{label, ring.suite};
    auto check = hsm_.check_value(kek);
    if (!check.ok() && made.adopted && check.error().code() == Errc::hsm_error) {
        check = hsm_.check_value(kek);  // once more: a passing token hiccup is not a verdict
    }
    KW_TRY(auto check_value, std::move(check));
    const KekAttributes& attrs = made.attributes;
    KekVersionRow v;
    v.keyring = ring.name;
    v.version = version;
    v.state = KekState::active;
    v.label = label;
    v.object_id = attrs.id;
    v.check_value = std::move(check_value);
    v.created_at = utc_now_iso8601();
    return v;
}

Result<KeyringRow> Keyrings::show(const std::string& name) {
    KW_TRY_STATUS(check_keyring_name(name));
    KW_TRY(auto ring, store_.find_keyring(name));
    if (!ring) return not_found_keyring(name);
    ledger_.refresh_if_stale();
    return ledger_.apply(std::move(*ring));
}

Result<std::vector<KeyringRow>> Keyrings::list() {
    KW_TRY(auto rings, store_.list_keyrings());
    ledger_.refresh_if_stale();
    for (auto& ring : rings) ring = ledger_.apply(std::move(ring));
    return rings;
}

Result<KekRef> Keyrings::kek_for(const KeyringRow& ring, const KekVersionRow& v) const {
    {
        std::lock_guard lock(faults_mutex_);
        if (auto it = faults_.find({ring.name, v.version}); it != faults_.end()) return it->second;
    }
    switch (v.state) {
        case KekState::active:
        case KekState::decrypt_only:
        case KekState::compromised:
            // The label is what the keyring and version make it: a row's own label (which
            // start-up checks against this) never chooses the key.
            return KekRef{kek_label(ring.name, v.version), ring.suite};
        case KekState::destroyed:
            return Error(Errc::state_refused, "KEK " + kek_label(ring.name, v.version) +
                                                  " has been destroyed; the data "
                                                  "it protected cannot be opened");
        case KekState::pre_active:
            return Error(Errc::state_refused,
                         "KEK " + kek_label(ring.name, v.version) + " is not active yet");
    }
    return Error(Errc::failed, "unknown key state");
}

}  // namespace keyward::core
