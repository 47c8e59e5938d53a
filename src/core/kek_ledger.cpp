// SPDX-License-Identifier: Apache-2.0
// The token's KEK state ledger applied over the database's claims (see kek_ledger.hpp).
#include "core/kek_ledger.hpp"

#include "core/clock.hpp"

namespace keyward::core {

int state_gravity(KekState state) noexcept {
    switch (state) {
        case KekState::destroyed:
            return 2;
        case KekState::compromised:
            return 1;
        default:
            return 0;
    }
}

Status KekLedger::load() {
    KW_TRY(auto ledger, hsm_.read_state_ledger());
    std::lock_guard lock(mutex_);
    ledger_ = std::move(ledger);
    loaded_at_ = std::chrono::steady_clock::now();
    return {};
}

void KekLedger::refresh_if_stale() {
    {
        std::lock_guard lock(mutex_);
        if (std::chrono::steady_clock::now() - loaded_at_ < kMaxAge) return;
    }
    (void)load();
}

KekState KekLedger::effective_state(const KekVersionRow& row) const {
    KekState state = row.state;
    std::lock_guard lock(mutex_);
    for (const auto& e : ledger_.events) {
        // An event concerns one KEK object: the label alone could be a later keyring's.
        if (e.label != row.label || e.object_id != row.object_id) continue;
        if (state_gravity(e.state) > state_gravity(state)) state = e.state;
    }
    return state;
}

KeyringRow KekLedger::apply(KeyringRow ring) const {
    for (auto& v : ring.versions) v.state = effective_state(v);
    return ring;
}

std::optional<std::string> KekLedger::recorded(const KekVersionRow& row, KekState state) const {
    std::lock_guard lock(mutex_);
    for (const auto& e : ledger_.events) {
        if (e.label == row.label && e.object_id == row.object_id && e.state == state) return e.at;
    }
    return std::nullopt;
}

std::vector<StateDisagreement> KekLedger::disagreements(
    const std::vector<KeyringRow>& rings) const {
    std::vector<StateDisagreement> out;
    for (const auto& ring : rings) {
        for (const auto& v : ring.versions) {
            const KekState token = effective_state(v);
            if (token == v.state) continue;
            out.push_back({ring.name, v.version, v.state, token, recorded(v, token).value_or("")});
        }
    }
    return out;
}

Status KekLedger::record(const KekVersionRow& row, KekState state) {
    if (recorded(row, state)) return {};
    KekStateEvent event{row.label, row.object_id, state, utc_now_iso8601()};
    KW_TRY_STATUS(hsm_.record_state(event));
    std::lock_guard lock(mutex_);
    ledger_.events.push_back(std::move(event));
    return {};
}

std::vector<std::string> KekLedger::unreadable() const {
    std::lock_guard lock(mutex_);
    return ledger_.unreadable;
}

}  // namespace keyward::core
