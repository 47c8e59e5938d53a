// SPDX-License-Identifier: Apache-2.0
// Finding the token to use among a module's slots, by label or by RFC 7512 pkcs11: URI. Slot
// numbers are never used as identities: SoftHSM renumbers its slots when a token is initialised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"

namespace keyward::p11 {

struct SlotToken {
    CK_SLOT_ID slot = 0;
    CK_TOKEN_INFO info{};
    std::string label;   // info.label without its blank padding
    std::string serial;  // info.serialNumber without its blank padding
    bool initialized() const noexcept { return (info.flags & CKF_TOKEN_INITIALIZED) != 0; }
};

/// A blank-padded CK_TOKEN_INFO text field without its trailing blanks (and NULs).
std::string trim_field(const CK_UTF8CHAR* field, std::size_t size);

/// Label padded with blanks to the 32-byte CK_TOKEN_INFO.label field. Errc::bad_config when
/// longer than 32 bytes.
Result<std::string> pad_label(std::string_view label);

/// Every slot with a token present (C_GetSlotList(CK_TRUE) + C_GetTokenInfo).
Result<std::vector<SlotToken>> list_tokens(CK_FUNCTION_LIST* functions);

/// The one initialised token whose label equals `token`, or that matches it when it starts
/// with "pkcs11:" (p11_kit_uri_match_token_info). Errors: Errc::bad_config for a URI that does
/// not parse; Errc::hsm_unavailable when nothing matches (the message lists the tokens present)
/// or several tokens match (the message names them). module_path is only for messages.
Result<SlotToken> find_token(CK_FUNCTION_LIST* functions, std::string_view token,
                             std::string_view module_path);

}  // namespace keyward::p11
