// SPDX-License-Identifier: Apache-2.0
// The KEM operation on KEYWARD keys ("generate data key"): EVP_PKEY_encapsulate returns a fresh
// 32-byte data key from the token's RNG and its kwk1 blob; EVP_PKEY_decapsulate returns the data
// key inside a blob. OpenSSL 3.0 passes no buffer sizes to a KEM: the lengths the caller sets
// before the call (from the size query, as EVP_PKEY_encapsulate(3) shows) are the capacities.
// OpenSSL 3.0's pkeyutl has no -encap: this is for the C API.
#include <openssl/params.h>

#include <cstring>
#include <new>

#include "provider.hpp"

namespace keyward::provider {

namespace {

constexpr std::size_t kDataKeySize = 32;  // every suite's default; suite 2's only size

bool fits(OperationContext* ctx, std::size_t need, std::size_t room, const char* what) {
    if (need <= room) return true;
    KW_RAISE(ctx->provider, kReasonBufferTooSmall,
             std::string(what) + " needs " + std::to_string(need) + " bytes, the buffer has " +
                 std::to_string(room));
    return false;
}

int kem_encapsulate(void* vctx, unsigned char* out, std::size_t* outlen, unsigned char* secret,
                    std::size_t* secretlen) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr || outlen == nullptr || secretlen == nullptr) {
        return 0;
    }
    try {
        if (out == nullptr) {
            *outlen = kMaxSize;  // a size query: no token work, no audit entry
            *secretlen = kDataKeySize;
            return 1;
        }
        if (secret == nullptr) return 0;
        // Room first: a data key the caller cannot receive is never made.
        if (!fits(ctx, longest_blob(*ctx->key, kDataKeySize), *outlen, "the data key blob") ||
            !fits(ctx, kDataKeySize, *secretlen, "the data key")) {
            return 0;
        }
        Keyward* kw = ctx->provider->connect();
        if (kw == nullptr) return 0;
        Result<DataKey> made = Error(Errc::failed, "not made");
        {
            QuietErrors quiet(ctx->provider);
            made = kw->generate_data_key(ctx->key->keyring, kDataKeySize, ctx->key->version);
        }
        if (!made.ok()) {
            KW_RAISE(ctx->provider, made.error());
            return 0;
        }
        if (!fits(ctx, made->blob.size(), *outlen, "the data key blob") ||
            !fits(ctx, made->key.size(), *secretlen, "the data key")) {
            return 0;
        }
        std::memcpy(out, made->blob.data(), made->blob.size());
        *outlen = made->blob.size();
        std::memcpy(secret, made->key.data(), made->key.size());
        *secretlen = made->key.size();
        return 1;
    } catch (...) {
        raise_unexpected(ctx->provider);  // no exception crosses into libcrypto
        return 0;
    }
}

// 3.0 gives no buffer size here: the length set before the call is the capacity.
int kem_decapsulate(void* vctx, unsigned char* out, std::size_t* outlen, const unsigned char* in,
                    std::size_t inlen) {
    if (outlen == nullptr) return 0;
    return unwrap_into(static_cast<OperationContext*>(vctx), out, outlen, *outlen, in, inlen);
}

// The KEM has no parameters: its blobs are always kwk1. keyward-format (the cipher's) is
// refused rather than ignored, so that a caller asking for raw output never gets a blob.
int kem_init(void* vctx, void* provkey, const OSSL_PARAM params[]) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    if (ctx != nullptr && params != nullptr &&
        OSSL_PARAM_locate_const(params, kFormatParam) != nullptr) {
        raise_literal(ctx->provider, kReasonBadParameter,
                      "the KEM has no keyward-format: its blobs are always kwk1");
        return 0;
    }
    return operation_init(vctx, provkey, nullptr);
}

}  // namespace

const OSSL_DISPATCH kKemFunctions[] = {
    {OSSL_FUNC_KEM_NEWCTX, dispatch_fn(operation_newctx)},
    {OSSL_FUNC_KEM_FREECTX, dispatch_fn(operation_freectx)},
    {OSSL_FUNC_KEM_ENCAPSULATE_INIT, dispatch_fn(kem_init)},
    {OSSL_FUNC_KEM_ENCAPSULATE, dispatch_fn(kem_encapsulate)},
    {OSSL_FUNC_KEM_DECAPSULATE_INIT, dispatch_fn(kem_init)},
    {OSSL_FUNC_KEM_DECAPSULATE, dispatch_fn(kem_decapsulate)},
    {0, nullptr},
};

}  // namespace keyward::provider
