/* SPDX-License-Identifier: Apache-2.0 */
/* The C API (keyward/keyward.h) from a C99 program linked against libkeyward.so only, on a fresh
 * SoftHSM setup made by the built `keyward` CLI. Exit 0 pass, 1 fail, 77 skip (no SoftHSM). */
#define _XOPEN_SOURCE 700

#include <keyward/keyward.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

static void check(int ok, const char* what, int line) {
    if (!ok) {
        fprintf(stderr, "FAILED (line %d): %s\n", line, what);
        ++failures;
    }
}
#define CHECK(cond) check((cond) ? 1 : 0, #cond, __LINE__)

static int contains(const char* haystack, const char* needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Runs the keyward CLI with argv (argv[0] is replaced by cli); its exit code, or -1. */
static int run_cli(const char* cli, const char** args) {
    const char* argv[8];
    size_t n = 0;
    argv[n++] = cli;
    while (args[n - 1] != NULL && n < 7) {
        argv[n] = args[n - 1];
        ++n;
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execv(cli, (char* const*)argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

static int remove_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int softhsm_installed(void) {
    return access("/usr/lib/softhsm/libsofthsm2.so", R_OK) == 0 ||
           access("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", R_OK) == 0;
}

static void test_envelopes(keyward_handle* h) {
    static const uint8_t pt[] = "attack at dawn";
    static const uint8_t ctx[] = "record:capi/test#1";
    static const uint8_t wrong[] = "record:capi/test#2";
    uint8_t* env = NULL;
    size_t env_len = 0;
    CHECK(keyward_seal(h, "capi", pt, sizeof pt, ctx, sizeof ctx, &env, &env_len) == KEYWARD_OK);
    CHECK(env != NULL && env_len > sizeof pt);
    CHECK(strcmp(keyward_last_error(h), "") == 0);
    if (env == NULL) return;

    uint8_t* out = NULL;
    size_t out_len = 0;
    CHECK(keyward_open_envelope(h, env, env_len, ctx, sizeof ctx, &out, &out_len) == KEYWARD_OK);
    CHECK(out != NULL && out_len == sizeof pt && memcmp(out, pt, sizeof pt) == 0);
    keyward_free_secret(out, out_len);

    /* Wrong context: 3, with the one-line message on the handle, and NULL/0 outputs. */
    out = (uint8_t*)1;
    out_len = 99;
    CHECK(keyward_open_envelope(h, env, env_len, wrong, sizeof wrong, &out, &out_len) ==
          KEYWARD_ERR_AUTH);
    CHECK(contains(keyward_last_error(h), "authentication failed"));
    CHECK(out == NULL && out_len == 0);

    /* Tampered and garbage envelopes: 3. */
    env[env_len - 1] ^= 0x01;
    CHECK(keyward_open_envelope(h, env, env_len, ctx, sizeof ctx, &out, &out_len) ==
          KEYWARD_ERR_AUTH);
    env[env_len - 1] ^= 0x01;
    static const uint8_t garbage[] = "this is not an envelope at all, not even close";
    CHECK(keyward_open_envelope(h, garbage, sizeof garbage, NULL, 0, &out, &out_len) ==
          KEYWARD_ERR_AUTH);
    CHECK(strlen(keyward_last_error(h)) > 0);

    /* Rewrap keeps the plaintext and context. */
    uint8_t* re = NULL;
    size_t re_len = 0;
    CHECK(keyward_rewrap(h, env, env_len, &re, &re_len) == KEYWARD_OK);
    CHECK(keyward_open_envelope(h, re, re_len, ctx, sizeof ctx, &out, &out_len) == KEYWARD_OK);
    CHECK(out != NULL && out_len == sizeof pt && memcmp(out, pt, sizeof pt) == 0);
    keyward_free_secret(out, out_len);
    keyward_free(re);
    keyward_free(env);

    /* Empty plaintext and context may be NULL with length 0; outputs are still non-NULL. */
    CHECK(keyward_seal(h, "capi", NULL, 0, NULL, 0, &env, &env_len) == KEYWARD_OK);
    CHECK(keyward_open_envelope(h, env, env_len, NULL, 0, &out, &out_len) == KEYWARD_OK);
    CHECK(out != NULL && out_len == 0);
    keyward_free_secret(out, out_len);
    keyward_free(env);

    /* Unknown keyring: 4. */
    CHECK(keyward_seal(h, "no-such-ring", pt, sizeof pt, NULL, 0, &env, &env_len) ==
          KEYWARD_ERR_NOT_FOUND);
    CHECK(contains(keyward_last_error(h), "no-such-ring"));
    CHECK(env == NULL);
}

static void test_null_arguments(keyward_handle* h) {
    uint8_t* out = NULL;
    size_t out_len = 0;
    static const uint8_t pt[] = "x";
    CHECK(keyward_seal(NULL, "capi", pt, 1, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(contains(keyward_open_error(), "handle"));
    CHECK(contains(keyward_last_error(NULL), "handle"));
    CHECK(keyward_seal(h, NULL, pt, 1, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(contains(keyward_last_error(h), "keyring"));
    CHECK(keyward_seal(h, "capi", NULL, 5, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_seal(h, "capi", pt, 1, NULL, 3, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_seal(h, "capi", pt, 1, NULL, 0, NULL, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_open_envelope(h, NULL, 0, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_open_envelope(h, pt, 1, NULL, 0, &out, NULL) == KEYWARD_ERR_USAGE);
    CHECK(keyward_rewrap(h, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_datakey(h, "capi", 32, NULL, NULL, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_datakey_decrypt(h, NULL, 0, &out, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_open(NULL, NULL) == KEYWARD_ERR_USAGE);
    CHECK(out == NULL && out_len == 0);
    keyward_free(NULL);
    keyward_free_secret(NULL, 0);
    keyward_close(NULL);
}

static void test_datakeys(keyward_handle* h) {
    uint8_t *key = NULL, *blob = NULL, *again = NULL, *re = NULL;
    size_t key_len = 0, blob_len = 0, again_len = 0, re_len = 0;
    CHECK(keyward_datakey(h, "capi", 32, &key, &key_len, &blob, &blob_len) == KEYWARD_OK);
    CHECK(key != NULL && key_len == 32 && blob != NULL && blob_len > 32);
    if (key == NULL || blob == NULL) return;
    CHECK(keyward_datakey_decrypt(h, blob, blob_len, &again, &again_len) == KEYWARD_OK);
    CHECK(again != NULL && again_len == key_len && memcmp(again, key, key_len) == 0);
    keyward_free_secret(again, again_len);
    CHECK(keyward_rewrap(h, blob, blob_len, &re, &re_len) == KEYWARD_OK);
    CHECK(keyward_datakey_decrypt(h, re, re_len, &again, &again_len) == KEYWARD_OK);
    CHECK(again != NULL && again_len == key_len && memcmp(again, key, key_len) == 0);
    keyward_free_secret(again, again_len);
    keyward_free(re);
    blob[blob_len - 1] ^= 0x01;
    CHECK(keyward_datakey_decrypt(h, blob, blob_len, &again, &again_len) == KEYWARD_ERR_AUTH);
    CHECK(again == NULL);
    keyward_free_secret(key, key_len);
    keyward_free(blob);
    CHECK(keyward_datakey(h, "no-such-ring", 32, &key, &key_len, &blob, &blob_len) ==
          KEYWARD_ERR_NOT_FOUND);
}

/* Two handles at once (one per thread is the documented pattern): each opens what the other
 * sealed, and one's error message stays on that handle. */
static void test_two_handles(keyward_handle* a, keyward_handle* b) {
    static const uint8_t pt[] = "two handles";
    uint8_t *env = NULL, *out = NULL;
    size_t env_len = 0, out_len = 0;
    if (a == NULL || b == NULL) return;
    CHECK(keyward_seal(a, "capi", pt, sizeof pt, NULL, 0, &env, &env_len) == KEYWARD_OK);
    CHECK(keyward_open_envelope(b, env, env_len, NULL, 0, &out, &out_len) == KEYWARD_OK);
    CHECK(out != NULL && out_len == sizeof pt && memcmp(out, pt, sizeof pt) == 0);
    keyward_free_secret(out, out_len);
    CHECK(keyward_open_envelope(a, env, env_len, pt, 1, &out, &out_len) == KEYWARD_ERR_AUTH);
    CHECK(strlen(keyward_last_error(a)) > 0 && strcmp(keyward_last_error(b), "") == 0);
    keyward_free(env);
}

/* put, get and list: versions, exact bytes, metadata without values, and errors by code. */
static void test_records(keyward_handle* h, const char* cli) {
    static const uint8_t v1[] = "wallet-key-v1";
    static const uint8_t v2[] = {0x00, 0xff, 0x10, 0x00};
    uint32_t version = 99;
    CHECK(keyward_put(h, "capi-ns/user/42", "wallet", v1, sizeof v1 - 1, NULL, &version) ==
          KEYWARD_OK);
    CHECK(version == 1);
    CHECK(keyward_put(h, "capi-ns/user/42", "wallet", v2, sizeof v2, "2031-01-01", &version) ==
          KEYWARD_OK);
    CHECK(version == 2);
    uint8_t* out = NULL;
    size_t out_len = 0;
    CHECK(keyward_get(h, "capi-ns/user/42", 0, &out, &out_len) == KEYWARD_OK);
    CHECK(out_len == sizeof v2 && memcmp(out, v2, sizeof v2) == 0);
    keyward_free_secret(out, out_len);
    CHECK(keyward_get(h, "capi-ns/user/42", 1, &out, &out_len) == KEYWARD_OK);
    CHECK(out_len == sizeof v1 - 1 && memcmp(out, v1, sizeof v1 - 1) == 0);
    keyward_free_secret(out, out_len);

    char* json = NULL;
    size_t json_len = 0;
    CHECK(keyward_list(h, "capi-ns", NULL, &json, &json_len) == KEYWARD_OK);
    CHECK(json != NULL && strlen(json) == json_len);
    CHECK(contains(json, "\"record\":\"capi-ns/user/42\""));
    CHECK(contains(json, "\"latest\":2"));
    CHECK(contains(json, "\"expires_at\":\"2031-01-01T00:00:00Z\""));
    CHECK(!contains(json, "wallet-key-v1"));
    keyward_free(json);
    CHECK(keyward_list(h, "capi-ns", "api_key", &json, NULL) == KEYWARD_OK);
    CHECK(strcmp(json, "{\"records\":[]}") == 0);
    keyward_free(json);

    /* Errors: codes are CLI exit codes, outputs stay NULL. */
    CHECK(keyward_get(h, "capi-ns/nothing", 0, &out, &out_len) == KEYWARD_ERR_NOT_FOUND);
    CHECK(out == NULL && out_len == 0 && contains(keyward_last_error(h), "no record"));
    CHECK(keyward_get(h, "capi-ns/user/42", 7, &out, &out_len) == KEYWARD_ERR_NOT_FOUND);
    CHECK(keyward_put(h, "Bad/addr", "wallet", v1, 1, NULL, &version) == KEYWARD_ERR_USAGE);
    CHECK(version == 0);
    CHECK(keyward_put(h, "capi-ns/x", "password", v1, 1, NULL, NULL) == KEYWARD_ERR_USAGE);
    CHECK(contains(keyward_last_error(h), "unknown kind"));
    CHECK(keyward_put(h, "capi-ns/x", "wallet", v1, 1, "tomorrow", NULL) == KEYWARD_ERR_USAGE);
    CHECK(keyward_put(h, "capi-ns/x", "wallet", NULL, 3, NULL, NULL) == KEYWARD_ERR_USAGE);
    CHECK(keyward_put(h, NULL, "wallet", v1, 1, NULL, NULL) == KEYWARD_ERR_USAGE);
    CHECK(keyward_get(h, "capi-ns/user/42", 0, NULL, &out_len) == KEYWARD_ERR_USAGE);
    CHECK(keyward_list(h, "Bad NS", NULL, &json, NULL) == KEYWARD_ERR_USAGE && json == NULL);
    CHECK(keyward_list(NULL, NULL, NULL, &json, NULL) == KEYWARD_ERR_USAGE);

    /* The CLI reads what the C API stored: the same database, the same contexts. */
    const char* revoke[] = {"revoke", "capi-ns/user/42", NULL};
    CHECK(run_cli(cli, revoke) == 0);
    CHECK(keyward_get(h, "capi-ns/user/42", 0, &out, &out_len) == KEYWARD_ERR_FAILED);
    CHECK(contains(keyward_last_error(h), "revoked"));
}

/* keyward_open_as: the handle acts as a principal, whose grants decide (docs/ACCESS.md). */
static void test_principal(const char* conf, const char* cli) {
    keyward_handle* carol = NULL;
    CHECK(keyward_open_as(conf, "carol", &carol) == KEYWARD_OK);
    if (carol == NULL) return;
    uint8_t* env = NULL;
    size_t env_len = 0;
    const uint8_t pt[] = "principal";
    CHECK(keyward_seal(carol, "capi", pt, sizeof pt, NULL, 0, &env, &env_len) ==
          KEYWARD_ERR_ACCESS_DENIED);
    CHECK(env == NULL);
    CHECK(strcmp(keyward_last_error(carol),
                 "access denied: carol needs role writer on keyring:capi for seal") == 0);
    const char* grant[] = {"access", "grant", "carol", "writer", "--on", "keyring:capi", NULL};
    CHECK(run_cli(cli, grant) == 0);
    /* A grant made by another process counts here within a second (docs/ACCESS.md). */
    struct timespec ttl = {1, 200000000};
    nanosleep(&ttl, NULL);
    CHECK(keyward_seal(carol, "capi", pt, sizeof pt, NULL, 0, &env, &env_len) == KEYWARD_OK);
    keyward_free(env);
    keyward_close(carol);
    keyward_handle* bad = NULL;
    CHECK(keyward_open_as(conf, "no spaces allowed", &bad) == KEYWARD_ERR_USAGE);
    CHECK(bad == NULL);
}

int main(void) {
    if (!softhsm_installed()) {
        printf("SKIP: SoftHSM (libsofthsm2.so) is not installed\n");
        return 77;
    }
    const char* cli = getenv("KEYWARD_CLI");
    const char* tmp = getenv("KEYWARD_CAPI_TMP");
    if (cli == NULL || tmp == NULL) {
        fprintf(stderr, "KEYWARD_CLI and KEYWARD_CAPI_TMP must be set: run through meson test\n");
        return 1;
    }

    /* ABI and names need no HSM. */
    CHECK(keyward_abi_version() == KEYWARD_ABI_VERSION);
    CHECK(strcmp(keyward_error_name(0), "ok") == 0);
    CHECK(strcmp(keyward_error_name(3), "auth_failed") == 0);
    CHECK(strcmp(keyward_error_name(6), "hsm_unavailable") == 0);
    CHECK(strcmp(keyward_error_name(42), "unknown") == 0);

    /* A missing config: 2, no handle, and a message on the open-error channel. */
    keyward_handle* h = (keyward_handle*)1;
    CHECK(keyward_open("/nonexistent/keyward.conf", &h) == KEYWARD_ERR_USAGE);
    CHECK(h == NULL);
    CHECK(strlen(keyward_open_error()) > 0);

    char dir[4096], conf[4200];
    snprintf(dir, sizeof dir, "%s/tmp-capi-%ld", tmp, (long)getpid());
    snprintf(conf, sizeof conf, "%s/keyward.conf", dir);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("KEYWARD_PIN");
    unsetenv("KEYWARD_CONFIG");
    const char* init[] = {"init", "--softhsm", dir, NULL};
    if (run_cli(cli, init) != 0) {
        fprintf(stderr, "keyward init --softhsm %s failed\n", dir);
        return 1;
    }
    setenv("KEYWARD_CONFIG", conf, 1);
    const char* create[] = {"keyring", "create", "capi", NULL};
    if (run_cli(cli, create) != 0) {
        fprintf(stderr, "keyward keyring create capi failed\n");
        return 1;
    }

    /* NULL path: the CLI's lookup ($KEYWARD_CONFIG here). It stays open beside the second. */
    keyward_handle* first = NULL;
    CHECK(keyward_open(NULL, &first) == KEYWARD_OK);
    h = NULL;
    int rc = keyward_open(conf, &h);
    CHECK(rc == KEYWARD_OK);
    if (h == NULL) {
        fprintf(stderr, "keyward_open: %s\n", keyward_open_error());
        return 1;
    }
    CHECK(strcmp(keyward_open_error(), "") == 0);

    test_principal(conf, cli);
    test_two_handles(first, h);
    keyward_close(first);
    test_envelopes(h);
    test_null_arguments(h);
    test_datakeys(h);
    test_records(h, cli);
    keyward_close(h);

    if (failures == 0) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
