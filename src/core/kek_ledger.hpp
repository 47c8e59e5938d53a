// SPDX-License-Identifier: Apache-2.0
// What the token says about KEK states that never go back. The database is a claim: a restore
// or an edit can say "active" for a version that was compromised or destroyed. The token's
// ledger (core::Hsm::read_state_ledger) cannot be rewritten by a database writer, so a version's
// effective state is the graver of the two, and where they differ keyward says so.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/hsm.hpp"
#include "core/store_rows.hpp"

namespace keyward::core {

/// A version whose database state is milder than the token's.
struct StateDisagreement {
    std::string keyring;
    std::uint32_t version = 0;
    KekState database = KekState::active;  ///< what the row says
    KekState token = KekState::compromised;
    std::string since;  ///< when the token recorded it
};

class KekLedger {
  public:
    explicit KekLedger(Hsm& hsm) : hsm_(hsm) {}

    /// Reads the token's ledger (again). Errors are the token's.
    Status load();
    /// Reads it again when the last read is older than kMaxAge: a handle that lives for days
    /// (the OpenSSL provider's, keywardd's) must see what other processes recorded in the
    /// token, even when the database was put back to say otherwise. A failed read keeps the
    /// last one (the next call tries again); the operation then meets the token itself.
    void refresh_if_stale();
    static constexpr std::chrono::seconds kMaxAge{2};

    /// The row's state, made graver by what the token recorded for that very KEK (label and
    /// CKA_ID): destroyed over compromised over any live state.
    KekState effective_state(const KekVersionRow& row) const;
    /// The ring with every version at its effective state.
    KeyringRow apply(KeyringRow ring) const;
    /// Every version of `rings` (as the database says them) that the token contradicts.
    std::vector<StateDisagreement> disagreements(const std::vector<KeyringRow>& rings) const;
    /// When the token recorded `state` for the row's KEK; nullopt when it did not.
    std::optional<std::string> recorded(const KekVersionRow& row, KekState state) const;

    /// Records `state` (compromised or destroyed) for the row's KEK in the token, unless it is
    /// there already. Durable before it returns: callers write the database after it.
    Status record(const KekVersionRow& row, KekState state);

    /// Ledger objects that could not be read (labels), for health.
    std::vector<std::string> unreadable() const;

  private:
    Hsm& hsm_;
    mutable std::mutex mutex_;
    StateLedger ledger_;
    std::chrono::steady_clock::time_point loaded_at_{};
};

/// "compromised" is graver than any live state, "destroyed" graver than all.
int state_gravity(KekState state) noexcept;

}  // namespace keyward::core
