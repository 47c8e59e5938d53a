// SPDX-License-Identifier: Apache-2.0
// The store loader for keyward: URIs: "keyward:NAME" (the keyring's active version to wrap,
// the version a blob names to unwrap) and "keyward:NAME;version=N". open() only parses, so
// that OpenSSL's file loader, tried first, leaves no noise once keyward's one error is raised;
// load() asks keyward whether the keyring exists (and the principal may see it).
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>

#include <memory>
#include <string>

#include "provider.hpp"

namespace keyward::provider {

namespace {

struct Loader {
    ProviderContext* provider = nullptr;
    std::string keyring;
    std::uint32_t version = 0;
    Key* key = nullptr;  // handed to keymgmt_load by reference
    bool done = false;
};

void* store_open_unguarded(void* provctx, const char* uri) {
    auto* provider = static_cast<ProviderContext*>(provctx);
    std::string text = uri != nullptr ? uri : "";
    constexpr std::string_view kScheme = "keyward:";
    if (text.rfind(kScheme, 0) != 0) return nullptr;
    text.erase(0, kScheme.size());
    auto owned = std::make_unique<Loader>();  // freed on every early return and exception
    Loader* loader = owned.get();
    loader->provider = provider;
    const auto semi = text.find(';');
    loader->keyring = text.substr(0, semi);
    if (semi != std::string::npos) {
        const std::string attr = text.substr(semi + 1);
        constexpr std::string_view kVersion = "version=";
        const std::string digits =
            attr.rfind(kVersion, 0) == 0 ? attr.substr(kVersion.size()) : std::string();
        if (digits.empty() || digits.size() > 9 ||
            digits.find_first_not_of("0123456789") != std::string::npos || digits == "0") {
            KW_RAISE(
                provider, kReasonBadUri,
                "keyward: URI \"keyward:" + text + "\": the only attribute is version=N (N >= 1)");
            return nullptr;
        }
        loader->version = static_cast<std::uint32_t>(std::stoul(digits));
    }
    if (loader->keyring.empty()) {
        KW_RAISE(provider, kReasonBadUri, "keyward: URI without a keyring name (keyward:NAME)");
        return nullptr;
    }
    return owned.release();
}

const OSSL_PARAM* store_settable_ctx_params(void*) {
    static const OSSL_PARAM kSettable[] = {OSSL_PARAM_END};
    return kSettable;
}

// OpenSSL 3.0 calls this without a NULL check whenever it has parameters ("expect",
// "properties", "input-type"): accept and ignore them.
int store_set_ctx_params(void*, const OSSL_PARAM[]) {
    return 1;
}

int store_load_unguarded(void* ctx, OSSL_CALLBACK* object_cb, void* object_cbarg) {
    auto* loader = static_cast<Loader*>(ctx);
    loader->done = true;  // one object, or one error: never loop (pkeyutl reads until eof)
    Keyward* kw = loader->provider->connect();
    if (kw == nullptr) return 0;
    Result<KeyringInfo> ring = Error(Errc::failed, "not asked");
    {
        QuietErrors quiet(loader->provider);
        ring = kw->keyring(loader->keyring);
    }
    if (!ring.ok()) {
        KW_RAISE(
            loader->provider,
            ring.error().code() == Errc::not_found ? kReasonUnknownKeyring : kReasonOperationFailed,
            "keyward:" + loader->keyring + ": " + ring.error().message());
        return 0;
    }
    if (loader->version != 0) {
        bool known = false;
        for (const auto& v : ring->versions) known = known || v.version == loader->version;
        if (!known) {
            KW_RAISE(loader->provider, kReasonUnknownKeyring,
                     "keyring " + loader->keyring + " has no version " +
                         std::to_string(loader->version));
            return 0;
        }
    }
    auto key = std::make_unique<Key>();  // owned until the loader holds it
    key->provider = loader->provider;
    key->keyring = loader->keyring;
    key->version = loader->version;
    loader->key = key.release();
    int type = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type),
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, const_cast<char*>(kKeyType),
                                         0),
        OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &loader->key,
                                          sizeof(loader->key)),
        OSSL_PARAM_construct_end(),
    };
    return object_cb(params, object_cbarg);
}

// No exception crosses into libcrypto.
void* store_open(void* provctx, const char* uri) {
    try {
        return store_open_unguarded(provctx, uri);
    } catch (...) {
        raise_unexpected(static_cast<ProviderContext*>(provctx));
        return nullptr;
    }
}

int store_load(void* ctx, OSSL_CALLBACK* object_cb, void* object_cbarg, OSSL_PASSPHRASE_CALLBACK*,
               void*) {
    try {
        return store_load_unguarded(ctx, object_cb, object_cbarg);
    } catch (...) {
        auto* loader = static_cast<Loader*>(ctx);
        loader->done = true;
        raise_unexpected(loader->provider);
        return 0;
    }
}

int store_eof(void* ctx) {
    return static_cast<Loader*>(ctx)->done ? 1 : 0;
}

int store_close(void* ctx) {
    auto* loader = static_cast<Loader*>(ctx);
    release(loader->key);  // still ours when keymgmt_load never took it
    delete loader;
    return 1;
}

}  // namespace

const OSSL_DISPATCH kStoreFunctions[] = {
    {OSSL_FUNC_STORE_OPEN, dispatch_fn(store_open)},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, dispatch_fn(store_settable_ctx_params)},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, dispatch_fn(store_set_ctx_params)},
    {OSSL_FUNC_STORE_LOAD, dispatch_fn(store_load)},
    {OSSL_FUNC_STORE_EOF, dispatch_fn(store_eof)},
    {OSSL_FUNC_STORE_CLOSE, dispatch_fn(store_close)},
    {0, nullptr},
};

}  // namespace keyward::provider
