// SPDX-License-Identifier: Apache-2.0
// Token quirks: detection, the `quirks =` grammar, and the names in effect (see quirks.hpp).
#include "p11/quirks.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/debug_channels.hpp"
#include "p11/softhsm_login_guard.hpp"

namespace keyward::p11 {

namespace {

// SoftHSM's CK_TOKEN_INFO.manufacturerID.
constexpr std::string_view kSoftHsmManufacturer = "SoftHSM project";
// ~2.3 MiB of SoftHSM session objects between reconnects. Every thread waits out a reconnect,
// and its C_Finalize frees the objects one by one: at 100,000 that stalled keywardd for up to
// 125 ms under load (p99 of 5 s windows 33-70 ms), at 10,000 for at most 22-28 ms (quirks.hpp).
constexpr std::size_t kSoftHsmReconnectAfter = 10000;
// Without the login guard (a SoftHSM module under another file name) every reconnect's C_Login
// is an unguarded in-place rewrite of token.object: keep those ten times rarer.
constexpr std::size_t kSoftHsmUnguardedReconnectAfter = 100000;

enum class Kind { flag, number, measured };

struct QuirkName {
    std::string_view name;
    Kind kind;
};

// Every name the grammar knows, in the order of Quirks' fields.
constexpr std::array kQuirkNames = {
    QuirkName{"login-guard", Kind::flag},        QuirkName{"startup-retries", Kind::flag},
    QuirkName{"reconnect-after", Kind::number},  QuirkName{"pad-as-kwp", Kind::flag},
    QuirkName{"modifiable-keks", Kind::flag},    QuirkName{"kwp-zero-pads", Kind::measured},
    QuirkName{"value-len-zero", Kind::measured},
};

const QuirkName* find_name(std::string_view name) {
    auto it = std::ranges::find(kQuirkNames, name, &QuirkName::name);
    return it == kQuirkNames.end() ? nullptr : &*it;
}

std::string settable_names() {
    std::string out;
    for (const auto& q : kQuirkNames) {
        if (q.kind == Kind::measured) continue;
        if (!out.empty()) out += ", ";
        out += q.name;
        if (q.kind == Kind::number) out += "=N";
    }
    return out;
}

Error bad_word(std::string_view word, const std::string& why) {
    return Error(Errc::bad_config, "quirks: \"" + std::string(word) + "\" " + why);
}

// Digits only, at most 19 of them (no sign, no wrap-around).
std::optional<std::size_t> parse_number(std::string_view text) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::size_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

void set(Quirks& q, std::string_view name, std::size_t value) {
    const bool on = value != 0;
    if (name == "login-guard") q.login_guard = on;
    if (name == "startup-retries") q.startup_retries = on;
    if (name == "reconnect-after") q.reconnect_after = value;
    if (name == "pad-as-kwp") q.pad_as_kwp = on;
    if (name == "modifiable-keks") q.modifiable_keks = on;
}

}  // namespace

std::vector<std::string> Quirks::names() const {
    std::vector<std::string> out;
    if (login_guard) out.emplace_back("login-guard");
    if (startup_retries) out.emplace_back("startup-retries");
    if (reconnect_after != 0) out.push_back("reconnect-after=" + std::to_string(reconnect_after));
    if (pad_as_kwp) out.emplace_back("pad-as-kwp");
    if (modifiable_keks) out.emplace_back("modifiable-keks");
    if (kwp_zero_pads) out.emplace_back("kwp-zero-pads");
    if (value_len_zero) out.emplace_back("value-len-zero");
    return out;
}

Quirks detect_quirks(const QuirkFacts& facts) {
    Quirks q;
    // SoftHSM's file store: only the file name is known before C_Initialize, which is what
    // these two must surround. A renamed SoftHSM module goes without them unless configured.
    q.login_guard = q.startup_retries = is_softhsm_module(facts.module_path);
    if (facts.token_manufacturer == kSoftHsmManufacturer) {
        q.reconnect_after =
            q.login_guard ? kSoftHsmReconnectAfter : kSoftHsmUnguardedReconnectAfter;
    }
    // Safe everywhere: the RFC 5649 known-answer test decides whether 0x210A is used.
    q.pad_as_kwp = true;
    return q;
}

bool QuirkSettings::sets(std::string_view name) const noexcept {
    return std::ranges::any_of(changes, [&](const Change& c) { return c.name == name; });
}

Result<QuirkSettings> parse_quirks(std::string_view text) {
    QuirkSettings settings;
    bool first = true;
    for (const std::string_view word : core::list_words(text)) {
        const bool was_first = std::exchange(first, false);
        if (word == "auto" || word == "none") {
            if (!was_first) return bad_word(word, "must be the first word");
            settings.detect = word == "auto";
            continue;
        }
        const bool off = word.front() == '-';
        std::string_view name = off ? word.substr(1) : word;
        std::optional<std::string_view> value;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const QuirkName* known = find_name(name);
        if (known == nullptr) {
            return bad_word(word, "is not a quirk (known: auto, none, " + settable_names() + ")");
        }
        if (known->kind == Kind::measured) {
            return bad_word(word,
                            "is measured when keyward connects (a known-answer test), not set");
        }
        if (settings.sets(name)) return bad_word(word, "names a quirk already named");
        QuirkSettings::Change change{std::string(name), off ? 0U : 1U};
        if (known->kind == Kind::number && !off) {
            auto n = value ? parse_number(*value) : std::nullopt;
            if (!n) return bad_word(word, "needs a whole number: " + std::string(name) + "=N");
            change.value = *n;
        } else if (value) {
            return bad_word(word, "takes no value");
        }
        settings.changes.push_back(std::move(change));
    }
    return settings;
}

Quirks apply_quirk_settings(const Quirks& detected, const QuirkSettings& settings) {
    Quirks q = settings.detect ? detected : Quirks{};
    for (const auto& change : settings.changes) set(q, change.name, change.value);
    return q;
}

}  // namespace keyward::p11
