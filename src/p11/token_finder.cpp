// SPDX-License-Identifier: Apache-2.0
// Token selection by label or pkcs11: URI, with messages that list what the module offers.
#include "p11/token_finder.hpp"

#include <p11-kit/uri.h>

#include <memory>

#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

constexpr std::string_view kUriScheme = "pkcs11:";

struct UriDeleter {
    void operator()(P11KitUri* u) const noexcept { p11_kit_uri_free(u); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

std::string describe(const SlotToken& t) {
    return "\"" + t.label + "\" (serial " + t.serial + ")";
}

std::string describe_all(const std::vector<SlotToken>& tokens) {
    std::string out;
    for (const auto& t : tokens) {
        if (!t.initialized()) continue;
        if (!out.empty()) out += ", ";
        out += describe(t);
    }
    return out.empty() ? "none" : out;
}

}  // namespace

std::string trim_field(const CK_UTF8CHAR* field, std::size_t size) {
    std::string s(reinterpret_cast<const char*>(field), size);
    auto end = s.find_last_not_of(std::string_view(" \0", 2));
    s.resize(end == std::string::npos ? 0 : end + 1);
    return s;
}

Result<std::string> pad_label(std::string_view label) {
    constexpr std::size_t kLabelField = sizeof(CK_TOKEN_INFO{}.label);
    if (label.size() > kLabelField) {
        return Error(Errc::bad_config, "token label \"" + std::string(label) +
                                           "\" is longer "
                                           "than PKCS#11's 32 bytes; choose a shorter label");
    }
    std::string padded(label);
    padded.resize(kLabelField, ' ');
    return padded;
}

Result<std::vector<SlotToken>> list_tokens(CK_FUNCTION_LIST* functions) {
    CK_ULONG count = 0;
    auto c = KW_P11_CALL(functions, C_GetSlotList, CK_TRUE, nullptr, &count);
    if (!c.ok()) return c.error(Errc::hsm_unavailable);
    std::vector<CK_SLOT_ID> slots(count);
    // The count can change between the two calls (hot-plug); ask until it is stable.
    for (;;) {
        c = KW_P11_CALL(functions, C_GetSlotList, CK_TRUE, slots.data(), &count);
        if (c.rv() != CKR_BUFFER_TOO_SMALL) break;
        slots.resize(count);
    }
    if (!c.ok()) return c.error(Errc::hsm_unavailable);
    slots.resize(count);

    std::vector<SlotToken> tokens;
    for (CK_SLOT_ID slot : slots) {
        SlotToken t;
        t.slot = slot;
        c = KW_P11_CALL(functions, C_GetTokenInfo, slot, &t.info);
        if (c.rv() == CKR_TOKEN_NOT_PRESENT || c.rv() == CKR_TOKEN_NOT_RECOGNIZED) continue;
        if (!c.ok()) return c.error(Errc::hsm_unavailable);
        t.label = trim_field(t.info.label, sizeof t.info.label);
        t.serial = trim_field(t.info.serialNumber, sizeof t.info.serialNumber);
        tokens.push_back(std::move(t));
    }
    return tokens;
}

Result<SlotToken> find_token(CK_FUNCTION_LIST* functions, std::string_view token,
                             std::string_view module_path) {
    const bool by_uri = token.starts_with(kUriScheme);
    // RFC 7512 lets a URI carry pin-value= in its query: never repeat the query in a message.
    const std::string shown(token.substr(0, token.find('?')));
    UriPtr uri;
    if (by_uri) {
        uri.reset(p11_kit_uri_new());
        if (!uri) return Error(Errc::failed, "out of memory parsing a pkcs11: URI");
        std::string text(token);
        int rc = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
        if (rc != P11_KIT_URI_OK) {
            return Error(Errc::bad_config, "token URI \"" + shown +
                                               "\" is not a valid pkcs11: URI (" +
                                               p11_kit_uri_message(rc) + "); see RFC 7512");
        }
        if (p11_kit_uri_get_pin_value(uri.get()) != nullptr ||
            p11_kit_uri_get_pin_source(uri.get()) != nullptr) {
            return Error(Errc::bad_config,
                         "token URI \"" + shown +
                             "\" carries a PIN (pin-value or pin-source): a PIN never goes in "
                             "the config or on the command line; use pin = env:VAR, file:PATH "
                             "or prompt");
        }
        if (p11_kit_uri_any_unrecognized(uri.get()) != 0) {
            return Error(Errc::bad_config, "token URI \"" + shown +
                                               "\" has attributes keyward does not understand; "
                                               "use token=, serial=, manufacturer= or model=");
        }
    } else if (token.empty()) {
        return Error(Errc::bad_config, "no token given; name the token by label or pkcs11: URI");
    } else {
        KW_TRY_STATUS(pad_label(token));
    }

    KW_TRY(auto tokens, list_tokens(functions));
    std::vector<SlotToken> matches;
    for (auto& t : tokens) {
        if (!t.initialized()) continue;  // SoftHSM always offers one empty slot
        bool match =
            by_uri ? p11_kit_uri_match_token_info(uri.get(), &t.info) != 0 : t.label == token;
        if (match) matches.push_back(t);
    }

    const std::string what =
        by_uri ? "matching \"" + shown + "\"" : "labelled \"" + std::string(token) + "\"";
    if (matches.empty()) {
        return Error(Errc::hsm_unavailable,
                     "no token " + what + " in PKCS#11 module \"" + std::string(module_path) +
                         "\" (tokens present: " + describe_all(tokens) +
                         "); check the token setting or initialise the token");
    }
    if (matches.size() > 1) {
        return Error(Errc::hsm_unavailable,
                     std::to_string(matches.size()) + " tokens " + what + " (" +
                         describe_all(matches) +
                         "); name exactly one, e.g. pkcs11:token=<label>;serial=<serial>");
    }
    return std::move(matches.front());
}

}  // namespace keyward::p11
