// SPDX-License-Identifier: Apache-2.0
// Names and grammar of the shared vocabulary (suites, key states, keyring names, KEK labels).
#include "keyward/types.hpp"

namespace keyward {

std::string_view suite_name(Suite s) noexcept {
    return s == Suite::gcm ? "2" : "1";
}

std::string_view kek_state_name(KekState s) noexcept {
    switch (s) {
        case KekState::pre_active:
            return "pre-active";
        case KekState::active:
            return "active";
        case KekState::decrypt_only:
            return "decrypt-only";
        case KekState::compromised:
            return "compromised";
        case KekState::destroyed:
            return "destroyed";
    }
    return "unknown";
}

std::optional<KekState> parse_kek_state(std::string_view s) noexcept {
    for (auto state : {KekState::pre_active, KekState::active, KekState::decrypt_only,
                       KekState::compromised, KekState::destroyed}) {
        if (kek_state_name(state) == s) return state;
    }
    return std::nullopt;
}

bool is_valid_keyring_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > kMaxKeyringName) return false;
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_or_digit(name[0])) return false;
    for (char c : name.substr(1)) {
        if (!lower_or_digit(c) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
}

std::string kek_label(std::string_view keyring, std::uint32_t version) {
    return "keyward:" + std::string(keyring) + ":v" + std::to_string(version);
}

}  // namespace keyward
