// SPDX-License-Identifier: Apache-2.0
// Key management for the KEYWARD key type: a key names a keyring (and a pinned version). It is
// made only by the store loader (keyward: URIs) and handed over by reference; it holds no key
// material, which never leaves the token.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "provider.hpp"

namespace keyward::provider {

namespace {

// The store loader's reference is the address of its Key pointer; load takes ownership.
void* keymgmt_load(const void* reference, std::size_t size) {
    if (reference == nullptr || size != sizeof(Key*)) return nullptr;
    auto* slot = static_cast<Key**>(const_cast<void*>(reference));
    Key* key = *slot;
    if (key == nullptr || key->magic != Key::kMagic) return nullptr;
    *slot = nullptr;
    return key;
}

void keymgmt_free(void* keydata) {
    release(static_cast<Key*>(keydata));
}

// Says "private key" for every selection: pkeyutl -inkey looks for one, and the key stands
// for a KEK that unwraps as well as wraps.
int keymgmt_has(const void* keydata, int) {
    return keydata != nullptr ? 1 : 0;
}

void* keymgmt_dup(const void* keydata, int) {
    auto* key = static_cast<Key*>(const_cast<void*>(keydata));
    if (key == nullptr) return nullptr;
    key->references.fetch_add(1);
    return key;
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
    OSSL_PARAM_END,
};

const OSSL_PARAM* keymgmt_gettable_params(void*) {
    return kGettable;
}

int keymgmt_get_params(void* keydata, OSSL_PARAM params[]) {
    if (keydata == nullptr) return 0;
    // An AES-256 KEK; max-size bounds every blob and unwrapped key (pkeyutl sizes by it).
    OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != nullptr && OSSL_PARAM_set_int(p, 256) == 0) return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != nullptr && OSSL_PARAM_set_int(p, 256) == 0) return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != nullptr && OSSL_PARAM_set_int(p, kMaxSize) == 0) return 0;
    return 1;
}

}  // namespace

const OSSL_DISPATCH kKeymgmtFunctions[] = {
    {OSSL_FUNC_KEYMGMT_LOAD, dispatch_fn(keymgmt_load)},
    {OSSL_FUNC_KEYMGMT_FREE, dispatch_fn(keymgmt_free)},
    {OSSL_FUNC_KEYMGMT_HAS, dispatch_fn(keymgmt_has)},
    {OSSL_FUNC_KEYMGMT_DUP, dispatch_fn(keymgmt_dup)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, dispatch_fn(keymgmt_get_params)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, dispatch_fn(keymgmt_gettable_params)},
    {0, nullptr},
};

}  // namespace keyward::provider
