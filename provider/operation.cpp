// SPDX-License-Identifier: Apache-2.0
// The context the asymmetric-cipher and KEM operations share (see provider.hpp).
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include <openssl/params.h>

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

int operation_init(void* vctx, void* provkey, const OSSL_PARAM params[]) {
    auto* ctx = static_cast<OperationContext*>(vctx);
    auto* key = static_cast<Key*>(provkey);
    if (ctx == nullptr || key == nullptr || key->magic != Key::kMagic) return 0;
    key->references.fetch_add(1);
    release(ctx->key);
    ctx->key = key;
    ctx->raw = false;
    return set_format(ctx, params);
}

int set_format(OperationContext* ctx, const OSSL_PARAM params[]) {
    if (ctx == nullptr) return 0;
    if (params == nullptr) return 1;
    const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, kFormatParam);
    if (p == nullptr) return 1;
    // Copied into a bounded, terminated buffer: the caller's string need not be terminated.
    char value[8] = {};
    char* into = value;
    if (p->data_type != OSSL_PARAM_UTF8_STRING ||
        OSSL_PARAM_get_utf8_string(p, &into, sizeof value) == 0) {
        raise_literal(ctx->provider, kReasonBadParameter,
                      "keyward-format is the string kwk1 or raw");
        return 0;
    }
    const std::string_view format(value);
    if (format != "kwk1" && format != "raw") {
        try {
            KW_RAISE(ctx->provider, kReasonBadParameter,
                     "keyward-format is kwk1 or raw, not \"" + std::string(format) + "\"");
        } catch (...) {
            raise_unexpected(ctx->provider);
        }
        return 0;
    }
    if (format == "raw" && ctx->key != nullptr && ctx->key->version == 0) {
        // Raw output names no version, so the key must pin one, both ways: refused here, once,
        // rather than in each operation (parameters are set after the key, in init or later).
        try {
            KW_RAISE(ctx->provider, kReasonBadParameter, raw_needs_version(*ctx->key));
        } catch (...) {
            raise_unexpected(ctx->provider);
        }
        return 0;
    }
    ctx->raw = format == "raw";
    return 1;
}

// Copies out to the caller's buffer, or says how much room it needs.
int deliver(OperationContext* ctx, ByteView result, unsigned char* out, std::size_t* outlen,
            std::size_t outsize) {
    if (result.size() > outsize) {
        KW_RAISE(ctx->provider, kReasonBufferTooSmall,
                 "the output needs " + std::to_string(result.size()) + " bytes, the buffer has " +
                     std::to_string(outsize));
        return 0;
    }
    std::memcpy(out, result.data(), result.size());
    *outlen = result.size();
    return 1;
}

int unwrap_into(OperationContext* ctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                const unsigned char* in, std::size_t inlen) {
    if (ctx == nullptr || ctx->key == nullptr || outlen == nullptr) return 0;
    try {
        if (out == nullptr) {
            *outlen = 64;  // the longest data key docs/FORMAT.md allows; no token work
            return 1;
        }
        // Room first: no unwrap (nor audit entry) for a key that cannot be delivered.
        const std::size_t longest = longest_unwrapped(ByteView(in, inlen), ctx->raw);
        if (longest > outsize) {
            KW_RAISE(ctx->provider, kReasonBufferTooSmall,
                     "the data key may need " + std::to_string(longest) +
                         " bytes, the buffer has " + std::to_string(outsize));
            return 0;
        }
        Keyward* kw = ctx->provider->connect();
        if (kw == nullptr) return 0;
        Result<SecretBytes> key = Error(Errc::failed, "not unwrapped");
        {
            QuietErrors quiet(ctx->provider);
            if (ctx->raw) {
                key = kw->unwrap_key_raw(ctx->key->keyring, ctx->key->version, ByteView(in, inlen));
            } else {
                auto blob = blob_for(*ctx->key, ByteView(in, inlen));
                key = blob.ok() ? kw->decrypt_data_key(*blob) : Result<SecretBytes>(blob.error());
            }
        }
        if (!key.ok()) {
            KW_RAISE(ctx->provider, key.error());
            return 0;
        }
        return deliver(ctx, ByteView(key->data(), key->size()), out, outlen, outsize);
    } catch (...) {
        raise_unexpected(ctx->provider);  // no exception crosses into libcrypto
        return 0;
    }
}

}  // namespace keyward::provider
