// SPDX-License-Identifier: Apache-2.0
// P11Hsm: connecting (module, token, login, probe), the KEK handle cache, and the KEK object
// operations (find, generate, destroy). DEK operations are in p11_hsm_wrap.cpp.
#include "p11/p11_hsm.hpp"

#include <unistd.h>

#include <thread>

#include "core/kek_spec.hpp"
#include "p11/kek_attributes.hpp"
#include "p11/key_ops.hpp"
#include "p11/objects.hpp"
#include "p11/rv.hpp"
#include "p11/softhsm_login_guard.hpp"
#include "p11/state_ledger.hpp"
#include "p11/token_finder.hpp"

namespace keyward::p11 {

namespace {

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

// Quirk startup-retries (quirks.hpp): up to 8 more attempts, the n-th after 10 x n ms plus a
// jitter of pid % 17 ms, so that processes that collided once do not collide again in step.
class StartupRetries {
  public:
    explicit StartupRetries(bool on) noexcept : limit_(on ? 8 : 0) {}
    bool left() const noexcept { return attempt_ < limit_; }
    void wait() noexcept {
        ++attempt_;
        std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt_ + (::getpid() % 17)));
    }

  private:
    int limit_;
    int attempt_ = 0;
};

// The profile for this connection: detected from what is known so far (the token's
// manufacturer once it is found), then keyward.conf's changes.
Quirks configured_quirks(const ConnectOptions& options, std::string token_manufacturer = {}) {
    auto detected = detect_quirks({options.module_path, std::move(token_manufacturer)});
    Quirks q = apply_quirk_settings(detected, options.quirks);
    if (options.reconnect_after_objects) q.reconnect_after = *options.reconnect_after_objects;
    return q;
}

// Wipes the caller's PIN on every path out of connect().
struct PinWiper {
    SecretString& pin;
    ~PinWiper() {
        secure_wipe(pin.data(), pin.size());
        pin.clear();
    }
};

}  // namespace

Result<P11Hsm::Attachment> P11Hsm::attach(const ConnectOptions& options, const SecretString& pin,
                                          const Quirks& quirks) {
    // Quirk login-guard: no other keyward process scans the token directory or logs in until
    // this login is done, and a token.object that a killed process left empty is restored
    // first. nullopt: the guard cannot work here (no token directory, a lock not ours).
    std::optional<SoftHsmLoginGuard> login_guard;
    if (quirks.login_guard) {
        KW_TRY(login_guard, SoftHsmLoginGuard::acquire_for_config(options.softhsm2_conf));
    }
    ModuleOptions module_options;
    module_options.softhsm2_conf = options.softhsm2_conf;
    module_options.never_finalize = options.never_finalize;
    Attachment a;
    KW_TRY(a.module, Module::acquire(options.module_path, module_options));
    // A token that reads as having no user PIN, or no serial, is not one to log in to (with
    // startup-retries, it is a file caught half rewritten, and is looked for again).
    auto locate = [&]() -> Result<SlotToken> {
        KW_TRY(auto t, find_token(a.module->functions(), options.token, options.module_path));
        const CK_FLAGS f = t.info.flags;
        if (t.serial.empty()) {
            return Error(Errc::hsm_unavailable,
                         "token " + quoted(t.label) + " reports no serial number");
        }
        if ((f & CKF_LOGIN_REQUIRED) != 0 && (f & CKF_USER_PIN_INITIALIZED) == 0) {
            return Error(Errc::hsm_unavailable, "token " + quoted(t.label) +
                                                    " has no user PIN yet; initialise the "
                                                    "token (keyward init)");
        }
        return t;
    };
    // Finalizing the module (to make it scan its tokens again) is ours only when this
    // connection is its only user.
    auto may_restart = [&] {
        return a.module.use_count() == 1 && a.module->initialized_here() && !options.never_finalize;
    };
    auto found = locate();
    // Quirk startup-retries: a token that is absent or unreadable is looked for again after
    // initialising the module again (C_Finalize and dlclose first: the next C_Initialize scans
    // the token files again). A bad label or URI (bad_config) is not retried.
    auto transient = [](const Error& e) { return e.code() != Errc::bad_config; };
    StartupRetries find_retries(quirks.startup_retries);
    while (!found.ok() && transient(found.error()) && may_restart() && find_retries.left()) {
        a.module.reset();
        find_retries.wait();
        KW_TRY(a.module, Module::acquire(options.module_path, module_options));
        found = locate();
    }
    if (!found.ok()) return std::move(found).error();
    a.token = std::move(found).value();
    const std::string name = "token " + quoted(a.token.label);

    const CK_FLAGS flags = a.token.info.flags;
    const bool login_required = (flags & CKF_LOGIN_REQUIRED) != 0;
    if (login_required && (flags & CKF_USER_PIN_LOCKED) != 0) {
        return Error(Errc::pin_locked, "the user PIN of " + name +
                                           " is locked after too many wrong PINs; the security "
                                           "officer must set a new one (C_InitPIN)");
    }
    if (login_required && (flags & CKF_USER_PIN_INITIALIZED) == 0) {
        return Error(Errc::hsm_unavailable,
                     name + " has no user PIN yet; initialise the token (keyward init)");
    }

    KW_TRY(a.login_session, Session::open(a.module, a.token.slot, true));
    if (!login_required) return a;
    if (pin.empty()) {
        return Error(Errc::bad_config,
                     name + " needs a user PIN; give one as env:VAR, file:PATH or prompt");
    }
    // A wrong PIN is tried once, never again: retries would lock the token. With quirk
    // startup-retries, CKR_GENERAL_ERROR and CKR_USER_PIN_NOT_INITIALIZED (SoftHSM's answers
    // when another process is rewriting the token file at that instant, never its answers to
    // a wrong PIN) are tried again.
    auto login = [&] {
        return KW_P11_CALL(a.module->functions(), C_Login, a.login_session.handle(), CKU_USER,
                           reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.data())),
                           static_cast<CK_ULONG>(pin.size()));
    };
    auto c = login();
    StartupRetries login_retries(quirks.startup_retries);
    while ((c.rv() == CKR_GENERAL_ERROR || c.rv() == CKR_USER_PIN_NOT_INITIALIZED) &&
           login_retries.left()) {
        login_retries.wait();
        // SoftHSM reads the PIN blobs once, when C_Initialize loads the token: a token file
        // caught half rewritten then answers CKR_USER_PIN_NOT_INITIALIZED to every C_Login
        // until the module is initialised again. Start over with a fresh module when this
        // connection is its only user.
        a.login_session = Session();
        if (may_restart()) {
            a.module.reset();
            KW_TRY(a.module, Module::acquire(options.module_path, module_options));
            auto again = locate();
            if (!again.ok()) {
                if (!transient(again.error())) return std::move(again).error();
                continue;  // c still says why, should this be the last attempt
            }
            if (again->serial != a.token.serial) {
                return Error(Errc::hsm_unavailable, name + " changed while connecting");
            }
            a.token = std::move(again).value();
        }
        KW_TRY(a.login_session, Session::open(a.module, a.token.slot, true));
        c = login();
    }
    switch (c.rv()) {
        case CKR_OK:
        // PKCS#11 login belongs to the application, not the session: another connection in
        // this process already logged this token in (its PIN was checked then).
        case CKR_USER_ALREADY_LOGGED_IN:
            // A copy that cannot be written leaves the token as it was: never fail a login
            // for it. The lock is released on return.
            if (login_guard) (void)login_guard->refresh_copy(a.token.serial);
            return a;
        case CKR_PIN_INCORRECT:
        case CKR_PIN_INVALID:
        case CKR_PIN_LEN_RANGE:
            return Error(Errc::pin_incorrect,
                         "wrong user PIN for " + name +
                             " (not retried: repeated wrong PINs lock the token); check the "
                             "PIN source");
        case CKR_PIN_LOCKED:
            return Error(Errc::pin_locked, "the user PIN of " + name +
                                               " is locked; the security officer must set a "
                                               "new one (C_InitPIN)");
        case CKR_PIN_EXPIRED:
            return Error(Errc::pin_locked,
                         "the user PIN of " + name + " has expired; set a new one (C_SetPIN)");
        case CKR_USER_PIN_NOT_INITIALIZED:
            return Error(Errc::hsm_unavailable,
                         name + " has no user PIN yet; initialise the token (keyward init)");
        default:
            return c.error(Errc::hsm_unavailable).context("logging in to " + name);
    }
}

Result<std::unique_ptr<P11Hsm>> P11Hsm::connect(ConnectOptions options) {
    PinWiper wiper{options.pin};
    if (options.reconnect_after_objects && options.quirks.sets("reconnect-after")) {
        return Error(Errc::bad_config,
                     "reconnect_after_objects and quirks reconnect-after= both set the number "
                     "of objects between reconnects; keep one of them");
    }
    // Before C_Initialize only the module's file name is known: enough for the quirks that
    // surround it (quirks.hpp, moment 1).
    KW_TRY(auto a, attach(options, options.pin, configured_quirks(options)));
    std::unique_ptr<P11Hsm> hsm(new P11Hsm);
    hsm->module_ = a.module;
    hsm->module_path_ = a.module->path();
    hsm->slot_ = a.token.slot;
    hsm->pid_ = getpid();
    hsm->identity_.label = a.token.label;
    hsm->identity_.serial = a.token.serial;
    hsm->identity_.manufacturer =
        trim_field(a.token.info.manufacturerID, sizeof a.token.info.manufacturerID);
    hsm->identity_.model = trim_field(a.token.info.model, sizeof a.token.info.model);
    hsm->identity_.firmware = std::to_string(a.token.info.firmwareVersion.major) + "." +
                              std::to_string(a.token.info.firmwareVersion.minor);
    hsm->login_session_ = std::move(a.login_session);
    hsm->check_kek_attributes_ = options.check_kek_attributes;
    // The token is known now: the whole profile (moment 2), the one this connection keeps.
    Quirks quirks = configured_quirks(options, hsm->identity_.manufacturer);
    const std::string name = "token " + quoted(a.token.label);

    std::size_t max_sessions = options.max_sessions;
    if (max_sessions == 0) max_sessions = 2 * std::max(1u, std::thread::hardware_concurrency());
    hsm->pool_ = std::make_unique<SessionPool>(a.module, a.token.slot, max_sessions,
                                               options.recycle_after_objects);
    {
        // Its own session, closed right after: the known-answer tests' unwrapped objects leak
        // on SoftHSM until their session closes.
        KW_TRY(auto probe_session, Session::open(a.module, a.token.slot, true));
        auto probe = probe_mechanisms(probe_session, quirks.pad_as_kwp);
        if (!probe) return std::move(probe).error().context("probing the mechanisms of " + name);
        hsm->mechanisms_ = std::move(probe).value();
    }
    // Moment 3: what the known-answer tests measured (pad-as-kwp in effect only if chosen).
    const auto& m = hsm->mechanisms_;
    quirks.pad_as_kwp = m.suite1 == kMechAesKeyWrapPad;
    quirks.kwp_zero_pads = m.suite1 && !m.suite1_any_length;
    quirks.value_len_zero = m.suite1 && !m.value_len_after_unwrap;

    // Only a module this connection initialised, and may finalise, can be reconnected.
    const bool finalisable = a.module->initialized_here() && !options.never_finalize;
    if (!finalisable) quirks.reconnect_after = 0;
    hsm->quirks_ = quirks;
    if (call_trace_enabled()) {
        std::string list;
        for (const auto& q : quirks.names()) list += (list.empty() ? "" : ", ") + q;
        trace_note("quirks of " + name + ": " + (list.empty() ? "none" : list));
    }
    const std::size_t reconnect_after = quirks.reconnect_after;
    hsm->reconnect_after_.store(reconnect_after);
    if (reconnect_after != 0) {
        // Reconnecting logs in again: the PIN is kept, in wiped memory, for the connection's
        // life (docs/SECURITY.md). Without reconnects it is wiped here, as always.
        hsm->pin_ = options.pin;
        hsm->options_ = options;
        hsm->options_.pin = SecretString();
    }
    return hsm;
}

Status P11Hsm::reconnect() {
    // Every lease is back and the pool has closed its sessions (SessionPool::exclusive).
    const std::size_t after = reconnect_after_.load();
    if (!detached_.load() && (after == 0 || pool_->objects_created() < after)) {
        return ok_status();  // another thread has just done it
    }
    if (!detached_.load()) {
        std::weak_ptr<Module> old = module_;
        const bool ours = module_->initialized_here() && !options_.never_finalize;
        pool_->rebind(nullptr, slot_);
        login_session_ = Session();  // the last session: the token logs out
        module_.reset();
        detached_.store(true);
        {
            std::lock_guard lock(cache_mutex_);
            kek_cache_.clear();  // handles are per module instance
            mac_key_cache_.clear();
        }
        finalised_ = ours && old.expired();
        // Another user of the module in this process kept it alive (or it is not ours to
        // finalise): reconnecting frees nothing. Attach again below and stop trying.
        if (!finalised_) reconnect_after_.store(0);
    } else if (std::chrono::steady_clock::now() < retry_after_) {
        return *last_failure_;  // a reconnect failed less than a second ago
    }
    auto a = attach(options_, pin_, quirks_);
    bool other_token = false;
    if (a.ok() && a->token.serial != identity_.serial) {
        other_token = true;
        a = Error(Errc::hsm_unavailable, "token " + quoted(identity_.label) +
                                             " has another serial number after connecting again");
    }
    if (!a.ok()) {
        auto why = std::move(a).error().context("connecting to token " + quoted(identity_.label) +
                                                " again (to let it free its session objects)");
        const Errc code = why.code();
        if (other_token || code == Errc::pin_incorrect || code == Errc::pin_locked ||
            code == Errc::bad_config) {
            // Trying again cannot help (and a wrong PIN must never be retried): every later
            // call on this connection says why.
            pool_->close_for_good(why);
            reconnect_after_.store(0);
            pin_ = SecretString();
            return why;
        }
        // The token may be back in a moment (another process holding the login lock, a
        // start-up race): later calls try again, at most once a second, and fail meanwhile.
        last_failure_ = why;
        retry_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        return why;
    }
    module_ = a->module;
    slot_ = a->token.slot;
    login_session_ = std::move(a->login_session);
    pool_->rebind(module_, slot_);
    detached_.store(false);
    last_failure_.reset();
    if (finalised_) reconnects_.fetch_add(1);
    if (reconnect_after_.load() == 0) pin_ = SecretString();
    return ok_status();
}

P11Hsm::~P11Hsm() = default;

Status P11Hsm::check_process() const {
    if (getpid() == pid_) return ok_status();
    return Error(Errc::hsm_unavailable,
                 "this token connection was made in process " + std::to_string(pid_) +
                     " before fork(); connect again in this process (PKCS#11 needs C_Initialize "
                     "in the child)");
}

Result<SessionPool::Lease> P11Hsm::lease() {
    KW_TRY_STATUS(check_process());
    const std::size_t after = reconnect_after_.load();
    if (detached_.load() || (after != 0 && pool_->objects_created() >= after)) {
        KW_TRY_STATUS(pool_->exclusive([this] { return reconnect(); }));
    }
    return pool_->acquire();
}

bool P11Hsm::supports(Suite suite) const noexcept {
    return suite == Suite::kwp ? mechanisms_.suite1.has_value() : mechanisms_.suite2;
}

bool P11Hsm::suite1_wraps_any_length() const noexcept {
    return mechanisms_.suite1.has_value() && !quirks_.kwp_zero_pads;
}

std::string P11Hsm::suite1_mechanism_name() const {
    return mechanisms_.suite1 ? mechanism_name(*mechanisms_.suite1) : std::string();
}

std::string P11Hsm::unavailable_reason(Suite suite) const {
    if (supports(suite)) return {};
    return suite == Suite::kwp ? mechanisms_.suite1_report : mechanisms_.suite2_report;
}

Status P11Hsm::require_suite(Suite suite) const {
    if (supports(suite)) return ok_status();
    const char* what = suite == Suite::kwp ? "suite 1 (RFC 5649 key wrap)" : "suite 2 (AES-GCM)";
    return Error(Errc::unsupported, std::string(what) + " is not available on token " +
                                        quoted(identity_.label) + ": " + unavailable_reason(suite) +
                                        "; use the other suite for this keyring");
}

std::size_t P11Hsm::cached_kek_count() const {
    std::lock_guard lock(cache_mutex_);
    return kek_cache_.size();
}

void P11Hsm::forget_kek(const std::string& label) {
    std::lock_guard lock(cache_mutex_);
    kek_cache_.erase(label);
}

void P11Hsm::remember_kek(const core::KekRef& kek, CK_OBJECT_HANDLE handle) {
    std::lock_guard lock(cache_mutex_);
    kek_cache_[kek.label] = CachedKek{handle, kek.suite};
}

Result<CK_OBJECT_HANDLE> P11Hsm::kek_handle(const Session& s, const core::KekRef& kek) {
    {
        std::lock_guard lock(cache_mutex_);
        auto it = kek_cache_.find(kek.label);
        if (it != kek_cache_.end() && it->second.suite == kek.suite) return it->second.handle;
    }
    KW_TRY(auto handle, find_unique_kek(s, kek.label));
    // The database only claims that this label is a KEK; the token's own attributes decide.
    // An object that is not exactly what keyward generates (imported with a known value,
    // extractable, usable for other operations...) is never used, whatever the database says.
    KW_TRY(auto attributes, read_kek_attributes(s, handle));
    KW_TRY_STATUS(check_attributes(kek, attributes));
    remember_kek(kek, handle);
    return handle;
}

Status P11Hsm::check_attributes(const core::KekRef& kek, const core::KekAttributes& a) const {
    if (!check_kek_attributes_) return ok_status();
    auto why = core::kek_spec_mismatch(a, kek.suite, quirks_.modifiable_keks);
    if (!why) return ok_status();
    return Error(Errc::token_mismatch,
                 "KEK " + quoted(kek.label) + " in token " + quoted(identity_.label) +
                     " is not a KEK keyward generated for suite " +
                     std::string(suite_name(kek.suite)) + ": " + *why +
                     "; keyward refuses to use it (inspect the token: see keyward health)");
}

Result<CK_OBJECT_HANDLE> P11Hsm::find_unique_kek(const Session& s, const std::string& label) const {
    KW_TRY(auto handles, find_secret_keys_by_label(s, label));
    if (handles.empty()) {
        std::string note;
        if (auto publics = count_public_objects_by_label(s, label); publics.ok() && *publics > 0) {
            note =
                " (a public object carries that label: someone without the PIN made it, and "
                "keyward ignores it)";
        }
        return Error(Errc::not_found, "no KEK labelled " + quoted(label) + " in token " +
                                          quoted(identity_.label) + note);
    }
    if (handles.size() > 1) {
        return Error(Errc::token_mismatch,
                     std::to_string(handles.size()) + " objects are labelled " + quoted(label) +
                         " in token " + quoted(identity_.label) +
                         "; a KEK label must be unique: inspect the token and remove the stray "
                         "object");
    }
    return handles.front();
}

Result<std::vector<core::KekAttributes>> P11Hsm::find_keks(const std::string& label) {
    KW_TRY(auto lease, this->lease());
    KW_TRY(auto handles, find_secret_keys_by_label(lease.session(), label));
    std::vector<core::KekAttributes> out;
    for (CK_OBJECT_HANDLE h : handles) {
        KW_TRY(auto attributes, read_kek_attributes(lease.session(), h));
        out.push_back(std::move(attributes));
    }
    // Nothing is cached from here: a handle is cached only by kek_handle, once the object's
    // attributes passed for the suite it is used with.
    if (handles.size() != 1) forget_kek(label);
    return out;
}

Result<std::size_t> P11Hsm::count_public_objects(const std::string& label) {
    KW_TRY(auto lease, this->lease());
    return count_public_objects_by_label(lease.session(), label);
}

Result<core::StateLedger> P11Hsm::read_state_ledger() {
    KW_TRY(auto lease, this->lease());
    return p11::read_state_ledger(lease.session());
}

Status P11Hsm::record_state(const core::KekStateEvent& event) {
    KW_TRY(auto lease, this->lease());
    return append_state_event(lease.session(), event);
}

Result<core::KekAttributes> P11Hsm::generate_kek(const std::string& label, Suite suite,
                                                 ByteView id) {
    if (label.empty()) return Error(Errc::usage, "a KEK label cannot be empty");
    KW_TRY_STATUS(require_suite(suite));
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;

    auto t = kek_template(label, suite, id, false);
    auto c =
        KW_P11_CALL(s.functions(), C_GenerateKey, s.handle(), &mech, t.data(), t.size(), &handle);
    const bool refused_unmodifiable = c.rv() == CKR_ATTRIBUTE_READ_ONLY ||
                                      c.rv() == CKR_TEMPLATE_INCONSISTENT ||
                                      c.rv() == CKR_ATTRIBUTE_VALUE_INVALID;
    if (refused_unmodifiable && quirks_.modifiable_keks) {
        // docs/FORMAT.md: CKA_MODIFIABLE = FALSE "where the token allows it".
        t.set_bool(CKA_MODIFIABLE, true);
        c = KW_P11_CALL(s.functions(), C_GenerateKey, s.handle(), &mech, t.data(), t.size(),
                        &handle);
    } else if (refused_unmodifiable) {
        lease.discard();
        return c.error().context("generating KEK " + quoted(label) +
                                 " with CKA_MODIFIABLE = FALSE (this token may refuse "
                                 "non-modifiable keys; keyward will not make a KEK that can "
                                 "be changed unless told to: quirks = auto, modifiable-keks)");
    }
    if (!c.ok()) {
        lease.discard();
        return c.error().context("generating KEK " + quoted(label));
    }
    lease.note_objects_created();

    // SoftHSM's file store only fflush()es: the caller records a version only once the object
    // can be found again, so look for it by label rather than trusting the handle.
    KW_TRY(auto handles, find_secret_keys_by_label(s, label));
    if (handles.empty()) {
        return Error(Errc::hsm_error, "the token generated KEK " + quoted(label) +
                                          " but cannot find it again; do not use it");
    }
    if (handles.size() > 1) {
        ObjectGuard ours(s, handle);  // ours is the extra one: the caller checks before creating
        forget_kek(label);
        return Error(Errc::already_exists,
                     "another object labelled " + quoted(label) + " already exists in token " +
                         quoted(identity_.label) + "; the new KEK was destroyed again");
    }
    KW_TRY(auto attributes, read_kek_attributes(s, handles.front()));
    // Cached only when the token made exactly what was asked; else the first use refuses it.
    const core::KekRef made{label, suite};
    if (check_attributes(made, attributes).ok()) remember_kek(made, handles.front());
    return attributes;
}

Status P11Hsm::destroy_kek(const std::string& label) {
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    forget_kek(label);
    // Never guess which of several same-labelled objects to destroy.
    KW_TRY(auto handle, find_unique_kek(s, label));
    auto c = KW_P11_CALL(s.functions(), C_DestroyObject, s.handle(), handle);
    if (!c.ok()) return c.error().context("destroying KEK " + quoted(label));
    return ok_status();
}

}  // namespace keyward::p11
