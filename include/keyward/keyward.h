/* SPDX-License-Identifier: Apache-2.0 */
/* keyward's stable C API (C99): an opaque handle over keyward::Keyward for C, Python ctypes and
 * other FFIs. Status codes equal the CLI exit codes of docs/CLI.md; see docs/API.md. */
#ifndef KEYWARD_KEYWARD_H
#define KEYWARD_KEYWARD_H

#include <stddef.h>
#include <stdint.h>

/* Self-contained visibility macro: libkeyward.so is built with hidden visibility and exports
 * only what is marked. Users of the header see a plain declaration. */
#if defined(KEYWARD_BUILDING_LIBRARY) && defined(__GNUC__)
#define KEYWARD_C_API __attribute__((visibility("default")))
#else
#define KEYWARD_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version of this header. It changes only when an existing function's signature or
 * meaning changes or one is removed; adding functions does not change it. Compare it with
 * keyward_abi_version() at run time to detect a mismatched libkeyward.so. */
#define KEYWARD_ABI_VERSION 1

/* Status codes: 0 is success, anything else is the CLI exit code of the failure. */
#define KEYWARD_OK 0
#define KEYWARD_ERR_FAILED 1          /* any other failure */
#define KEYWARD_ERR_USAGE 2           /* bad argument (NULL pointer...), bad config */
#define KEYWARD_ERR_AUTH 3            /* tampered/truncated envelope, wrong context */
#define KEYWARD_ERR_NOT_FOUND 4       /* keyring, KEK version, record */
#define KEYWARD_ERR_ACCESS_DENIED 5   /* access denied */
#define KEYWARD_ERR_HSM_UNAVAILABLE 6 /* module, token, login, token mismatch */

/* An open connection to the HSM and the database. Opaque; made by keyward_open, released by
 * keyward_close. */
typedef struct keyward_handle keyward_handle;

/* KEYWARD_ABI_VERSION of the library actually loaded. */
KEYWARD_C_API int keyward_abi_version(void);

/* Opens a handle from a config file. config_path NULL: $KEYWARD_CONFIG, else ./keyward.conf,
 * else /etc/keyward/keyward.conf (the CLI's lookup). On success *out is the handle; on failure
 * *out is NULL and the message is read with keyward_open_error() on the same thread. */
KEYWARD_C_API int keyward_open(const char* config_path, keyward_handle** out);

/* keyward_open, acting as `principal` (docs/ACCESS.md): its grants apply to every call on the
 * handle and the audit log names both ("owner as NAME"). NULL or "" is keyward_open. Denials
 * return KEYWARD_ERR_ACCESS_DENIED. */
KEYWARD_C_API int keyward_open_as(const char* config_path, const char* principal,
                                  keyward_handle** out);

/* Releases a handle (logs out, closes the database). NULL is ignored. */
KEYWARD_C_API void keyward_close(keyward_handle* handle);

/* Envelope (binary form) of pt under the keyring's active KEK, bound to ctx. pt and ctx may be
 * NULL when their length is 0. *out is released with keyward_free. */
KEYWARD_C_API int keyward_seal(keyward_handle* handle, const char* keyring, const uint8_t* pt,
                               size_t pt_len, const uint8_t* ctx, size_t ctx_len, uint8_t** out,
                               size_t* out_len);

/* Plaintext of an envelope (binary form) sealed with the same ctx. *out is a secret: release it
 * with keyward_free_secret(*out, *out_len), which wipes it. */
KEYWARD_C_API int keyward_open_envelope(keyward_handle* handle, const uint8_t* env, size_t env_len,
                                        const uint8_t* ctx, size_t ctx_len, uint8_t** out,
                                        size_t* out_len);

/* The same envelope or data key blob re-wrapped under its keyring's active KEK version.
 * *out is released with keyward_free. */
KEYWARD_C_API int keyward_rewrap(keyward_handle* handle, const uint8_t* in, size_t in_len,
                                 uint8_t** out, size_t* out_len);

/* A fresh data key of `bytes` bytes (suite 1: 16..64; suite 2: 32) and its KWK1 blob.
 * *key is a secret (keyward_free_secret); *blob is public (keyward_free). */
KEYWARD_C_API int keyward_datakey(keyward_handle* handle, const char* keyring, size_t bytes,
                                  uint8_t** key, size_t* key_len, uint8_t** blob, size_t* blob_len);

/* The data key inside a KWK1 blob. *key is a secret: release it with keyward_free_secret. */
KEYWARD_C_API int keyward_datakey_decrypt(keyward_handle* handle, const uint8_t* blob,
                                          size_t blob_len, uint8_t** key, size_t* key_len);

/* Records (docs/RECORDS.md): wallets and credentials at addresses "NS/NAME".
 *
 * Stores value (value_len bytes, at most 64 MiB; value may be NULL when value_len is 0) as the
 * next version of the record, of kind `kind` ("wallet", "api_key", ... as in docs/CLI.md),
 * sealed under the namespace's keyring with context "record:NS/NAME#V". expires: ISO 8601
 * date or date-time with offset, or NULL for none (a client_certificate then expires at its
 * notAfter). On success *version (may be NULL) is V. */
KEYWARD_C_API int keyward_put(keyward_handle* handle, const char* address, const char* kind,
                              const uint8_t* value, size_t value_len, const char* expires,
                              uint32_t* version);
/* Plaintext of version `version` of a record (0: the latest). *value is a secret: release it
 * with keyward_free_secret(*value, *value_len). Revoked records: status 1; deleted, purged or
 * unknown ones: 4. */
KEYWARD_C_API int keyward_get(keyward_handle* handle, const char* address, uint32_t version,
                              uint8_t** value, size_t* value_len);
/* Metadata of the live records of namespace ns (NULL or "" for all) of kind `kind` (NULL or ""
 * for any), as one NUL-terminated UTF-8 JSON document, the same as `keyward list --json`:
 * {"records": [{"record", "kind", "state", "latest", "tags", "expires_at", ...}]}. Never
 * holds a value. *json is released with keyward_free; *json_len (may be NULL) excludes the
 * NUL. */
KEYWARD_C_API int keyward_list(keyward_handle* handle, const char* ns, const char* kind,
                               char** json, size_t* json_len);
/* Frees a public buffer (envelope, blob) returned by this API. NULL is ignored. */
KEYWARD_C_API void keyward_free(void* p);

/* Wipes len bytes at p, then frees it: for plaintexts and data keys. NULL is ignored. */
KEYWARD_C_API void keyward_free_secret(void* p, size_t len);

/* One-line message of the last failed call on this handle ("" after a successful one). Valid
 * until the next call on the handle or keyward_close. Not thread-safe when the handle is shared
 * between threads: use one handle per thread if you read messages. NULL handle: same as
 * keyward_open_error(). Never returns NULL. */
KEYWARD_C_API const char* keyward_last_error(const keyward_handle* handle);

/* Thread-local message of the last failed keyward_open, or of the last call given a NULL
 * handle, on the calling thread ("" if none). Valid until the next such call on this thread. */
KEYWARD_C_API const char* keyward_open_error(void);

/* Stable name of a status code: "ok", "failed", "usage", "auth_failed", "not_found",
 * "access_denied", "hsm_unavailable"; "unknown" otherwise. Never NULL; static storage. */
KEYWARD_C_API const char* keyward_error_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* KEYWARD_KEYWARD_H */
