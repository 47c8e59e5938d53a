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
#include <new>

#include "keyward/version.hpp"
#include "provider.hpp"

namespace {

using keyward::provider::ProviderContext;

void provider_teardown(void* provctx) {
    // Plain memory only. The keyward handle stays open on purpose: closing it here, inside
    // OPENSSL_cleanup, would touch the token (DESIGN.md); its entries are already written.
    delete static_cast<ProviderContext*>(provctx);
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

const OSSL_ALGORITHM kKeymgmt[] = {
    {keyward::provider::kKeyType, "provider=keyward", keyward::provider::kKeymgmtFunctions,
     "a keyward keyring (its KEKs stay in the token)"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kStore[] = {
    {"keyward", "provider=keyward", keyward::provider::kStoreFunctions, "keyward:NAME keyrings"},
    {nullptr, nullptr, nullptr, nullptr},
};
// Named as the key type: without query_operation_name OpenSSL fetches by the keymgmt's name.
const OSSL_ALGORITHM kCipher[] = {
    {keyward::provider::kKeyType, "provider=keyward", keyward::provider::kCipherFunctions,
     "wrap and unwrap data keys in the token"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM kKem[] = {
    {keyward::provider::kKeyType, "provider=keyward", keyward::provider::kKemFunctions,
     "a fresh data key and its blob, made in the token"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* provider_query_operation(void*, int operation, int* no_store) {
    *no_store = 0;
    switch (operation) {
        case OSSL_OP_KEYMGMT:
            return kKeymgmt;
        case OSSL_OP_STORE:
            return kStore;
        case OSSL_OP_ASYM_CIPHER:
            return kCipher;
        case OSSL_OP_KEM:
            return kKem;
        default:
            return nullptr;
    }
}

const OSSL_ITEM* provider_reason_strings(void*) {
    return keyward::provider::kReasonStrings;
}

const OSSL_DISPATCH kProviderDispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, reinterpret_cast<void (*)()>(provider_teardown)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, reinterpret_cast<void (*)()>(provider_gettable_params)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, reinterpret_cast<void (*)()>(provider_get_params)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<void (*)()>(provider_query_operation)},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, reinterpret_cast<void (*)()>(provider_reason_strings)},
    {0, nullptr},
};

}  // namespace

// Exported (the version script keeps it the only one); hidden visibility is the default.
extern "C" __attribute__((visibility("default"))) int OSSL_provider_init(
    const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
    void** provctx) {
    bool have_core = false;
    try {
        have_core = keyward::provider::take_core_functions(in);
    } catch (...) {  // std::call_once may throw std::system_error
        return 0;
    }
    if (!have_core) return 0;
    // Every key of the provider's openssl.cnf section is a parameter here (provider_conf.c).
    const char* config_path = nullptr;
    const char* principal = nullptr;
    OSSL_PARAM wanted[] = {
        OSSL_PARAM_construct_utf8_ptr("keyward-config", const_cast<char**>(&config_path), 0),
        OSSL_PARAM_construct_utf8_ptr("principal", const_cast<char**>(&principal), 0),
        OSSL_PARAM_construct_end(),
    };
    if (keyward::provider::core_get_params(handle, wanted) == 0) return 0;
    auto* ctx = new (std::nothrow) ProviderContext;
    if (ctx == nullptr) return 0;
    try {
        ctx->handle = handle;
        const char* from_env = std::getenv("KEYWARD_CONFIG");
        ctx->config_path = config_path != nullptr ? config_path
                           : from_env != nullptr  ? from_env
                                                  : "";
        ctx->principal = principal != nullptr ? principal : "";
    } catch (...) {
        delete ctx;
        return 0;
    }
    *out = kProviderDispatch;
    *provctx = ctx;
    return 1;
}
