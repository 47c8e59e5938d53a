// SPDX-License-Identifier: Apache-2.0
// The Hsm port: everything the services need from a key store that keeps KEKs inside it.
// src/p11 implements it over PKCS#11; tests/core has a software fake behind the same interface.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/types.hpp"

namespace keyward::core {

struct TokenIdentity {
    std::string label;   // CK_TOKEN_INFO.label, trailing blanks removed
    std::string serial;  // CK_TOKEN_INFO.serialNumber, trailing blanks removed
    std::string manufacturer;
    std::string model;
    std::string firmware;  // CK_TOKEN_INFO.firmwareVersion, "MAJOR.MINOR"
};

/// Attributes of a secret-key object as read back from the token. An attribute the token
/// would not reveal is std::nullopt.
struct KekAttributes {
    std::string label;
    Bytes id;
    /// CKA_CLASS and CKA_KEY_TYPE by their PKCS#11 names ("CKO_SECRET_KEY", "CKK_AES"; an
    /// unknown value as hex): the port's vocabulary, so that the services need no pkcs11.h.
    std::optional<std::string> object_class;
    std::optional<std::string> key_type;
    std::optional<unsigned long> value_len;
    std::optional<bool> token, private_, sensitive, extractable, never_extractable,
        always_sensitive, modifiable, wrap, unwrap, encrypt, decrypt, sign, verify, derive;
    /// CKA_LOCAL: TRUE for a key the token generated (and finished generating).
    std::optional<bool> local;
};

/// Which KEK to use and how it wraps. The adapter resolves and caches the handle by label, and
/// before the first use in a process checks that the object has exactly the attributes keyward
/// generates for the suite (kek_spec_mismatch): anything else is Errc::token_mismatch naming the
/// label and the attribute.
struct KekRef {
    std::string label;
    Suite suite = Suite::kwp;
};

/// A KEK state that never goes back (compromised, destroyed), as recorded in the token where the
/// database cannot rewrite it: one private, non-modifiable object per event, never changed.
struct KekStateEvent {
    std::string label;  ///< the KEK's label, keyward:<keyring>:v<version>
    Bytes object_id;    ///< the KEK's CKA_ID: an event concerns that object, not a reused label
    KekState state = KekState::compromised;  ///< compromised or destroyed
    std::string at;                          ///< ISO 8601 UTC, when it was recorded
};

/// Every event of the token's ledger, and the ledger objects that could not be read (a kill
/// while one was being written leaves one without its value: it recorded nothing).
struct StateLedger {
    std::vector<KekStateEvent> events;
    std::vector<std::string> unreadable;  ///< their labels
};

/// A private, non-modifiable CKO_DATA token object that keyward writes once and never changes
/// (audit checkpoints): what the database cannot rewrite. `value` is empty and `readable` false
/// when the token would not reveal it (a kill while it was being written).
struct DataObject {
    std::string application;  ///< CKA_APPLICATION: which kind of record it is
    std::string label;        ///< CKA_LABEL: unique within its application
    Bytes value;
    bool readable = true;
};

/// What a negative probe of a live KEK found: each field is empty when the token refused, as
/// it must, else says what happened.
struct KekProbe {
    std::string value_read;  ///< C_GetAttributeValue(CKA_VALUE)
    std::string wrapped_out;  ///< C_WrapKey of the KEK under a fresh session key
    std::string inconclusive;  ///< a probe that got neither the refusal nor the secret
};

/// One of the token's mechanism known-answer tests, run now.
struct KnownAnswer {
    std::string name;  ///< "suite 1 (RFC 5649)", "suite 2 (AES-GCM)"
    bool passed = false;
    std::string detail;  ///< the mechanism, or why it failed
};

class Hsm {
  public:
    virtual ~Hsm() = default;

    virtual const TokenIdentity& identity() const = 0;

    /// Every private secret-key token object carrying this label (empty when none; more than
    /// one is a broken token that the caller must refuse to use). Public objects, which anyone
    /// can make without the PIN, are never returned, never used and never counted.
    virtual Result<std::vector<KekAttributes>> find_keks(const std::string& label) = 0;

    /// How many public objects (of any class) carry this label: only to explain a refusal
    /// ("someone without the PIN made an object with the label of a KEK").
    virtual Result<std::size_t> count_public_objects(const std::string& label) = 0;

    /// The token's ledger of compromised and destroyed KEKs (private objects only).
    virtual Result<StateLedger> read_state_ledger() = 0;

    /// Appends one event to the ledger, durably: it can be found again before this returns.
    virtual Status record_state(const KekStateEvent& event) = 0;

    /// Whether KEKs with CKA_MODIFIABLE = TRUE are acceptable on this token (a token that
    /// cannot make non-modifiable keys, configured so): kek_spec_mismatch's modifiable_allowed.
    virtual bool accepts_modifiable_keks() const { return false; }

    /// Generates an AES-256 KEK in the token with exactly the attributes of docs/FORMAT.md
    /// for the suite, every attribute set explicitly. Does not look for an existing label:
    /// the caller does (see core::Keyrings).
    virtual Result<KekAttributes> generate_kek(const std::string& label, Suite suite,
                                               ByteView id) = 0;

    /// Destroys the token object with this label. not_found when there is none.
    virtual Status destroy_kek(const std::string& label) = 0;

    /// First 8 bytes of the KEK's wrap of a fixed test key (suite 1: C_WrapKey of the test key;
    /// suite 2: GCM ciphertext of the test key under an all-zero IV). Binds the database to
    /// the key material without revealing it.
    virtual Result<Bytes> check_value(const KekRef& kek) = 0;

    /// Wrapped form of dek under kek: suite 1, RFC 5649 output (8*ceil(len/8)+8 bytes);
    /// suite 2, IV(12) || ciphertext || tag(16) with the given AAD.
    virtual Result<Bytes> wrap_dek(const KekRef& kek, ByteView dek, ByteView aad) = 0;

    /// Inverse of wrap_dek. Any integrity failure is Errc::auth_failed, nothing else.
    virtual Result<SecretBytes> unwrap_dek(const KekRef& kek, ByteView wrapped, ByteView aad) = 0;

    /// Unwraps under `from` and wraps under `to`. For suite 1 to suite 1 the DEK never leaves
    /// the token. `dek_size` is the DEK's length when the caller knows it (an envelope's DEK is
    /// always 32 bytes), 0 when it does not. When given, a wrapped DEK whose size cannot hold
    /// that many bytes is Errc::auth_failed and the token is not asked the length (a suite 1
    /// blob of the right size with a shorter key inside is not detected: such an envelope
    /// fails to open before and after). When 0, a token that zero-pads (SoftHSM 2.6.1) is
    /// asked the length, and refuses (Errc::unsupported) one it would change.
    virtual Result<Bytes> rewrap_dek(const KekRef& from, ByteView wrapped, ByteView from_aad,
                                     const KekRef& to, ByteView to_aad, std::size_t dek_size) = 0;

    // The audit key (docs/AUDIT.md): an HMAC-SHA256 generic secret made in the token, private,
    // sensitive, never extractable, sign/verify only. It MACs the audit chain head, grant and
    // approval rows, so that a database writer can neither rewrite history nor mint access.

    /// Generates the audit key with exactly mac_key_spec's attributes. The caller looks for an
    /// existing label first.
    virtual Result<KekAttributes> generate_mac_key(const std::string& label, ByteView id) = 0;
    /// HMAC-SHA256 of data (32 bytes) under the MAC key with this label. The adapter checks the
    /// key's attributes (core::mac_key_spec_mismatch) before its first use in a process:
    /// token_mismatch naming the attribute otherwise; not_found when no such key.
    virtual Result<Bytes> mac(const std::string& key_label, ByteView data) = 0;
    /// Whether `tag` is data's HMAC-SHA256 under that key (C_Verify: compared in the token).
    virtual Result<bool> verify_mac(const std::string& key_label, ByteView data, ByteView tag) = 0;

    /// Every private token data object of this application, in no particular order.
    virtual Result<std::vector<DataObject>> find_data_objects(const std::string& application) = 0;
    /// Creates one, private and non-modifiable, and returns once it can be found again.
    virtual Status create_data_object(const DataObject& object) = 0;
    /// Destroys the private data objects of this application with this label (none: ok).
    virtual Status destroy_data_object(const std::string& application,
                                       const std::string& label) = 0;

    // Compliance runs (docs/COMPLIANCE.md).

    /// Every token object, private or public, whose label starts with `prefix` (label, class,
    /// key type, CKA_PRIVATE, CKA_ID; other attributes as the token reveals them).
    virtual Result<std::vector<KekAttributes>> objects_labelled(std::string_view prefix) = 0;
    /// Tries to read the KEK's value and to wrap it out of the token; both must be refused.
    virtual Result<KekProbe> probe_kek(const KekRef& kek) = 0;
    /// Runs the mechanism known-answer tests again, in a session of their own.
    virtual Result<std::vector<KnownAnswer>> known_answer_tests() = 0;

    /// Random bytes from the token's RNG.
    virtual Status generate_random(MutableByteView out) = 0;

    /// Asks the token now: is the login session still logged in as the user? hsm_unavailable
    /// when the token does not answer.
    virtual Result<bool> logged_in() = 0;
};

}  // namespace keyward::core
