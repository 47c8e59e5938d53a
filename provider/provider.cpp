// SPDX-License-Identifier: Apache-2.0
// keyward.so's entry point: the OpenSSL 3.0 provider base (docs/PROVIDER.md). It reads its
// configuration from the provider's openssl.cnf section and answers OpenSSL's parameter
// queries. It never touches the token here: SoftHSM calls back into libcrypto and can recurse
// or hang inside OpenSSL's own initialisation (DESIGN.md's provider traps), so the token is
// opened lazily on the first key operation. No non-trivial global C++ object exists, and no
// C++ exception leaves a dispatch function.
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "keyward/version.hpp"

namespace {

// What the core gives the provider: plain function pointers, so nothing runs at load or exit.
OSSL_FUNC_core_get_params_fn* c_get_params = nullptr;

/// The provider's context: where the keyward configuration is and which principal the
/// application declared (grants are advisory in-process: docs/ACCESS.md). Owned by the core
/// between OSSL_provider_init and teardown.
struct ProviderContext {
    const OSSL_CORE_HANDLE* handle = nullptr;
    char* config_path = nullptr;  ///< keyward-config from openssl.cnf, else $KEYWARD_CONFIG
    char* principal = nullptr;    ///< principal from openssl.cnf; null: the config's
};

char* copy_of(const char* text) {
    if (text == nullptr || *text == '\0') return nullptr;
    const std::size_t n = std::strlen(text) + 1;
    auto* out = static_cast<char*>(std::malloc(n));
    if (out != nullptr) std::memcpy(out, text, n);
    return out;
}

void free_context(ProviderContext* ctx) noexcept {
    if (ctx == nullptr) return;
    std::free(ctx->config_path);
    std::free(ctx->principal);
    delete ctx;
}

void provider_teardown(void* provctx) {
    // Plain memory only: never C_Finalize, never dlclose (DESIGN.md).
    free_context(static_cast<ProviderContext*>(provctx));
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, nullptr, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, nullptr, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, nullptr, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* provider_gettable_params(void*) {
    return kGettable;
}

int provider_get_params(void*, OSSL_PARAM params[]) {
    OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != nullptr && OSSL_PARAM_set_utf8_ptr(p, "keyward: HSM-held KEKs") == 0) return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != nullptr && OSSL_PARAM_set_utf8_ptr(p, keyward::version()) == 0) return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != nullptr && OSSL_PARAM_set_utf8_ptr(p, keyward::version()) == 0) return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != nullptr && OSSL_PARAM_set_int(p, 1) == 0) return 0;
    return 1;
}

const OSSL_ALGORITHM* provider_query_operation(void*, int, int* no_store) {
    // The key management, store, asymmetric cipher and KEM operations come with the rest of
    // issue 12; until then the provider loads, reports itself and offers no algorithm.
    *no_store = 0;
    return nullptr;
}

const OSSL_DISPATCH kProviderDispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, reinterpret_cast<void (*)()>(provider_teardown)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, reinterpret_cast<void (*)()>(provider_gettable_params)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, reinterpret_cast<void (*)()>(provider_get_params)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<void (*)()>(provider_query_operation)},
    {0, nullptr},
};

}  // namespace

// Exported (the version script keeps it the only one); hidden visibility is the default.
extern "C" __attribute__((visibility("default"))) int OSSL_provider_init(
    const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
    void** provctx) {
    for (; in != nullptr && in->function_id != 0; ++in) {
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            c_get_params = OSSL_FUNC_core_get_params(in);
    }
    if (c_get_params == nullptr) return 0;
    // Every key of the provider's openssl.cnf section is a parameter here (provider_conf.c).
    const char* config_path = nullptr;
    const char* principal = nullptr;
    OSSL_PARAM wanted[] = {
        OSSL_PARAM_construct_utf8_ptr("keyward-config", const_cast<char**>(&config_path), 0),
        OSSL_PARAM_construct_utf8_ptr("principal", const_cast<char**>(&principal), 0),
        OSSL_PARAM_construct_end(),
    };
    if (c_get_params(handle, wanted) == 0) return 0;
    auto* ctx = new (std::nothrow) ProviderContext;
    if (ctx == nullptr) return 0;
    ctx->handle = handle;
    ctx->config_path =
        copy_of(config_path != nullptr ? config_path : std::getenv("KEYWARD_CONFIG"));
    ctx->principal = copy_of(principal);
    *out = kProviderDispatch;
    *provctx = ctx;
    return 1;
}
