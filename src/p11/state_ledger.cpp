// SPDX-License-Identifier: Apache-2.0
// The token's KEK state ledger (see state_ledger.hpp).
#include "p11/state_ledger.hpp"

#include <array>

#include "p11/attributes.hpp"
#include "p11/objects.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

constexpr std::string_view kMagic = "keyward-kek-state/1";

// "key=value" lines in this order, nothing else.
constexpr std::array<std::string_view, 4> kKeys = {"label", "id", "state", "at"};

Template ledger_match() {
    Template t;
    t.add_ulong(CKA_CLASS, CKO_DATA)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_string(CKA_APPLICATION, kLedgerApplication);
    return t;
}

}  // namespace

std::string encode_state_event(const core::KekStateEvent& e) {
    return std::string(kMagic) + "\nlabel=" + e.label + "\nid=" + to_hex(e.object_id) +
           "\nstate=" + std::string(kek_state_name(e.state)) + "\nat=" + e.at + "\n";
}

std::optional<core::KekStateEvent> decode_state_event(ByteView value) {
    std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
    auto take_line = [&]() -> std::optional<std::string_view> {
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;
        auto line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        return line;
    };
    auto magic = take_line();
    if (!magic || *magic != kMagic) return std::nullopt;
    std::array<std::string_view, kKeys.size()> values;
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        auto line = take_line();
        if (!line || line->substr(0, kKeys[i].size()) != kKeys[i] ||
            line->size() <= kKeys[i].size() || (*line)[kKeys[i].size()] != '=') {
            return std::nullopt;
        }
        values[i] = line->substr(kKeys[i].size() + 1);
    }
    if (!text.empty()) return std::nullopt;
    core::KekStateEvent e;
    e.label = std::string(values[0]);
    auto id = parse_hex(values[1]);
    auto state = parse_kek_state(values[2]);
    if (e.label.empty() || !id || !state ||
        (*state != KekState::compromised && *state != KekState::destroyed)) {
        return std::nullopt;
    }
    e.object_id = std::move(*id);
    e.state = *state;
    e.at = std::string(values[3]);
    return e;
}

Result<core::StateLedger> read_state_ledger(const Session& s) {
    auto match = ledger_match();
    KW_TRY(auto handles, find_objects(s, match.span()));
    core::StateLedger ledger;
    for (CK_OBJECT_HANDLE h : handles) {
        KW_TRY(auto value, read_bytes(s, h, CKA_VALUE));
        auto event = value.revealed ? decode_state_event(value.value) : std::nullopt;
        if (event) {
            ledger.events.push_back(std::move(*event));
            continue;
        }
        KW_TRY(auto label, read_bytes(s, h, CKA_LABEL));
        ledger.unreadable.emplace_back(label.value.begin(), label.value.end());
    }
    return ledger;
}

Status append_state_event(const Session& s, const core::KekStateEvent& event) {
    const std::string value = encode_state_event(event);
    const std::string label =
        "keyward-state:" + event.label + ":" + std::string(kek_state_name(event.state));
    Template t;
    t.add_ulong(CKA_CLASS, CKO_DATA)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_MODIFIABLE, false)
        .add_string(CKA_LABEL, label)
        .add_string(CKA_APPLICATION, kLedgerApplication)
        .add_string(CKA_VALUE, value);
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    auto c = KW_P11_CALL(s.functions(), C_CreateObject, s.handle(), t.data(), t.size(), &handle);
    if (!c.ok())
        return c.error().context("recording that " + event.label + " is " +
                                 std::string(kek_state_name(event.state)));
    // Found again before the caller writes the database (SoftHSM's file store only fflushes).
    KW_TRY(auto ledger, read_state_ledger(s));
    for (const auto& e : ledger.events) {
        if (e.label == event.label && e.state == event.state && e.object_id == event.object_id) {
            return {};
        }
    }
    return Error(Errc::hsm_error, "the token made the ledger object for " + event.label +
                                      " but cannot find it again");
}

}  // namespace keyward::p11
