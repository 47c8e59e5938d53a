// SPDX-License-Identifier: Apache-2.0
// The C_* call trace for HSM administrators (KEYWARD_DEBUG=p11, or `debug = p11` in keyward.conf):
// one stderr line per call through the KW_P11_CALL funnel, with the function, its slot or
// session, the CK_RV's name and how long the call took (docs/OPERATIONS.md):
//
//   keyward p11: C_WrapKey(session=0x3) -> CKR_OK 0.041 ms
//
// Safe by construction: a line carries the function's name, the value of its first argument
// when that is a slot or session handle, and the CK_RV. No other argument is ever read, so no
// PIN, key value, plaintext or template can reach it.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

#include "p11/pkcs11.hpp"

namespace keyward::p11 {

namespace detail {
// Read on every C_* call: a relaxed load is all the funnel pays while the trace is off.
inline std::atomic<bool> g_call_trace{false};
}  // namespace detail

/// Whether C_* calls are traced to stderr.
inline bool call_trace_enabled() noexcept {
    return detail::g_call_trace.load(std::memory_order_relaxed);
}

/// Turns the trace on for the rest of the process (the module's function list is shared by
/// every connection, so the trace cannot be narrower than the process).
void enable_call_trace() noexcept;

/// Turns it on when KEYWARD_DEBUG names "p11" (read once per process). Module::load calls it
/// before the module's first C_* call.
void enable_call_trace_from_env();

/// What a function's first argument is, by the function's name: a slot ID for the slot and
/// token functions, none for C_Initialize, C_GetSlotList and the like, else a session handle.
enum class CallTarget { none, slot, session };
CallTarget call_target(std::string_view function) noexcept;

/// Writes one trace line to stderr, in a single write(2) so that threads' lines never mix.
/// `first` is the call's first argument when it is a CK_ULONG (slot or session), else nullopt.
void trace_call(std::string_view function, std::optional<CK_ULONG> first, CK_RV rv,
                std::chrono::steady_clock::duration took) noexcept;

/// Writes "keyward p11: <text>" to stderr when the trace is on: the module and its interface,
/// the quirks in effect. `text` must carry nothing secret.
void trace_note(std::string_view text) noexcept;

}  // namespace keyward::p11
