// SPDX-License-Identifier: Apache-2.0
// The asymmetric-cipher operation on KEYWARD keys: EVP_PKEY_encrypt wraps the caller's data
// key into a kwk1 data key blob (docs/FORMAT.md) under the keyring's active version, in the
// token; EVP_PKEY_decrypt unwraps a blob under the version it names. Size queries (a NULL
// output buffer) answer an upper bound without touching the token.
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
        const std::size_t need = longest_blob(*ctx->key, inlen);
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
            auto pinned = check_wrap_version(*kw, *ctx->key);
            blob = pinned.ok() ? kw->wrap_data_key(ctx->key->keyring, ByteView(in, inlen))
                               : Result<Bytes>(pinned.error());
        }
        if (!blob.ok()) {
            KW_RAISE(ctx->provider, blob.error());
            return 0;
        }
        return deliver(ctx, *blob, out, outlen, outsize);
    } catch (...) {
        return 0;  // no exception crosses into libcrypto
    }
}

int cipher_decrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                   const unsigned char* in, std::size_t inlen) {
    return unwrap_into(static_cast<OperationContext*>(vctx), out, outlen, outsize, in, inlen);
}

}  // namespace

const OSSL_DISPATCH kCipherFunctions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, dispatch_fn(operation_newctx)},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, dispatch_fn(operation_freectx)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, dispatch_fn(operation_init)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, dispatch_fn(cipher_encrypt)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, dispatch_fn(operation_init)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, dispatch_fn(cipher_decrypt)},
    {0, nullptr},
};

}  // namespace keyward::provider
