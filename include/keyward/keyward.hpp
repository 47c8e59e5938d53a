// SPDX-License-Identifier: Apache-2.0
// keyward's public C++ API: open a handle from a configuration, manage keyrings, and seal,
// open, rewrap and make data keys per docs/FORMAT.md. Every call returns Result<T>; none
// throws. A handle may be used from several threads at once.
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/access.hpp"
#include "keyward/audit.hpp"
#include "keyward/bytes.hpp"
#include "keyward/compliance.hpp"
#include "keyward/config.hpp"
#include "keyward/error.hpp"
#include "keyward/maintenance.hpp"
#include "keyward/records.hpp"
#include "keyward/rotation.hpp"
#include "keyward/types.hpp"

namespace keyward {

struct KekVersionInfo {
    std::uint32_t version = 0;
    KekState state = KekState::pre_active;
    std::uint64_t records = 0;    ///< stored records this version still protects
    std::string created_at;       ///< ISO 8601 UTC
    std::string label;            ///< token object label
    std::string object_id_hex;    ///< CKA_ID
    std::uint64_t gcm_wraps = 0;  ///< suite 2: wraps counted against the limit
};

/// A keyring's Transit-style version window and lifecycle settings (docs/SERVICE.md, "Key
/// policies"). Kept in the token as a private data object, so a database writer cannot relax
/// them; rotation, rollback and validate ignore them.
struct KeyringPolicy {
    /// Envelopes and data keys under an older KEK version are refused by open, rewrap and data
    /// key decryption (Errc::policy_refused). At least 1.
    std::uint32_t min_decryption_version = 1;
    /// Wrapping under an older version is refused; 0 allows every version.
    std::uint32_t min_encryption_version = 0;
    /// Versions below it were trimmed (destroyed); 0 before the first trim.
    std::uint32_t min_available_version = 0;
    /// Whether delete_keyring may delete the keyring.
    bool deletion_allowed = false;
    /// keywardd rotates the keyring when its active version is this old; 0 never.
    std::uint64_t auto_rotate_period_seconds = 0;
    std::string updated_at;  ///< ISO 8601 UTC; "" while it has its defaults
};

/// What configure_keyring changes: the fields that are set.
struct KeyringPolicyUpdate {
    std::optional<std::uint32_t> min_decryption_version;
    std::optional<std::uint32_t> min_encryption_version;
    std::optional<bool> deletion_allowed;
    std::optional<std::uint64_t> auto_rotate_period_seconds;
};

struct KeyringInfo {
    std::string name;
    Suite suite = Suite::kwp;
    std::string created_at;
    std::uint32_t cryptoperiod_days = 365;
    std::string rotation_due_at;  ///< active version's creation + cryptoperiod; "" when none
    bool rotation_due = false;    ///< rotation_due_at has passed
    KeyringPolicy policy;
    std::vector<KekVersionInfo> versions;
};

struct TokenSummary {
    std::string label, serial, manufacturer, model;
    std::string suite1_mechanism;  ///< e.g. "CKM_AES_KEY_WRAP_PAD"; empty when unsupported
    /// Token workarounds in effect, e.g. "login-guard", "reconnect-after=10000"
    /// (docs/CONFIG.md, "Token quirks"); empty for a token that needs none.
    std::vector<std::string> quirks;
};

/// What `rotate-secret --due` did for one record: version > 0 when rotated, else why not.
struct SecretRotation {
    std::string record;
    std::uint32_t version = 0;
    int exit_code = 0;
    std::string error;
};

/// A namespace and the keyring its records are sealed under.
struct NamespaceInfo {
    std::string name, keyring, created_at;
};

/// How Keyward::open treats KEK versions that fail its checks.
struct OpenOptions {
    /// false: any KEK version that fails a start-up check stops the open (token_mismatch).
    /// true: the handle opens anyway; failing versions are refused for every use and listed by
    /// kek_findings(), so that health and validate can name every one. The token binding
    /// (serial and label) is checked either way.
    bool diagnose = false;
    /// Never C_Finalize nor unload the PKCS#11 module, even when the handle closes: for an
    /// embedder that cannot know whether another library in the process uses it (the OpenSSL
    /// provider; DESIGN.md's traps).
    bool keep_module_loaded = false;
    /// Act as this principal instead of the config's (`keyward --principal NAME`): its grants
    /// apply, and the audit log names both ("owner as NAME"). Empty: the config's principal.
    std::string act_as;
};

class Keyward;

/// Makes the calls that the current thread makes on one handle run for a caller (a principal
/// and its context for the audit log) until it is destroyed. Scopes nest; destroy a scope on
/// the thread that made it. A door that serves many principals over one handle (keywardd)
/// opens one per request.
class KEYWARD_API CallScope {
  public:
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
    struct Frame;

  private:
    friend class Keyward;
    CallScope(const void* handle_inside, CallContext context);
    Frame* frame_;
};

class KEYWARD_API Keyward {
  public:
    /// Loads the PKCS#11 module, finds the token, logs in with the PIN from the config's PIN
    /// source (wiped after login), opens and migrates the database, and checks that database
    /// and token belong together: token serial and label, each KEK row's own consistency, the
    /// token's record of compromised and destroyed versions, and for every live KEK version
    /// exactly one private token object with keyward's attributes, CKA_ID and check value.
    /// Errors: hsm_unavailable, pin_incorrect, token_mismatch (exit 6), bad_config (exit 2),
    /// database errors.
    static Result<std::unique_ptr<Keyward>> open(const Config& config,
                                                 const OpenOptions& options = {});

    /// What the token contradicts in the database about KEK versions now: versions refused at
    /// open (diagnose mode), states the token recorded graver than the database's (after a
    /// restore or an edit; the token's state is applied), unreadable ledger objects.
    Result<std::vector<KekFinding>> kek_findings();

    ~Keyward();
    Keyward(const Keyward&) = delete;
    Keyward& operator=(const Keyward&) = delete;

    const TokenSummary& token() const noexcept;

    /// The principal calls on this thread run as (a CallScope's, else the handle's).
    std::string principal() const;
    /// See CallScope. An empty context.principal keeps the handle's principal.
    [[nodiscard]] CallScope act_as(CallContext context) const;

    // Access control (docs/ACCESS.md). Every call below needs admin on the scope it changes,
    // or auditor/admin on "*" to read others' grants; each is audited.

    Result<GrantInfo> grant(const GrantRequest& request);
    /// Removes the principal's grant of role on scope; not_found when there is none.
    Status revoke_grant(const std::string& principal, Role role, const std::string& scope);
    /// Grants of one principal (everyone's when empty), valid or not: `invalid` lists the ids
    /// of rows whose token MAC does not verify (never honoured).
    struct GrantListing {
        std::vector<GrantInfo> grants;
        std::vector<std::string> invalid;
    };
    Result<GrantListing> grants(const std::string& principal = {});

    // Service tokens for keywardd (docs/SERVICE.md).

    /// A new token for request.principal (admin of "*"). The token is in the result only:
    /// it is never stored (the database keeps an HMAC made in the token), logged or audited.
    struct IssuedServiceToken {
        SecretString token;
        ServiceTokenInfo info;
    };
    Result<IssuedServiceToken> create_service_token(const ServiceTokenRequest& request);
    /// Every token's public fields (auditor or admin of "*"); `invalid` lists rows whose MAC
    /// does not verify in the token (never honoured).
    struct ServiceTokenListing {
        std::vector<ServiceTokenInfo> tokens;
        std::vector<std::string> invalid;
    };
    Result<ServiceTokenListing> service_tokens();
    /// Revokes a token by id (admin of "*"); other processes stop honouring it within a second.
    Result<ServiceTokenInfo> revoke_service_token(const std::string& id);
    /// The info of a live token (keywardd's authentication); Errc::access_denied "permission
    /// denied" for a malformed, unknown, forged, revoked or expired one, without saying which.
    /// Not audited itself: the door audits the request it authenticates.
    Result<ServiceTokenInfo> authenticate_service_token(std::string_view token);
    /// Extends a live renewable token by its ttl (up to its maximum), as its own principal.
    Result<ServiceTokenInfo> renew_service_token(std::string_view token);

    /// Two-person rule: records a proposal of a guarded operation; returns it with its id.
    Result<Proposal> propose(GuardedOperation operation, const std::string& target,
                             const std::string& reason = {});
    /// A different admin approves a pending proposal, which then runs. Returns the proposal as
    /// it ended (state done or failed, with the failure's error when it failed).
    Result<Proposal> approve(const std::string& id);
    Result<std::vector<Proposal>> proposals();

    // The audit log (docs/AUDIT.md).

    Result<AuditVerifyReport> verify_audit();
    /// Verifies an archive file made by archive_audit against the token.
    Result<AuditVerifyReport> verify_audit_archive(const std::string& path);
    Result<std::vector<AuditEntry>> audit_entries(const AuditQuery& query);
    /// Moves entries dated before `before` into `out_path` (JSON lines, a new 0600 file).
    Result<AuditArchiveReport> archive_audit(const std::string& before,
                                             const std::string& out_path);
    /// Makes a new audit key version in the token and re-MACs grants and proposals under it.
    Status rotate_audit_key();
    /// Commits grouped audit entries now (also done within 100 ms, and when the handle closes).
    Status flush_audit();

    /// Makes KEK version 1 of a new keyring in the token.
    /// cryptoperiod_days: how long a version stays active before `keyring list` and `health`
    /// call for its rotation (NIST SP 800-57 suggests up to 2 years for a KEK; 365 default).
    Result<KeyringInfo> create_keyring(const std::string& name, Suite suite = Suite::kwp,
                                       std::uint32_t cryptoperiod_days = 365);
    Result<KeyringInfo> keyring(const std::string& name);
    Result<std::vector<KeyringInfo>> keyrings();
    /// Changes the keyring's policy (admin) under Vault Transit's rules: min_decryption_version
    /// 1 to the latest version, min_encryption_version 0 or up to the latest and not below
    /// min_decryption_version, neither below min_available_version, auto-rotate period 0 or at
    /// least an hour. Errc::bad_input names the rule broken.
    Result<KeyringInfo> configure_keyring(const std::string& name,
                                          const KeyringPolicyUpdate& update);
    /// Destroys every KEK version below min_available_version (admin; each as retire_kek
    /// would, so the two-person rule applies), under Vault's trim rules. Refused
    /// (Errc::state_refused, with the count) while stored records still use one of them.
    Result<KeyringInfo> trim_keyring(const std::string& name, std::uint32_t min_available_version);
    /// Deletes the keyring (admin; a guarded operation): only when its policy allows deletion
    /// and no namespace, stored record or unfinished job uses it. Its KEKs are recorded
    /// destroyed in the token's ledger, then destroyed, then its rows are removed.
    Status delete_keyring(const std::string& name);

    // Rotation (docs/OPERATIONS.md). One rotation or rollback runs per keyring at a time
    // (a lease naming host and pid); seal, open, put and get keep working meanwhile.

    /// Makes the next KEK version active and moves every stored record to it in batches;
    /// resumes the keyring's unfinished rotation instead, if there is one.
    Result<RotationReport> rotate_keyring(const std::string& name, const RotateOptions& options);
    /// Undoes the last rotation: its source version is active again and every record is back
    /// under it (kept wrapped DEKs put back without the token where possible).
    Result<RotationReport> rollback_keyring(const std::string& name, const RotateOptions& options);
    Result<std::vector<RotationReport>> keyring_history(const std::string& name);
    /// Marks a KEK version compromised (opens still work and are flagged) and drops the
    /// copies kept under it; follow with a reencrypt rotation, then retire it.
    Status compromise_kek(const std::string& name, std::uint32_t version);
    /// Destroys a decrypt-only or compromised KEK version that no record uses any more.
    Status retire_kek(const std::string& name, std::uint32_t version);

    /// Envelope of plaintext (at most 64 MiB) under the keyring's active KEK, bound to context.
    Result<Bytes> seal(const std::string& keyring, ByteView plaintext, ByteView context = {});
    /// Plaintext of an envelope (binary form); auth_failed for any tampering or wrong context.
    Result<SecretBytes> open(ByteView envelope, ByteView context = {});
    /// Envelope or data key blob re-wrapped under its keyring's active KEK version.
    Result<Bytes> rewrap(ByteView envelope_or_blob);
    /// A fresh data key (suite 1: 16-64 bytes; suite 2: 32) and its KWK1 blob, under the
    /// keyring's active version; with `version` != 0, under that version, refused
    /// (state_refused) unless it is the active one.
    Result<DataKey> generate_data_key(const std::string& keyring, std::size_t bytes = 32,
                                      std::uint32_t version = 0);
    /// The data key inside a KWK1 blob.
    Result<SecretBytes> decrypt_data_key(ByteView blob);
    /// The KWK1 blob of a data key the caller already holds (16-64 bytes; suite 2: 32), under
    /// the keyring's active version, or under `version` as generate_data_key says (the OpenSSL
    /// provider's EVP_PKEY_encrypt).
    Result<Bytes> wrap_data_key(const std::string& keyring, ByteView key,
                                std::uint32_t version = 0);
    /// Raw RFC 5649 wrap (no keyward header, so no version in it) of a data key (16-64 bytes)
    /// under `version`, which must be the active version of a suite 1 keyring: for peers that
    /// speak only the RFC (`openssl enc -id-aes256-wrap-pad`). The caller keeps the version.
    Result<Bytes> wrap_key_raw(const std::string& keyring, std::uint32_t version, ByteView key);
    /// The data key inside raw RFC 5649 output of wrap_key_raw under that version.
    Result<SecretBytes> unwrap_key_raw(const std::string& keyring, std::uint32_t version,
                                       ByteView wrapped);

    // Records (docs/RECORDS.md). Addresses are "NS/NAME" (docs/CLI.md); values go only to
    // the caller, never into metadata, errors or logs.

    /// Stores value (at most 64 MiB) as the next version of record "NS/NAME", sealed under
    /// the namespace's keyring (by default the one of the same name, made on first use) with
    /// context "record:NS/NAME#V"; returns V.
    Result<std::uint32_t> put_record(const std::string& address, const PutOptions& options,
                                     ByteView value);
    /// put_record with only a kind and an optional expiry (ISO 8601, "" for none).
    Result<std::uint32_t> put_record(const std::string& address, const std::string& kind,
                                     ByteView value, const std::string& expires_at = {});
    /// A new version of `bytes` (16-4096) random bytes from the token's RNG, for kinds keyward
    /// may generate (api_key, basic_auth_password, webhook_secret, jwt_signing_key,
    /// custom_secret).
    Result<std::uint32_t> generate_record(const std::string& address, const PutOptions& options,
                                          std::size_t bytes);
    /// Version `version`'s value as the new latest version.
    Result<std::uint32_t> restore_record(const std::string& address, std::uint32_t version);
    /// A new generated version; bytes 0 means the record's length, else 32.
    Result<std::uint32_t> rotate_secret(const std::string& address, std::size_t bytes = 0);
    /// rotate_secret for every auto-rotate record (of ns; all when empty) whose rotation is due.
    Result<std::vector<SecretRotation>> rotate_due_secrets(const std::string& ns = {});
    /// Bulk put into one namespace, stored in one transaction; each item has its outcome.
    Result<std::vector<ImportOutcome>> import_records(const std::string& ns,
                                                      std::span<const ImportItem> items);

    /// Plaintext of a record version (the latest when version is 0).
    Result<SecretBytes> get_record(const std::string& address, std::uint32_t version = 0);
    /// A stored version without opening it (the latest when version is 0).
    Result<RecordVersion> record_version(const std::string& address, std::uint32_t version = 0);
    Result<std::vector<RecordVersion>> record_versions(const std::string& address);
    /// Metadata of a record in any state.
    Result<RecordInfo> record(const std::string& address);
    /// Records matching the filter, in namespace and name order.
    Result<std::vector<RecordInfo>> records(const RecordFilter& filter);
    /// Records of a namespace (every namespace when empty), optionally of one kind.
    Result<std::vector<RecordInfo>> records(const std::string& ns = {},
                                            const std::string& kind = {});

    Status revoke_record(const std::string& address);
    Status delete_record(const std::string& address);
    Status recover_record(const std::string& address);
    /// Only a deleted record; every version is gone for good.
    Status purge_record(const std::string& address);
    Status update_record(const std::string& address, const MetadataUpdate& update);

    Result<RecordStats> record_stats();
    Result<HealthReport> health();

    /// Maps a namespace to an existing keyring before its first record.
    Status map_namespace(const std::string& ns, const std::string& keyring);
    Result<std::vector<NamespaceInfo>> namespaces();

    // Maintenance (keyward/maintenance.hpp).

    /// Opens every stored record version (of every record in any state, or only those sealed
    /// under `keyring` when it is not empty; `sample` versions chosen at random when not 0)
    /// and counts what opened, listing the first max_failures that did not (0: all).
    /// Plaintexts are wiped at once. Errors only when the run cannot proceed (keyring
    /// not_found, token unusable, database errors); versions that do not open are counted.
    Result<ValidationReport> validate(const std::string& keyring = {}, std::size_t sample = 0,
                                      std::size_t max_failures = kMaxValidationFailures);
    /// Writes a consistent online snapshot of the database to `out_path`, a new file (never
    /// replaced: already_exists) of mode 0600 in rollback-journal mode, recording the token
    /// serial and label and the KEK versions it needs. Returns what the snapshot holds.
    Result<BackupInfo> backup(const std::string& out_path);
    /// Replaces the database content with a backup's, after checking that the backup belongs
    /// to this token (token_mismatch otherwise) with every KEK version it needs, that its
    /// schema is not newer than this keyward, and that no rotation is running.
    Result<BackupInfo> restore_backup(const std::string& path);

    /// Runs the compliance checks (docs/COMPLIANCE.md; auditor or admin of everything) and
    /// returns the report with its sealed file text (ComplianceReport::sealed); the run is
    /// audited with its verdict and the file's SHA-256.
    Result<ComplianceReport> compliance(const ComplianceOptions& options = {});
    /// Checks a report file's MAC in the token (auditor or admin).
    Result<ReportVerification> verify_compliance_report(std::string_view text);

    /// The library's inside: defined only in the library, so a handle can only come from
    /// open() (or, inside the library and its tests, from core::assemble over a token and a
    /// store that are not PKCS#11 and SQLite: docs/ARCHITECTURE.md).
    struct Impl;
    explicit Keyward(std::unique_ptr<Impl> impl);

  private:
    Result<ValidationReport> validate_unaudited(const std::string& keyring, std::size_t sample,
                                                std::size_t max_failures);
    Result<BackupInfo> backup_unaudited(const std::string& out_path);
    Result<BackupInfo> restore_unaudited(const std::string& path);
    Result<HealthReport> health_unaudited();
    Result<std::vector<ComplianceCheck>> compliance_checks(const ComplianceOptions& options);
    /// compliance_report_json's bytes, then the audit key's MAC over them, made in the token.
    Result<std::string> seal_compliance_report(const ComplianceReport& report);

    std::unique_ptr<Impl> impl_;
};

}  // namespace keyward
