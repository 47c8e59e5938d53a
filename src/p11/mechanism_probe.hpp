// SPDX-License-Identifier: Apache-2.0
// Which mechanisms the token really offers for suites 1 and 2, proved by known-answer tests:
// C_GetMechanismInfo is only a claim (SoftHSM 2.6 implements RFC 5649 under
// CKM_AES_KEY_WRAP_PAD, and other tokens use 0x210A for PKCS#7-padded key wrap instead). The
// same tests measure the quirks kwp-zero-pads and value-len-zero (quirks.hpp).
#pragma once

#include <optional>
#include <string>

#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

struct MechanismChoice {
    /// The mechanism that passed the RFC 5649 KAT (KWP 0x210B tried first, then PAD 0x210A);
    /// nullopt: suite 1 unavailable, suite1_report says why.
    std::optional<CK_MECHANISM_TYPE> suite1;
    /// The suite 1 mechanism also wraps keys whose length is not a multiple of 8 as RFC 5649
    /// says (SoftHSM 2.6.1 does not: it zero-pads them first). Unwrapping any length is part
    /// of the required test.
    bool suite1_any_length = false;
    /// An unwrapped key's CKA_VALUE_LEN tells its length (SoftHSM 2.6.1 answers 0): quirk
    /// value-len-zero when false (quirks.hpp).
    bool value_len_after_unwrap = false;
    /// CKM_AES_GCM offers encrypt/decrypt and passed its KAT (including tag rejection).
    bool suite2 = false;
    std::string suite1_report;
    std::string suite2_report;
};

/// "CKM_AES_KEY_WRAP_PAD" etc. for the mechanisms keyward uses, "CKM_0x..." otherwise.
std::string mechanism_name(CK_MECHANISM_TYPE mechanism);

/// Reads the slot's mechanism list and runs the known-answer tests in `session` (logged in,
/// read-write; creates and destroys a few session objects). Suite 1 tries CKM_AES_KEY_WRAP_KWP,
/// then, when `pad_as_kwp` (quirk pad-as-kwp), CKM_AES_KEY_WRAP_PAD. Errors only when the token
/// cannot be asked at all; a failed KAT just makes its suite unavailable.
Result<MechanismChoice> probe_mechanisms(const Session& session, bool pad_as_kwp);

}  // namespace keyward::p11
