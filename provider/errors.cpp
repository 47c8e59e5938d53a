// SPDX-License-Identifier: Apache-2.0
// The provider's errors into the caller's OpenSSL queue, and the core functions they need.
#include <cstdarg>
#include <mutex>
#include <string>

#include "provider.hpp"

namespace keyward::provider {

namespace {

// The core's functions: plain pointers (no non-trivial global object), written once.
std::once_flag core_taken;
OSSL_FUNC_core_get_params_fn* c_get_params = nullptr;
OSSL_FUNC_core_new_error_fn* c_new_error = nullptr;
OSSL_FUNC_core_set_error_debug_fn* c_set_error_debug = nullptr;
OSSL_FUNC_core_vset_error_fn* c_vset_error = nullptr;
OSSL_FUNC_core_set_error_mark_fn* c_set_error_mark = nullptr;
OSSL_FUNC_core_pop_error_to_mark_fn* c_pop_error_to_mark = nullptr;

void set_error(const OSSL_CORE_HANDLE* handle, int reason, const char* fmt, ...) noexcept {
    va_list ap;
    va_start(ap, fmt);
    c_vset_error(handle, static_cast<std::uint32_t>(reason), fmt, ap);
    va_end(ap);
}

void take_core_functions_once(const OSSL_DISPATCH* in) {
    for (; in != nullptr && in->function_id != 0; ++in) {
        switch (in->function_id) {
            case OSSL_FUNC_CORE_GET_PARAMS:
                c_get_params = OSSL_FUNC_core_get_params(in);
                break;
            case OSSL_FUNC_CORE_NEW_ERROR:
                c_new_error = OSSL_FUNC_core_new_error(in);
                break;
            case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
                c_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
                break;
            case OSSL_FUNC_CORE_VSET_ERROR:
                c_vset_error = OSSL_FUNC_core_vset_error(in);
                break;
            case OSSL_FUNC_CORE_SET_ERROR_MARK:
                c_set_error_mark = OSSL_FUNC_core_set_error_mark(in);
                break;
            case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
                c_pop_error_to_mark = OSSL_FUNC_core_pop_error_to_mark(in);
                break;
            default:
                break;
        }
    }
}

}  // namespace

const OSSL_ITEM kReasonStrings[] = {
    {kReasonNotConfigured, const_cast<char*>("keyward is not configured")},
    {kReasonCannotOpen, const_cast<char*>("keyward could not open its token or database")},
    {kReasonUnknownKeyring, const_cast<char*>("unknown keyring")},
    {kReasonBadUri, const_cast<char*>("bad keyward: URI")},
    {kReasonAccessDenied, const_cast<char*>("access denied")},
    {kReasonOperationFailed, const_cast<char*>("keyward operation failed")},
    {kReasonBufferTooSmall, const_cast<char*>("output buffer too small")},
    {kReasonBadParameter, const_cast<char*>("bad parameter")},
    {0, nullptr},
};

bool take_core_functions(const OSSL_DISPATCH* in) {
    // libcrypto hands every provider instance the same functions; writing them once keeps a
    // second instance's init (another library context, another thread) from racing a reader.
    std::call_once(core_taken, take_core_functions_once, in);
    return c_get_params != nullptr;
}

int core_get_params(const OSSL_CORE_HANDLE* handle, OSSL_PARAM params[]) {
    return c_get_params != nullptr ? c_get_params(handle, params) : 0;
}

void raise_error(const ProviderContext* ctx, int reason, const std::string& message,
                 const char* file, int line, const char* func) {
    if (ctx == nullptr || c_new_error == nullptr || c_vset_error == nullptr) return;
    c_new_error(ctx->handle);
    if (c_set_error_debug != nullptr) c_set_error_debug(ctx->handle, file, line, func);
    // "%s": a keyring name with a % in it is text, not a format.
    set_error(ctx->handle, reason, "%s", message.c_str());
}

void raise_error(const ProviderContext* ctx, const Error& error, const char* file, int line,
                 const char* func) {
    int reason = kReasonOperationFailed;
    if (error.code() == Errc::access_denied) reason = kReasonAccessDenied;
    if (error.code() == Errc::not_found) reason = kReasonUnknownKeyring;
    raise_error(ctx, reason, error.message(), file, line, func);
}

void raise_literal(const ProviderContext* ctx, int reason, const char* message) noexcept {
    if (ctx == nullptr || c_new_error == nullptr || c_vset_error == nullptr) return;
    c_new_error(ctx->handle);
    set_error(ctx->handle, reason, "%s", message);
}

void raise_unexpected(const ProviderContext* ctx) noexcept {
    raise_literal(ctx, kReasonOperationFailed,
                  "unexpected failure inside keyward.so (out of memory?)");
}

QuietErrors::QuietErrors(const ProviderContext* ctx)
    : handle_(ctx != nullptr ? ctx->handle : nullptr) {
    if (c_set_error_mark != nullptr) c_set_error_mark(handle_);
}

QuietErrors::~QuietErrors() {
    if (c_pop_error_to_mark != nullptr) c_pop_error_to_mark(handle_);
}

}  // namespace keyward::provider
