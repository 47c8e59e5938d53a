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

std::optional<std::uint64_t> parse_duration_seconds(std::string_view text) noexcept {
    std::size_t digits = 0;
    std::uint64_t value = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        value = value * 10 + static_cast<std::uint64_t>(text[digits] - '0');
        ++digits;
    }
    const std::string_view unit = text.substr(digits);
    std::uint64_t scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    if (unit == "m") scale = 60;
    if (unit == "h") scale = 3600;
    if (unit == "d") scale = 86400;
    if (digits == 0 || digits > 9 || scale == 0) return std::nullopt;
    return value * scale;
}

}  // namespace keyward
