// SPDX-License-Identifier: Apache-2.0
// The token's ledger of KEK states that never go back (compromised, destroyed): one private,
// non-modifiable CKO_DATA token object per event, made once and never changed, so that a
// database restored or edited to revive such a version is overruled by the token.
#pragma once

#include <string>

#include "core/hsm.hpp"
#include "keyward/error.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

/// CKA_APPLICATION of every ledger object.
inline constexpr std::string_view kLedgerApplication = "keyward kek state ledger";

/// The object's CKA_VALUE: "keyward-kek-state/1\nlabel=L\nid=HEX\nstate=S\nat=T\n".
std::string encode_state_event(const core::KekStateEvent& event);
/// Inverse of encode_state_event; nullopt for anything that is not exactly that (an object a
/// kill left half written, or one keyward did not make).
std::optional<core::KekStateEvent> decode_state_event(ByteView value);

/// Every ledger object visible to the logged-in session s (private ones only).
Result<core::StateLedger> read_state_ledger(const Session& s);

/// Creates one ledger object for the event (CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE = FALSE)
/// and finds it again: SoftHSM's file store only fflushes a new object.
Status append_state_event(const Session& s, const core::KekStateEvent& event);

}  // namespace keyward::p11
