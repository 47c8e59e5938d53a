// SPDX-License-Identifier: Apache-2.0
// Kinds and their defaults. Rotation periods follow common practice for each credential type:
// long-lived shared secrets 90 days, certificates a year (their notAfter usually comes first),
// webhook secrets 180 days and rotated by keyward itself since nobody else issues them, OAuth
// access tokens none because they live minutes to hours and are replaced by their issuer.
#include "core/record_kinds.hpp"

#include <array>

namespace keyward {
namespace core {

namespace {

struct KindSpec {
    std::string_view name;
    RotationPolicy policy;
    bool generated;
};

constexpr std::array<KindSpec, 11> kKinds = {{
    {"wallet", {}, false},
    {"api_key", {90, 14, false}, true},
    {"oauth_access_token", {}, false},
    {"oauth_refresh_token", {90, 14, false}, false},
    {"basic_auth_username", {}, false},
    {"basic_auth_password", {90, 14, false}, true},
    {"client_certificate", {365, 30, false}, false},
    {"client_private_key", {}, false},
    {"webhook_secret", {180, 14, true}, true},
    {"jwt_signing_key", {}, true},
    {"custom_secret", {}, true},
}};

const KindSpec* find_kind(std::string_view kind) noexcept {
    for (const auto& k : kKinds) {
        if (k.name == kind) return &k;
    }
    return nullptr;
}

std::string join_kinds(bool only_generated) {
    std::string all;
    for (const auto& k : kKinds) {
        if (only_generated && !k.generated) continue;
        all += (all.empty() ? "" : ", ") + std::string(k.name);
    }
    return all;
}

}  // namespace

bool is_record_kind(std::string_view kind) noexcept {
    return find_kind(kind) != nullptr;
}

std::string record_kinds_text() {
    return join_kinds(false);
}

bool kind_allows_generation(std::string_view kind) noexcept {
    const auto* k = find_kind(kind);
    return k != nullptr && k->generated;
}

std::string generated_kinds_text() {
    return join_kinds(true);
}

}  // namespace core

RotationPolicy default_rotation_policy(std::string_view kind) noexcept {
    const auto* k = core::find_kind(kind);
    return k ? k->policy : RotationPolicy{};
}

}  // namespace keyward
