// The funnel every C_* call goes through: it calls the function, keeps its name and CK_RV, and
// turns a non-OK CK_RV into an Error whose message names both ("C_WrapKey:
// CKR_KEY_HANDLE_INVALID").
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"

namespace keyward::p11 {

/// "CKR_PIN_INCORRECT" for a known CK_RV, "CKR_VENDOR_DEFINED+0x12" or "CKR_0x1234" otherwise.
std::string rv_name(CK_RV rv);

/// A CK_RV to map to something other than Errc::hsm_error, with an optional message that
/// replaces "C_Fn: CKR_X" (used for "authentication failed", which must say nothing more).
struct RvMapping {
    CK_RV rv;
    Errc code;
    std::string_view message = {};
};

/// The outcome of one C_* call.
class [[nodiscard]] Call {
  public:
    Call(std::string_view function, CK_RV rv) noexcept : function_(function), rv_(rv) {}

    bool ok() const noexcept { return rv_ == CKR_OK; }
    CK_RV rv() const noexcept { return rv_; }
    std::string_view function() const noexcept { return function_; }

    /// Error "C_Fn: CKR_X" with the given code (whatever rv() is).
    Error error(Errc code = Errc::hsm_error) const;

    /// ok_status() for CKR_OK; else the first mapping that names rv(), else Errc::hsm_error.
    Status status(std::initializer_list<RvMapping> mappings = {}) const;

  private:
    std::string_view function_;
    CK_RV rv_;
};

/// Calls fn(args...) and records its name and result. Use through KW_P11_CALL so the name is
/// always the function actually called.
template <typename Fn, typename... Args>
Call call(std::string_view name, Fn fn, Args&&... args) noexcept {
    return Call(name, fn(std::forward<Args>(args)...));
}

/// CK_RVs that unwrap/decrypt return for a blob that fails its integrity check. SoftHSM 2.6
/// reports a tampered KWP blob or a bad GCM tag as CKR_GENERAL_ERROR, so that one counts too
/// (DESIGN.md, Known traps): it is an authentication failure, not a broken HSM.
bool is_integrity_failure(CK_RV rv) noexcept;

/// true for return values that mean the token cannot be used any more (removed, broken,
/// logged out, library finalized): reported as Errc::hsm_unavailable (exit 6), not hsm_error.
bool is_token_lost(CK_RV rv) noexcept;

/// The one message every integrity failure carries (spec/ENVELOPE.md, rules for readers).
inline constexpr std::string_view kAuthFailedMessage = "authentication failed";

/// Error(auth_failed, "authentication failed").
Error auth_failed_error();

}  // namespace keyward::p11

// KW_P11_CALL(functions, C_Login, session, CKU_USER, pin, len) -> keyward::p11::Call
#define KW_P11_CALL(fl, fn, ...) ::keyward::p11::call(#fn, (fl)->fn, __VA_ARGS__)
