/* SPDX-License-Identifier: Apache-2.0 */
/* An OpenSSL application that knows nothing of keyward but its provider (libcrypto only). It
 * loads default and keyward, fetches one key through OSSL_STORE, and then:
 *
 *   threads N M  N threads, each M round trips (EVP_PKEY_encrypt of its own data key, then
 *                EVP_PKEY_decrypt, compared), all on the one EVP_PKEY; prints "threads ok T"
 *                with T the round trips done.
 *   fork         one round trip in the parent (the handle opens), fork(); the child makes 20
 *                round trips and exits 0, or 1 on the first failure; the parent waits, makes
 *                one more and prints "fork ok".
 *   orphan GO OUT  one round trip in the parent, fork(), and the parent exits 0 at once; the
 *                child waits until its parent is gone and the file GO exists (the test runs the
 *                CLI meanwhile), makes 20 round trips, writes "orphan ok PID" (or what failed)
 *                to OUT, and exits once GO.end exists. The child outlives the process that
 *                opened the database first.
 *   serve        a long-lived process for tests that change keyward behind its back: reads
 *                lines "wrap" and "unwrap HEX" on stdin and answers each with one line,
 *                "blob HEX", "key HEX" or "error TEXT" (the last OpenSSL error).
 *
 * Any failure prints one line naming it and exits 1.
 *
 * usage: provider_client PROVIDER_DIR URI MODE [ARGS] */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static EVP_PKEY* key;

static int fail(const char* what) {
    unsigned long e = ERR_peek_last_error();
    char buf[512] = "";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    printf("failed: %s: %s\n", what, buf);
    fflush(stdout);
    return 1;
}

static EVP_PKEY* load_key(const char* uri) {
    OSSL_STORE_CTX* store = OSSL_STORE_open_ex(uri, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (store == NULL) return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    EVP_PKEY* found = NULL;
    while (found == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO* info = OSSL_STORE_load(store);
        if (info == NULL) break;
        found = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return found;
}

/* EVP_PKEY_encrypt: the blob of dek into blob (256 bytes of room). 1 on success. */
static int wrap(const unsigned char* dek, size_t dek_len, unsigned char* blob, size_t* blob_len) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
             EVP_PKEY_encrypt(ctx, blob, blob_len, dek, dek_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int unwrap(const unsigned char* blob, size_t blob_len, unsigned char* dek, size_t* dek_len) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) > 0 &&
             EVP_PKEY_decrypt(ctx, dek, dek_len, blob, blob_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* One round trip of a data key made from (seed, i); 1 when the key comes back. */
static int round_trip(unsigned seed, unsigned i) {
    unsigned char dek[32], blob[256], back[64];
    for (size_t b = 0; b < sizeof dek; ++b) dek[b] = (unsigned char)(seed * 31u + i * 7u + b);
    size_t blob_len = sizeof blob, back_len = sizeof back;
    if (!wrap(dek, sizeof dek, blob, &blob_len)) return 0;
    if (!unwrap(blob, blob_len, back, &back_len)) return 0;
    return back_len == sizeof dek && memcmp(back, dek, sizeof dek) == 0;
}

struct worker {
    pthread_t thread;
    unsigned id, rounds, done;
    char error[512];
};

static void* work(void* arg) {
    struct worker* w = arg;
    for (unsigned i = 0; i < w->rounds; ++i) {
        if (!round_trip(w->id, i)) {
            unsigned long e = ERR_peek_last_error();
            if (e != 0) ERR_error_string_n(e, w->error, sizeof w->error);
            if (w->error[0] == 0) strcpy(w->error, "a data key came back different");
            return NULL;
        }
        ++w->done;
    }
    return NULL;
}

static int run_threads(unsigned n, unsigned rounds) {
    struct worker* workers = calloc(n, sizeof *workers);
    if (workers == NULL) return fail("calloc");
    for (unsigned t = 0; t < n; ++t) {
        workers[t].id = t + 1;
        workers[t].rounds = rounds;
        if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
            return fail("pthread_create");
        }
    }
    unsigned total = 0;
    int bad = 0;
    for (unsigned t = 0; t < n; ++t) {
        pthread_join(workers[t].thread, NULL);
        total += workers[t].done;
        if (workers[t].done != rounds) {
            printf("failed: thread %u stopped after %u round trips: %s\n", t + 1, workers[t].done,
                   workers[t].error);
            bad = 1;
        }
    }
    free(workers);
    if (bad) return 1;
    printf("threads ok %u\n", total);
    return 0;
}

static int run_fork(void) {
    if (!round_trip(100, 0)) return fail("round trip in the parent before fork()");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) return fail("fork");
    if (child == 0) {
        for (unsigned i = 0; i < 20; ++i) {
            if (!round_trip(200, i)) _exit(fail("round trip in the child"));
        }
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) return fail("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("failed: the child ended with status %d\n", status);
        return 1;
    }
    if (!round_trip(300, 0)) return fail("round trip in the parent after fork()");
    printf("fork ok\n");
    return 0;
}

static int run_orphan(const char* go, const char* out) {
    if (!round_trip(400, 0)) return fail("round trip in the parent before fork()");
    fflush(stdout);
    const pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) return fail("fork");
    if (child > 0) return 0; /* the parent leaves; the child carries on alone */
    /* Like a daemon: let go of the caller's pipes, or whoever waits for their end waits for
     * this child too. */
    if (freopen("/dev/null", "r", stdin) == NULL || freopen("/dev/null", "w", stdout) == NULL ||
        freopen("/dev/null", "w", stderr) == NULL) {
        _exit(1);
    }
    FILE* result = NULL;
    for (int waited = 0; getppid() == parent || access(go, F_OK) != 0; ++waited) {
        if (waited > 600) { /* 60 s */
            result = fopen(out, "w");
            if (result != NULL) fprintf(result, "failed: no go file\n");
            _exit(1);
        }
        usleep(100 * 1000);
    }
    unsigned done = 0;
    while (done < 20 && round_trip(500, done)) ++done;
    result = fopen(out, "w");
    if (result == NULL) _exit(1);
    if (done == 20) {
        fprintf(result, "orphan ok %ld\n", (long)getpid());
    } else {
        unsigned long e = ERR_peek_last_error();
        char buf[256] = "";
        const char* data = NULL;
        int flags = 0;
        ERR_peek_last_error_data(&data, &flags);
        if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
        fprintf(result, "failed after %u round trips: %s: %s\n", done, buf,
                (data != NULL && (flags & ERR_TXT_STRING)) ? data : "");
    }
    fclose(result);
    /* Stay (holding whatever locks the database gave this process) until the test has looked. */
    char end[4096];
    snprintf(end, sizeof end, "%s.end", go);
    for (int waited = 0; access(end, F_OK) != 0 && waited < 600; ++waited) usleep(100 * 1000);
    _exit(done == 20 ? 0 : 1);
}

static void print_hex(const char* tag, const unsigned char* p, size_t n) {
    printf("%s ", tag);
    for (size_t i = 0; i < n; ++i) printf("%02x", p[i]);
    printf("\n");
}

/* The last error's reason and its text (keyward's message is the error's data). */
static void print_error(void) {
    const char* data = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_last_error_data(&data, &flags);
    char buf[256] = "unknown";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    printf("error %s: %s\n", buf, (data != NULL && (flags & ERR_TXT_STRING)) ? data : "");
    ERR_clear_error();
}

static int serve(void) {
    char line[1024];
    unsigned counter = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        unsigned char dek[64], blob[256];
        size_t dek_len = sizeof dek, blob_len = sizeof blob;
        if (strncmp(line, "wrap", 4) == 0) {
            for (size_t b = 0; b < 32; ++b) dek[b] = (unsigned char)(counter + b);
            ++counter;
            if (wrap(dek, 32, blob, &blob_len)) {
                print_hex("blob", blob, blob_len);
            } else {
                print_error();
            }
        } else if (strncmp(line, "unwrap ", 7) == 0) {
            size_t n = 0;
            for (const char* h = line + 7; h[0] != 0 && h[1] != 0 && h[0] != '\n' && n < 256;
                 h += 2) {
                unsigned v = 0;
                if (sscanf(h, "%2x", &v) != 1) break;
                blob[n++] = (unsigned char)v;
            }
            if (unwrap(blob, n, dek, &dek_len)) {
                print_hex("key", dek, dek_len);
            } else {
                print_error();
            }
        } else {
            printf("error unknown command\n");
        }
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 4) return fail("usage: provider_client PROVIDER_DIR URI MODE [ARGS]");
    if (!OSSL_PROVIDER_set_default_search_path(NULL, argv[1])) return fail("search path");
    if (OSSL_PROVIDER_load(NULL, "default") == NULL) return fail("load default");
    if (OSSL_PROVIDER_load(NULL, "keyward") == NULL) return fail("load keyward");
    key = load_key(argv[2]);
    if (key == NULL) return fail("no key from the store");
    int rc = 1;
    if (strcmp(argv[3], "threads") == 0 && argc == 6) {
        rc = run_threads((unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
    } else if (strcmp(argv[3], "fork") == 0) {
        rc = run_fork();
    } else if (strcmp(argv[3], "orphan") == 0 && argc == 6) {
        rc = run_orphan(argv[4], argv[5]);
    } else if (strcmp(argv[3], "serve") == 0) {
        rc = serve();
    } else {
        rc = fail("unknown mode");
    }
    EVP_PKEY_free(key);
    return rc;
}
