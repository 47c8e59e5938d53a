// SPDX-License-Identifier: Apache-2.0
// Token quirks: every workaround keyward applies for a PKCS#11 module or token that departs from
// the standard (or whose file store can lose a token), named, in one place, each with the
// measurement behind it. The rest of src/p11 is generic PKCS#11 and asks this profile instead
// of asking "is this SoftHSM?".
//
// A profile is detected once per connection (P11Hsm::connect; a reconnect keeps it), in the
// three moments PKCS#11 allows:
//  1. before C_Initialize, from the module's file name: the quirks that must surround
//     C_Initialize itself (login-guard, startup-retries);
//  2. once the token is found, from CK_TOKEN_INFO.manufacturerID (reconnect-after);
//  3. by the connect-time known-answer tests (mechanism_probe.hpp): pad-as-kwp's choice,
//     kwp-zero-pads, value-len-zero. These are measured, never assumed, and the configuration
//     cannot deny them.
// keyward.conf's `quirks =` then changes the detected profile (grammar: parse_quirks below and
// docs/CONFIG.md, "Token quirks").
//
// Measurements are of SoftHSM 2.6.1 (Debian 12) on the 2-core test VM unless said otherwise;
// docs/ARCHITECTURE.md ("Token behaviour measured here") has the full story of each.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/error.hpp"

namespace keyward::p11 {

struct Quirks {
    /// `login-guard`: hold <tokendir>/keyward-login.lock from before C_Initialize until C_Login
    /// has succeeded, restore an emptied token.object from keyward's copy first, refresh the
    /// copy after (softhsm_login_guard.hpp).
    /// Works around: SoftHSM's file store rewrites token.object in place on every C_Login
    /// (ftruncate to 0, then fclose writes it), so a process killed inside C_Login leaves it at
    /// 0 bytes and the token, PIN blobs and every KEK with it, is gone; and a C_Initialize
    /// scanning the directory meanwhile loads a token without serial or PIN blobs.
    /// Measured: `[softhsm-login-kill]` lost the token within 1-21 SIGKILLs of `keyward get`
    /// before the guard; with it, 20 runs of 200 kills emptied token.object 11-21 times each
    /// (299 in all), every one restored. 8 processes x 30 concurrent starts without guard or
    /// retries failed 29-36%; with the guard, 0 of 3,360.
    /// Auto: the module's file name contains "softhsm" (any case).
    bool login_guard = false;

    /// `startup-retries`: when the token is absent or unreadable after C_Initialize, or
    /// C_Login answers CKR_GENERAL_ERROR or CKR_USER_PIN_NOT_INITIALIZED, finalise the module
    /// (when this connection is its only user), wait 10 x n ms plus a jitter of pid % 17 ms,
    /// and initialise and look again, up to 8 times. A wrong PIN is never retried.
    /// Works around: programs that do not take keyward's lock (softhsm2-util, other PKCS#11
    /// applications) can still rewrite token.object while keyward's C_Initialize scans it:
    /// "no token", C_GetTokenInfo CKR_GENERAL_ERROR, no CKF_USER_PIN_INITIALIZED, an empty
    /// serial, C_Login CKR_GENERAL_ERROR. SoftHSM reads a token once, at C_Initialize, so only
    /// a fresh C_Initialize sees the file again.
    /// Measured (tests/soak/concurrent_start.sh): without retries and guard 29-36% of 8 x 30
    /// processes failed, 36-45% of 16 x 30; with the retries, 0 (8 x 30 and 16 x 30, 5 and 3
    /// runs of `put`, 3 of `get`).
    /// Auto: as login-guard.
    bool startup_retries = false;

    /// `reconnect-after=N`: after N session objects (over every session) wait until no thread
    /// is inside the token, finalise the module, initialise it again and log in again with the
    /// PIN kept for that; 0 never does (and the PIN is wiped right after the first C_Login).
    /// keyward.conf's `reconnect_after_objects` sets the same number.
    /// Works around: SoftHSM keeps about 240 bytes of every session object it ever made until
    /// C_Finalize, session closed or not (SessionObjectStore's allObjects): a rotation of a
    /// million records grew without bound.
    /// Measured: 100,000 objects are about 23 MiB, and a reconnect after them takes 40-55 ms,
    /// nearly all of it C_Finalize freeing them (42-60 ms, against 0.7 ms for C_Initialize and
    /// 1-2 ms for C_Login): every thread waits that long. After 10,000 C_Finalize takes about 3 ms
    /// and the whole reconnect about 6 (KEYWARD_DEBUG=p11 durations, one thread), the
    /// throughput no lower (2 threads, 18 s runs: +2, +7, +5%) and keywardd's p99 at
    /// concurrency 16 unchanged by reconnects (docs/PERFORMANCE.md).
    /// Auto: 10000 when CK_TOKEN_INFO.manufacturerID is "SoftHSM project" (100000 when the
    /// login guard is off, since each reconnect's C_Login is then unguarded), else 0. Only a
    /// module this connection initialised and may finalise is ever reconnected.
    std::size_t reconnect_after = 0;

    /// `pad-as-kwp`: let the probe try CKM_AES_KEY_WRAP_PAD (0x210A) for RFC 5649 when
    /// CKM_AES_KEY_WRAP_KWP (0x210B) fails or is not offered. The mechanism is used only if it
    /// passes the RFC 5649 known-answer test both ways, tampering included; other tokens use
    /// 0x210A for PKCS#7-padded key wrap, which fails it.
    /// Works around: SoftHSM 2.6 implements RFC 5649 under the PAD number and does not offer
    /// KWP.
    /// Measured: on SoftHSM 2.6.1 0x210B is not offered and 0x210A passes the test.
    /// Auto: on for every module (the known-answer test decides). Listed as in effect only
    /// when the probe chose 0x210A.
    bool pad_as_kwp = false;

    /// `modifiable-keks`: accept KEKs with CKA_MODIFIABLE = TRUE, and when C_GenerateKey
    /// refuses CKA_MODIFIABLE = FALSE (CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT,
    /// CKR_ATTRIBUTE_VALUE_INVALID), generate the KEK again with TRUE.
    /// Works around: tokens that cannot make a non-modifiable key (docs/FORMAT.md asks for FALSE
    /// "where the token allows it"). A KEK whose attributes can be changed is a weaker KEK, so
    /// this is never detected: an administrator turns it on for such a token.
    /// Measured: SoftHSM 2.6.1 accepts FALSE (it defaults to TRUE when not asked).
    /// Auto: off.
    bool modifiable_keks = false;

    /// `kwp-zero-pads` (measured): suite 1 wraps only keys whose length is a multiple of 8;
    /// other lengths are refused (Errc::unsupported) rather than written as non-standard
    /// blobs. Unwrapping standard blobs of any length still works.
    /// Works around: SoftHSM 2.6.1 zero-pads a key to a multiple of 8 bytes before RFC 5649:
    /// a 20-byte key is wrapped as a 24-byte one (and unwraps to 24 bytes). 32-byte DEKs are
    /// unaffected. SoftHSM's current sources no longer pad.
    /// Measured at connect: wrapping a 23-byte key of known value does not give RFC 5649's
    /// answer.
    bool kwp_zero_pads = false;

    /// `value-len-zero` (measured): to learn an unwrapped key's length, unwrap it
    /// non-sensitive (a session object, destroyed right after, its value never read) and ask
    /// for the length of CKA_VALUE, instead of reading CKA_VALUE_LEN of a sensitive key. Only
    /// needed together with kwp-zero-pads, by a re-wrap whose caller cannot say the length.
    /// Works around: SoftHSM answers CKA_VALUE_LEN = 0 for unwrapped generic secrets.
    /// Measured at connect: CKA_VALUE_LEN of a 23-byte key unwrapped by the probe is not 23.
    bool value_len_zero = false;

    /// The quirks in effect, in the order above: "login-guard", "reconnect-after=10000" ...
    std::vector<std::string> names() const;
    bool operator==(const Quirks&) const = default;
};

/// What the module's file name and the token tell before the probe: moments 1 and 2 above.
struct QuirkFacts {
    std::string module_path;
    /// CK_TOKEN_INFO.manufacturerID without padding; empty before the token is found.
    std::string token_manufacturer;
};

/// The profile detected from the facts (measured quirks are left false: the probe sets them).
Quirks detect_quirks(const QuirkFacts& facts);

/// keyward.conf's `quirks =`, parsed: a base and changes to it, applied in order.
///
/// Grammar: words separated by commas and/or blanks.
///   auto | none           the base, first word only; without one the base is auto
///   NAME                  turn a quirk on            (login-guard, startup-retries,
///   -NAME                 turn it off                 pad-as-kwp, modifiable-keks,
///                                                     reconnect-after)
///   reconnect-after=N     set the number (0 = off); reconnect-after alone is an error
/// Examples: "auto" (the default), "none", "auto, -startup-retries", "none login-guard",
/// "auto, modifiable-keks, reconnect-after=50000".
/// Errors (Errc::bad_config, naming the word): an unknown name, a measured quirk (they cannot
/// be set), a name given twice, auto/none after the first word, a value for a name that takes
/// none, a missing or malformed number.
struct QuirkSettings {
    bool detect = true;  ///< auto: start from the detected profile; none: from no quirk at all
    struct Change {
        std::string name;       ///< as in the grammar, without '-' and value
        std::size_t value = 0;  ///< 0/1 for a flag, N for reconnect-after
    };
    std::vector<Change> changes;

    /// Whether the settings name `name` (so keyward.conf sets it).
    bool sets(std::string_view name) const noexcept;
};

Result<QuirkSettings> parse_quirks(std::string_view text);

/// The detected profile with the settings applied (none: from an empty profile).
Quirks apply_quirk_settings(const Quirks& detected, const QuirkSettings& settings);

}  // namespace keyward::p11
