/* SPDX-License-Identifier: Apache-2.0 */
/* An OpenSSL application that knows nothing of keyward but its provider: loads default and
 * keyward, fetches keyward:NAME through OSSL_STORE, encapsulates (a fresh data key and its
 * blob), decapsulates the blob, and checks both keys match. Prints "kem ok" and exits 0, or one
 * line naming what failed and exits 1. (OpenSSL 3.0's pkeyutl has no -encap.)
 *
 * usage: kem_client PROVIDER_DIR URI */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include <stdio.h>
#include <string.h>

static int fail(const char* what) {
    unsigned long e = ERR_peek_last_error();
    char buf[512] = "";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    printf("kem failed: %s: %s\n", what, buf);
    return 1;
}

int main(int argc, char** argv) {
    if (argc != 3) return fail("usage: kem_client PROVIDER_DIR URI");
    if (!OSSL_PROVIDER_set_default_search_path(NULL, argv[1])) return fail("search path");
    if (OSSL_PROVIDER_load(NULL, "default") == NULL) return fail("load default");
    if (OSSL_PROVIDER_load(NULL, "keyward") == NULL) return fail("load keyward");

    OSSL_STORE_CTX* store = OSSL_STORE_open_ex(argv[2], NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (store == NULL) return fail("OSSL_STORE_open_ex");
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    EVP_PKEY* key = NULL;
    while (key == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO* info = OSSL_STORE_load(store);
        if (info != NULL) {
            key = OSSL_STORE_INFO_get1_PKEY(info);
            OSSL_STORE_INFO_free(info);
        }
    }
    OSSL_STORE_close(store);
    if (key == NULL) return fail("no key from the store");

    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    unsigned char blob[256], secret[64], again[64];
    size_t blob_len = 0, secret_len = 0, again_len = 0;
    if (ctx == NULL || EVP_PKEY_encapsulate_init(ctx, NULL) <= 0) return fail("encapsulate_init");
    if (EVP_PKEY_encapsulate(ctx, NULL, &blob_len, NULL, &secret_len) <= 0) return fail("size");
    if (blob_len > sizeof blob || secret_len > sizeof secret) return fail("sizes too large");
    if (EVP_PKEY_encapsulate(ctx, blob, &blob_len, secret, &secret_len) <= 0) {
        return fail("encapsulate");
    }
    if (secret_len != 32 || blob_len < 4 || memcmp(blob, "KWK\x01", 4) != 0) {
        return fail("encapsulate gave no 32-byte key and kwk1 blob");
    }
    EVP_PKEY_CTX_free(ctx);

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (ctx == NULL || EVP_PKEY_decapsulate_init(ctx, NULL) <= 0) return fail("decapsulate_init");
    if (EVP_PKEY_decapsulate(ctx, NULL, &again_len, blob, blob_len) <= 0) return fail("size");
    if (again_len > sizeof again) return fail("size too large");
    if (EVP_PKEY_decapsulate(ctx, again, &again_len, blob, blob_len) <= 0) {
        return fail("decapsulate");
    }
    if (again_len != secret_len || memcmp(again, secret, secret_len) != 0) {
        return fail("decapsulate gave another key");
    }
    /* A tampered blob: refused, with keyward's error. */
    blob[blob_len - 1] ^= 1;
    again_len = sizeof again;
    if (EVP_PKEY_decapsulate(ctx, again, &again_len, blob, blob_len) > 0) {
        return fail("a tampered blob was decapsulated");
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    printf("kem ok\n");
    return 0;
}
