// SPDX-License-Identifier: Apache-2.0
// The C_* trace: switching it on, and writing its lines (see call_trace.hpp for the format and
// what a line may carry).
#include "p11/call_trace.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>

#include "core/debug_channels.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

constexpr CK_RV kVendorDefined = CK_RV{1} << 31;

// Functions whose first argument is a slot ID, and those that take neither slot nor session.
constexpr std::array<std::string_view, 7> kSlotFunctions = {
    "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo",
    "C_InitToken",   "C_OpenSession",  "C_CloseAllSessions"};
constexpr std::array<std::string_view, 8> kModuleFunctions = {
    "C_Initialize",  "C_Finalize",         "C_GetInfo",      "C_GetFunctionList",
    "C_GetSlotList", "C_WaitForSlotEvent", "C_GetInterface", "C_GetInterfaceList"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) noexcept {
    for (auto n : names) {
        if (n == name) return true;
    }
    return false;
}

// One write(2): stderr is unbuffered, and lines of threads tracing at once must not mix.
void write_line(const char* text, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t n = ::write(STDERR_FILENO, text, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a trace never fails the call it traces
        text += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Writes what snprintf put into `line` (n as it returned), ending a line that had to be cut
// with a newline all the same.
void write_formatted(char* line, std::size_t capacity, int n) noexcept {
    if (n <= 0) return;
    std::size_t size = static_cast<std::size_t>(n);
    if (size >= capacity) {
        size = capacity - 1;
        line[size - 1] = '\n';
    }
    write_line(line, size);
}

}  // namespace

void enable_call_trace() noexcept {
    detail::g_call_trace.store(true, std::memory_order_relaxed);
}

void enable_call_trace_from_env() {
    if (core::debug_channels_from_env().p11) enable_call_trace();  // the variable is read once
}

CallTarget call_target(std::string_view function) noexcept {
    if (contains(kSlotFunctions, function)) return CallTarget::slot;
    if (contains(kModuleFunctions, function)) return CallTarget::none;
    return CallTarget::session;
}

void trace_call(std::string_view function, std::optional<CK_ULONG> first, CK_RV rv,
                std::chrono::steady_clock::duration took) noexcept {
    char target[48] = "";
    switch (first ? call_target(function) : CallTarget::none) {
        case CallTarget::slot:
            std::snprintf(target, sizeof target, "slot=%lu", *first);
            break;
        case CallTarget::session:
            std::snprintf(target, sizeof target, "session=0x%lx", *first);
            break;
        case CallTarget::none:
            break;
    }
    char result[48];
    if (const char* name = known_rv_name(rv)) {
        std::snprintf(result, sizeof result, "%s", name);
    } else if ((rv & kVendorDefined) != 0) {
        std::snprintf(result, sizeof result, "CKR_VENDOR_DEFINED+0x%lx", rv & ~kVendorDefined);
    } else {
        std::snprintf(result, sizeof result, "CKR_0x%lx", rv);
    }
    const double ms = std::chrono::duration<double, std::milli>(took).count();
    char line[192];
    const int n =
        std::snprintf(line, sizeof line, "keyward p11: %.*s(%s) -> %s %.3f ms\n",
                      static_cast<int>(function.size()), function.data(), target, result, ms);
    write_formatted(line, sizeof line, n);
}

void trace_note(std::string_view text) noexcept {
    if (!call_trace_enabled()) return;
    char line[512];
    const int n = std::snprintf(line, sizeof line, "keyward p11: %.*s\n",
                                static_cast<int>(text.size()), text.data());
    write_formatted(line, sizeof line, n);
}

}  // namespace keyward::p11
