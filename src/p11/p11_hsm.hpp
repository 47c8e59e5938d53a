// SPDX-License-Identifier: Apache-2.0
// core::Hsm over PKCS#11: a token found by label or pkcs11: URI, one login session kept open for
// the object's life, a pool of working sessions for concurrent callers, a KEK handle cache, and
// suites chosen by known-answer tests at connect time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/hsm.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/types.hpp"
#include "p11/mechanism_probe.hpp"
#include "p11/module.hpp"
#include "p11/quirks.hpp"
#include "p11/session.hpp"
#include "p11/session_pool.hpp"
#include "p11/token_finder.hpp"

namespace keyward::p11 {

struct ConnectOptions {
    std::string module_path;
    /// Token label (compared with the blank-trimmed 32-byte field) or an RFC 7512 "pkcs11:" URI.
    std::string token;
    /// User PIN. connect() wipes its copy right after C_Login; empty only for tokens without
    /// CKF_LOGIN_REQUIRED.
    SecretString pin;
    /// When non-empty, SOFTHSM2_CONF is set to this before the module is loaded (process-wide).
    std::string softhsm2_conf;
    /// Working sessions; 0 means 2 * std::thread::hardware_concurrency().
    std::size_t max_sessions = 0;
    /// A working session is closed and replaced after this many key objects were created in it
    /// (for tokens that tie per-object memory to the session).
    std::size_t recycle_after_objects = 10000;
    /// Changes to the detected token quirks (keyward.conf's `quirks =`, parse_quirks); the
    /// default takes the detected profile as it is (quirks.hpp).
    QuirkSettings quirks;
    /// Quirk reconnect-after's number (keyward.conf's `reconnect_after_objects`): after this
    /// many key objects (over every session) the connection finalises the module and connects
    /// and logs in again, when it is the module's only user. The PIN is then kept, wiped on
    /// close, for the connection's life. 0 never reconnects (and wipes the PIN right after
    /// login); unset takes the profile's number. Errc::bad_config when `quirks` sets it too.
    std::optional<std::size_t> reconnect_after_objects;
    /// Check a KEK's attributes before its first use (core::kek_spec_mismatch). Only tests that
    /// need a KEK of known value (imported, so CKA_LOCAL = FALSE) for test vectors turn it off;
    /// Keyward::open never does, and no configuration key reaches it.
    bool check_kek_attributes = true;
    /// Never C_Finalize nor dlclose the module (for the OpenSSL provider, where SoftHSM must not
    /// be torn down inside OPENSSL_cleanup).
    bool never_finalize = false;
};

/// Errors of every operation, besides those documented on core::Hsm:
///  - Errc::hsm_unavailable after fork(): a connection belongs to the process that made it;
///    connect again in the child (PKCS#11 requires the child to C_Initialize again).
///  - Errc::unsupported for a suite whose mechanism failed the connect-time probe, and for
///    suite 1 keys whose length is not a multiple of 8 on tokens that pad them (SoftHSM 2.6.1).
///  - Errc::not_found when no object carries the KEK's label; Errc::token_mismatch when several
///    do, or when the KEK's attributes forbid the suite's operation.
///  - Errc::hsm_error "C_Fn: CKR_X" for anything the token did not expect.
class P11Hsm final : public core::Hsm {
  public:
    /// Loads the module, finds the token, logs in (never retried: a wrong PIN is reported, not
    /// repeated, so the token is not locked by us), probes the mechanisms.
    /// PKCS#11 login belongs to the process, not the session: while another connection of this
    /// process keeps the same token logged in, the token answers CKR_USER_ALREADY_LOGGED_IN
    /// without checking this PIN, and the connection is made.
    /// The token quirks profile is detected here, once (quirks.hpp), and kept for reconnects.
    /// Errors: Errc::hsm_unavailable (module will not load; no or several matching tokens;
    /// token has no user PIN), Errc::pin_incorrect, Errc::pin_locked, Errc::bad_config (bad
    /// pkcs11: URI, label longer than 32 bytes, PIN missing, reconnect-after set twice).
    static Result<std::unique_ptr<P11Hsm>> connect(ConnectOptions options);

    ~P11Hsm() override;
    P11Hsm(const P11Hsm&) = delete;
    P11Hsm& operator=(const P11Hsm&) = delete;

    const core::TokenIdentity& identity() const override { return identity_; }
    Result<std::vector<core::KekAttributes>> find_keks(const std::string& label) override;
    bool accepts_modifiable_keks() const override { return quirks_.modifiable_keks; }
    Result<std::size_t> count_public_objects(const std::string& label) override;
    Result<core::StateLedger> read_state_ledger() override;
    Status record_state(const core::KekStateEvent& event) override;
    Result<core::KekAttributes> generate_kek(const std::string& label, Suite suite,
                                             ByteView id) override;
    Status destroy_kek(const std::string& label) override;
    Result<Bytes> check_value(const core::KekRef& kek) override;
    Result<Bytes> wrap_dek(const core::KekRef& kek, ByteView dek, ByteView aad) override;
    Result<SecretBytes> unwrap_dek(const core::KekRef& kek, ByteView wrapped,
                                   ByteView aad) override;
    Result<Bytes> rewrap_dek(const core::KekRef& from, ByteView wrapped, ByteView from_aad,
                             const core::KekRef& to, ByteView to_aad,
                             std::size_t dek_size) override;
    Result<core::KekAttributes> generate_mac_key(const std::string& label, ByteView id) override;
    Result<Bytes> mac(const std::string& key_label, ByteView data) override;
    Result<bool> verify_mac(const std::string& key_label, ByteView data, ByteView tag) override;
    Result<std::vector<core::DataObject>> find_data_objects(
        const std::string& application) override;
    Status create_data_object(const core::DataObject& object) override;
    Status destroy_data_object(const std::string& application, const std::string& label) override;
    Status generate_random(MutableByteView out) override;
    Result<bool> logged_in() override;
    Result<std::vector<core::KekAttributes>> objects_labelled(std::string_view prefix) override;
    Result<core::KekProbe> probe_kek(const core::KekRef& kek) override;
    Result<std::vector<core::KnownAnswer>> known_answer_tests() override;

    /// Whether the suite passed its known-answer test at connect time.
    bool supports(Suite suite) const noexcept;
    /// "CKM_AES_KEY_WRAP_PAD" on SoftHSM 2.6; empty when suite 1 is unavailable.
    std::string suite1_mechanism_name() const;
    /// Whether suite 1 wraps keys of any length as RFC 5649 says. false on SoftHSM 2.6.1, which
    /// zero-pads a key to a multiple of 8 bytes before wrapping (quirk kwp-zero-pads): there
    /// wrap_dek and rewrap_dek refuse suite 1 data keys whose length is not a multiple of 8
    /// (Errc::unsupported). Unwrapping standard blobs of any length works everywhere suite 1
    /// is available.
    bool suite1_wraps_any_length() const noexcept;
    /// The token quirks in effect on this connection (quirks.hpp), as detected, configured and
    /// measured at connect.
    const Quirks& quirks() const noexcept { return quirks_; }
    /// Why a suite is unavailable (empty when it is available).
    std::string unavailable_reason(Suite suite) const;

    CK_SLOT_ID slot() const noexcept { return slot_; }
    const std::string& module_path() const noexcept { return module_path_; }
    PoolStats pool_stats() const { return pool_->stats(); }
    /// Number of labels whose handle is cached (for tests and health output).
    std::size_t cached_kek_count() const;
    /// Times the module was finalised and connected again (see reconnect_after_objects).
    std::size_t reconnects() const noexcept { return reconnects_.load(); }

  private:
    P11Hsm() = default;

    /// A module initialised, the token found and logged in: what connect() and reconnect()
    /// share, retries for SoftHSM's start-up races included.
    struct Attachment {
        std::shared_ptr<Module> module;
        SlotToken token;
        Session login_session;
    };
    /// Uses the quirks login-guard and startup-retries of `quirks`.
    static Result<Attachment> attach(const ConnectOptions& options, const SecretString& pin,
                                     const Quirks& quirks);
    /// Runs inside SessionPool::exclusive: finalises the module (when nobody else in the
    /// process uses it) and attaches again with the kept PIN. When that fails, calls fail with
    /// the reason and later ones try again (at most once a second); a wrong PIN, a locked PIN,
    /// a bad configuration or another token ends the connection for good.
    Status reconnect();

    Status check_process() const;
    Result<SessionPool::Lease> lease();
    Status require_suite(Suite suite) const;
    /// Errc::unsupported when suite 1 cannot wrap a key of this length as RFC 5649 says.
    Status require_kwp_length(std::size_t key_size) const;
    /// The cached handle of the one KEK with this label, looked up (and cached) when missing.
    /// not_found when none, token_mismatch when several objects carry the label or when its
    /// attributes are not exactly those keyward generates for the suite (checked once per
    /// lookup, so before a KEK's first use in the process and after every reconnect).
    Result<CK_OBJECT_HANDLE> kek_handle(const Session& s, const core::KekRef& kek);
    /// token_mismatch naming the label and the attribute unless `a` is what keyward generates.
    Status check_attributes(const core::KekRef& kek, const core::KekAttributes& a) const;
    /// The one KEK object with this label, looked up in the token (no cache): not_found when
    /// none, token_mismatch when several objects carry the label.
    Result<CK_OBJECT_HANDLE> find_unique_kek(const Session& s, const std::string& label) const;
    void forget_kek(const std::string& label);
    /// Caches a handle whose attributes passed for `suite`.
    void remember_kek(const core::KekRef& kek, CK_OBJECT_HANDLE handle);

    /// Runs op(lease, kek_handle); when the handle turned out stale (Errc::not_found from the
    /// token), forgets it, looks the label up again and retries once.
    template <typename Op>
    auto with_kek(const core::KekRef& kek, Op&& op)
        -> decltype(op(std::declval<SessionPool::Lease&>(), CK_OBJECT_HANDLE{}));

    /// The audit key's cached handle, looked up and checked (core::mac_key_spec_mismatch) when
    /// missing, as kek_handle does for KEKs.
    Result<CK_OBJECT_HANDLE> mac_key_handle(const Session& s, const std::string& label);
    /// Runs op(session, mac_key_handle) with one retry after a stale handle.
    template <typename Op>
    auto with_mac_key(const std::string& label, Op&& op)
        -> decltype(op(std::declval<const Session&>(), CK_OBJECT_HANDLE{}));

    Result<Bytes> wrap_in(SessionPool::Lease& lease, Suite suite, CK_OBJECT_HANDLE kek,
                          ByteView dek, ByteView aad);
    Result<SecretBytes> unwrap_in(SessionPool::Lease& lease, Suite suite, CK_OBJECT_HANDLE kek,
                                  ByteView wrapped, ByteView aad);

    // Declaration order is destruction order reversed: sessions close before the module goes.
    std::shared_ptr<Module> module_;
    std::string module_path_;
    CK_SLOT_ID slot_ = 0;
    pid_t pid_ = 0;
    core::TokenIdentity identity_;
    MechanismChoice mechanisms_;
    Quirks quirks_;          // as of connect; reconnect_after_ is the live copy of its number
    Session login_session_;  // closing the token's last session logs it out: keep this one
    std::unique_ptr<SessionPool> pool_;

    // For reconnect(): the options connect() had, without the PIN, which pin_ keeps (only
    // while reconnecting is on).
    ConnectOptions options_;
    SecretString pin_;
    std::atomic<std::size_t> reconnect_after_{0};
    std::atomic<std::size_t> reconnects_{0};
    // True between dropping the module and attaching again (after a failed attempt too).
    std::atomic<bool> detached_{false};
    bool check_kek_attributes_ = true;
    // Inside SessionPool::exclusive only: the last failed attempt, and when to try again.
    std::optional<Error> last_failure_;
    std::chrono::steady_clock::time_point retry_after_{};
    bool finalised_ = false;  // whether the last detach finalised the module

    mutable std::mutex cache_mutex_;
    // By label: the handle and the suite its attributes were checked for. A use with the other
    // suite looks the object up and checks it again (and is refused).
    struct CachedKek {
        CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
        Suite suite = Suite::kwp;
    };
    std::map<std::string, CachedKek, std::less<>> kek_cache_;
    std::map<std::string, CK_OBJECT_HANDLE, std::less<>> mac_key_cache_;
};

}  // namespace keyward::p11
