// SPDX-License-Identifier: Apache-2.0
// The context the asymmetric-cipher and KEM operations share (see provider.hpp).
#include <new>

#include "provider.hpp"

namespace keyward::provider {

void* operation_newctx(void* provctx) {
    auto* ctx = new (std::nothrow) OperationContext;
    if (ctx != nullptr) ctx->provider = static_cast<ProviderContext*>(provctx);
    return ctx;
}

void operation_freectx(void* vctx) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    if (ctx == nullptr) return;
    release(ctx->key);
    delete ctx;
}

int operation_init(void* vctx, void* provkey, const OSSL_PARAM[]) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    auto* key = static_cast<Key*>(provkey);
    if (ctx == nullptr || key == nullptr || key->magic != Key::kMagic) return 0;
    key->references.fetch_add(1);
    release(ctx->key);
    ctx->key = key;
    return 1;
}

}  // namespace keyward::provider
