// SPDX-License-Identifier: Apache-2.0
// The asymmetric-cipher operation on KEYWARD keys: EVP_PKEY_encrypt wraps the caller's data
// key into a kwk1 data key blob (docs/FORMAT.md) under the keyring's active version, in the
// token; EVP_PKEY_decrypt unwraps a blob under the version it names. keyward-format=raw gives
// and takes raw RFC 5649 instead, under the URI's pinned version (raw output names none). Size
// queries (a NULL output buffer) answer an upper bound without touching the token.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <new>

#include "provider.hpp"

namespace keyward::provider {

namespace {

int cipher_encrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                   const unsigned char* in, std::size_t inlen) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr || outlen == nullptr) return 0;
    try {
        if (out == nullptr) {
            *outlen = kMaxSize;  // a size query: no token work, no audit entry
            return 1;
        }
        // Room first: no token work (nor audit entry) for a result that cannot be delivered.
        const std::size_t need = ctx->raw ? raw_wrap_size(inlen) : longest_blob(*ctx->key, inlen);
        if (outsize < need) {
            KW_RAISE(ctx->provider, kReasonBufferTooSmall,
                     "the blob may need " + std::to_string(need) + " bytes, the buffer has " +
                         std::to_string(outsize));
            return 0;
        }
        Keyward* kw = ctx->provider->connect();
        if (kw == nullptr) return 0;
        Result<Bytes> blob = Error(Errc::failed, "not wrapped");
        {
            QuietErrors quiet(ctx->provider);
            // A pinned version is passed down: the library wraps under it or refuses, even when
            // a rotation lands during the call.
            blob =
                ctx->raw
                    ? kw->wrap_key_raw(ctx->key->keyring, ctx->key->version, ByteView(in, inlen))
                    : kw->wrap_data_key(ctx->key->keyring, ByteView(in, inlen), ctx->key->version);
        }
        if (!blob.ok()) {
            KW_RAISE(ctx->provider, blob.error());
            return 0;
        }
        return deliver(ctx, *blob, out, outlen, outsize);
    } catch (...) {
        raise_unexpected(ctx->provider);  // no exception crosses into libcrypto
        return 0;
    }
}

int cipher_decrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                   const unsigned char* in, std::size_t inlen) {
    return unwrap_into(static_cast<OperationContext*>(vctx), out, outlen, outsize, in, inlen);
}

const OSSL_PARAM kSettable[] = {
    OSSL_PARAM_utf8_string(kFormatParam, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* cipher_settable_ctx_params(void*, void*) {
    return kSettable;
}

int cipher_set_ctx_params(void* vctx, const OSSL_PARAM params[]) {
    return set_format(static_cast<OperationContext*>(vctx), params);
}

int cipher_get_ctx_params(void* vctx, OSSL_PARAM params[]) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    if (ctx == nullptr) return 0;
    OSSL_PARAM* p = OSSL_PARAM_locate(params, kFormatParam);
    if (p != nullptr && OSSL_PARAM_set_utf8_string(p, ctx->raw ? "raw" : "kwk1") == 0) return 0;
    return 1;
}

const OSSL_PARAM* cipher_gettable_ctx_params(void*, void*) {
    return kSettable;
}

}  // namespace

const OSSL_DISPATCH kCipherFunctions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, dispatch_fn(operation_newctx)},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, dispatch_fn(operation_freectx)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, dispatch_fn(operation_init)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, dispatch_fn(cipher_encrypt)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, dispatch_fn(operation_init)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, dispatch_fn(cipher_decrypt)},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, dispatch_fn(cipher_set_ctx_params)},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, dispatch_fn(cipher_settable_ctx_params)},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, dispatch_fn(cipher_get_ctx_params)},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, dispatch_fn(cipher_gettable_ctx_params)},
    {0, nullptr},
};

}  // namespace keyward::provider
