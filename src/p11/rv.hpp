// SPDX-License-Identifier: Apache-2.0
// The funnel every C_* call goes through: it calls the function, keeps its name and CK_RV, and
// turns a non-OK CK_RV into an Error whose message names both ("C_WrapKey:
// CKR_KEY_HANDLE_INVALID"). It is also where the C_* trace hooks in (call_trace.hpp).
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keyward/error.hpp"
#include "p11/call_counts.hpp"
#include "p11/call_trace.hpp"
#include "p11/pkcs11.hpp"

namespace keyward::p11 {

/// "CKR_PIN_INCORRECT" for a known CK_RV, "CKR_VENDOR_DEFINED+0x12" or "CKR_0x1234" otherwise.
std::string rv_name(CK_RV rv);

/// The standard name of a known CK_RV, nullptr otherwise (no allocation: for the trace).
const char* known_rv_name(CK_RV rv) noexcept;

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

namespace detail {

// The first argument when it is a CK_ULONG (a slot ID or session handle); nothing else is read.
inline std::optional<CK_ULONG> first_handle() noexcept {
    return std::nullopt;
}
template <typename First, typename... Rest>
std::optional<CK_ULONG> first_handle(const First& first, const Rest&...) noexcept {
    if constexpr (std::is_same_v<std::remove_cvref_t<First>, CK_ULONG>) {
        return first;
    } else {
        return std::nullopt;
    }
}

// Out of line and cold: the traced path costs the untraced one nothing but a branch.
template <typename Fn, typename... Args>
[[gnu::cold, gnu::noinline]] CK_RV traced_call(std::string_view name, Fn fn,
                                               Args&&... args) noexcept {
    const std::optional<CK_ULONG> first = first_handle(args...);
    const auto start = std::chrono::steady_clock::now();
    const CK_RV rv = fn(std::forward<Args>(args)...);
    trace_call(name, first, rv, std::chrono::steady_clock::now() - start);
    return rv;
}

}  // namespace detail

/// Calls fn(args...) and records its name and result. Use through KW_P11_CALL so the name is
/// always the function actually called.
template <typename Fn, typename... Args>
Call call(std::string_view name, Fn fn, Args&&... args) noexcept {
    CK_RV rv;
    if (call_trace_enabled()) [[unlikely]] {
        rv = detail::traced_call(name, fn, std::forward<Args>(args)...);
    } else {
        rv = fn(std::forward<Args>(args)...);
    }
    count_call(name, rv);
    return Call(name, rv);
}

/// CK_RVs that unwrap/decrypt return for a blob that fails its integrity check. SoftHSM 2.6
/// reports a tampered KWP blob or a bad GCM tag as CKR_GENERAL_ERROR, so that one counts too
/// (docs/ARCHITECTURE.md, "Token behaviour measured here"): it is an authentication failure, not a
/// broken HSM.
bool is_integrity_failure(CK_RV rv) noexcept;

/// true for return values that mean the token cannot be used any more (removed, broken,
/// logged out, library finalized): reported as Errc::hsm_unavailable (exit 6), not hsm_error.
bool is_token_lost(CK_RV rv) noexcept;

/// The one message every integrity failure carries (docs/FORMAT.md, rules for readers).
inline constexpr std::string_view kAuthFailedMessage = "authentication failed";

/// Error(auth_failed, "authentication failed").
Error auth_failed_error();

}  // namespace keyward::p11

// KW_P11_CALL(functions, C_Login, session, CKU_USER, pin, len) -> keyward::p11::Call
#define KW_P11_CALL(fl, fn, ...) ::keyward::p11::call(#fn, (fl)->fn, __VA_ARGS__)
