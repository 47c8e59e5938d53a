// SPDX-License-Identifier: Apache-2.0
// Seal and open of small records in-process on a fresh SoftHSM token, with the limits they are
// built from measured in the same run: the bare PKCS#11 calls one seal or open needs (raw
// C_* on the same token, no keyward code) and bare OpenSSL EVP AES-256-GCM. Prints p50, p99
// and the ratio of keyward's p50 to the sum of the bare p50s. Then the audit log's cost
// (docs/AUDIT.md): the same seal and open through the services without audit (what the
// library did before issue 11), with grouped entries (the default) and with strict ones.
//
// usage: seal_open_bench [--iterations N] [--size BYTES] [--dir DIR]
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "core/assemble.hpp"
#include "core/envelopes.hpp"
#include "core/keyrings.hpp"
#include "core/wrap_budget.hpp"
#include "keyward/keyward.hpp"
#include "p11/init_token.hpp"
#include "p11/module.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/session.hpp"
#include "p11/softhsm.hpp"
#include "p11/token_finder.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace keyward;
using Clock = std::chrono::steady_clock;

using bench::Stats;
using bench::stats_of;

Stats measure(int iterations, const std::function<bool()>& op) {
    for (int i = 0; i < iterations / 10; ++i) op();  // warm-up: caches, session pool, DRBG
    std::vector<double> us(static_cast<std::size_t>(iterations));
    for (auto& sample : us) {
        auto t0 = Clock::now();
        if (!op()) {
            std::fprintf(stderr, "operation failed during the benchmark\n");
            std::exit(1);
        }
        sample = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    return stats_of(std::move(us));
}

// Both operations, one after the other in each iteration: SoftHSM 2.6.1 slows as the session
// objects it keeps pile up over a run (docs/PERFORMANCE.md), so measuring one loop after the
// other would favour whichever ran first.
std::pair<Stats, Stats> measure_pair(int iterations, const std::function<bool()>& a,
                                     const std::function<bool()>& b) {
    for (int i = 0; i < iterations / 10; ++i) {
        a();
        b();
    }
    std::vector<double> ua(static_cast<std::size_t>(iterations)),
        ub(static_cast<std::size_t>(iterations));
    for (std::size_t i = 0; i < ua.size(); ++i) {
        auto t0 = Clock::now();
        const bool ok_a = a();
        auto t1 = Clock::now();
        const bool ok_b = b();
        auto t2 = Clock::now();
        if (!ok_a || !ok_b) {
            std::fprintf(stderr, "operation failed during the benchmark\n");
            std::exit(1);
        }
        ua[i] = std::chrono::duration<double, std::micro>(t1 - t0).count();
        ub[i] = std::chrono::duration<double, std::micro>(t2 - t1).count();
    }
    return {stats_of(std::move(ua)), stats_of(std::move(ub))};
}

void row(const char* what, const Stats& s) {
    std::printf("  %-44s p50 %7.1f us   p99 %7.1f us   mean %7.1f us   %8.0f ops/s\n", what,
                s.p50_us, s.p99_us, s.mean_us, 1e6 / s.mean_us);
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "seal_open_bench: %s\n", what.c_str());
    std::exit(1);
}

template <typename T>
T must(Result<T> r, const char* what) {
    if (!r.ok()) die(std::string(what) + ": " + r.error().message());
    return std::move(r).value();
}

// Bare AES-256-GCM through EVP, with what a seal needs: fresh key and nonce from the DRBG.
bool openssl_seal(const Bytes& pt, Bytes& out) {
    unsigned char key[32], iv[12];
    RAND_priv_bytes(key, sizeof key);
    RAND_bytes(iv, sizeof iv);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    out.resize(pt.size() + 16);
    bool ok =
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, iv) == 1 &&
        EVP_EncryptUpdate(ctx, nullptr, &len, iv, 9) == 1 &&
        EVP_EncryptUpdate(ctx, out.data(), &len, pt.data(), static_cast<int>(pt.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx, out.data() + len, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + pt.size()) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = 20000;
    std::size_t size = 256;
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "keyward-bench";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--iterations")
            iterations = std::atoi(argv[i + 1]);
        else if (a == "--size")
            size = static_cast<std::size_t>(std::atol(argv[i + 1]));
        else if (a == "--dir")
            dir = argv[i + 1];
        else
            die("unknown option " + a);
    }
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "tokens");
    const std::string conf = (dir / "softhsm2.conf").string();
    {
        std::FILE* f = std::fopen(conf.c_str(), "w");
        std::fprintf(f,
                     "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
                     (dir / "tokens").c_str());
        std::fclose(f);
    }
    auto module_path = p11::find_softhsm_module();
    if (!module_path) die("SoftHSM is not installed");
    SecretString so_pin("bench-so-pin"), user_pin("bench-user-pin");
    auto st = p11::init_token(*module_path, conf, "bench", so_pin, user_pin);
    if (!st.ok()) die(st.error().message());

    p11::ConnectOptions options;
    options.module_path = *module_path;
    options.token = "bench";
    options.pin = user_pin;
    options.softhsm2_conf = conf;
    auto hsm = must(p11::P11Hsm::connect(std::move(options)), "connect");
    const std::string mechanism = hsm->suite1_mechanism_name();
    auto store =
        must(store::SqliteStore::open(dir / "bench.db", store::Database::Mode::create_if_missing),
             "database");
    auto kw = must(core::assemble(std::move(hsm), std::move(store), Config{}), "open");
    // A second handle on the same token and database with `audit = strict`.
    p11::ConnectOptions strict_options;
    strict_options.module_path = *module_path;
    strict_options.token = "bench";
    strict_options.pin = user_pin;
    strict_options.softhsm2_conf = conf;
    Config strict_config;
    strict_config.audit_strict = true;
    auto kw_strict = must(
        core::assemble(
            must(p11::P11Hsm::connect(std::move(strict_options)), "connect strict"),
            must(store::SqliteStore::open(dir / "bench.db", store::Database::Mode::open_existing),
                 "database strict"),
            strict_config),
        "open strict");
    // The services alone, without access checks or audit: the library before issue 11.
    p11::ConnectOptions bare_options;
    bare_options.module_path = *module_path;
    bare_options.token = "bench";
    bare_options.pin = user_pin;
    bare_options.softhsm2_conf = conf;
    auto bare_hsm = must(p11::P11Hsm::connect(std::move(bare_options)), "connect bare");
    auto bare_store =
        must(store::SqliteStore::open(dir / "bench.db", store::Database::Mode::open_existing),
             "database bare");
    core::Keyrings bare_keyrings(*bare_hsm, *bare_store);
    core::WrapBudget bare_budget(*bare_store, Config{}.gcm_wrap_limit, Config{}.gcm_wrap_reserve);
    core::Envelopes unaudited(*bare_hsm, bare_keyrings, bare_budget);
    must(kw->create_keyring("b1", Suite::kwp), "keyring b1");
    must(kw->create_keyring("b2", Suite::gcm), "keyring b2");

    // A raw session on the same token for the bare PKCS#11 loops (login is per process).
    p11::ModuleOptions mo;
    mo.softhsm2_conf = conf;
    auto module = must(p11::Module::acquire(*module_path, mo), "module");
    auto slot = must(p11::find_token(module->functions(), "bench", *module_path), "token");
    auto session = must(p11::Session::open(module, slot.slot, true), "session");
    CK_FUNCTION_LIST* f = module->functions();
    CK_SESSION_HANDLE h = session.handle();
    auto find = [&](const char* label) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                            {CKA_LABEL, const_cast<char*>(label), std::strlen(label)}};
        CK_OBJECT_HANDLE o = 0;
        CK_ULONG n = 0;
        f->C_FindObjectsInit(h, t, 2);
        f->C_FindObjects(h, &o, 1, &n);
        f->C_FindObjectsFinal(h);
        if (n != 1) die(std::string("cannot find ") + label);
        return o;
    };
    const CK_OBJECT_HANDLE kek1 = find("keyward:b1:v1"), kek2 = find("keyward:b2:v1");
    CK_MECHANISM kwp{mechanism == "CKM_AES_KEY_WRAP_KWP" ? 0x210BUL : CKM_AES_KEY_WRAP_PAD, nullptr,
                     0};
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    std::uint8_t dek[32];
    RAND_bytes(dek, sizeof dek);
    std::uint8_t wrapped[40];
    CK_ULONG wrapped_len = sizeof wrapped;

    auto bare_wrap = [&] {
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof secret},
                            {CKA_KEY_TYPE, &generic, sizeof generic},
                            {CKA_TOKEN, &no, 1},
                            {CKA_PRIVATE, &no, 1},
                            {CKA_EXTRACTABLE, &yes, 1},
                            {CKA_SENSITIVE, &no, 1},
                            {CKA_VALUE, dek, sizeof dek}};
        CK_OBJECT_HANDLE o = 0;
        wrapped_len = sizeof wrapped;
        bool ok = f->C_CreateObject(h, t, 7, &o) == CKR_OK &&
                  f->C_WrapKey(h, &kwp, kek1, o, wrapped, &wrapped_len) == CKR_OK;
        return f->C_DestroyObject(h, o) == CKR_OK && ok;
    };
    auto bare_unwrap = [&] {
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof secret},
                            {CKA_KEY_TYPE, &generic, sizeof generic},
                            {CKA_TOKEN, &no, 1},
                            {CKA_PRIVATE, &no, 1},
                            {CKA_EXTRACTABLE, &yes, 1},
                            {CKA_SENSITIVE, &no, 1}};
        CK_OBJECT_HANDLE o = 0;
        std::uint8_t value[64];
        CK_ATTRIBUTE v{CKA_VALUE, value, sizeof value};
        bool ok = f->C_UnwrapKey(h, &kwp, kek1, wrapped, wrapped_len, t, 6, &o) == CKR_OK &&
                  f->C_GetAttributeValue(h, o, &v, 1) == CKR_OK;
        return f->C_DestroyObject(h, o) == CKR_OK && ok;
    };
    std::uint8_t iv[12] = {}, aad[24] = {}, gcm_out[48];
    CK_ULONG gcm_len = sizeof gcm_out;
    auto bare_gcm_wrap = [&] {
        RAND_bytes(iv, sizeof iv);
        CK_GCM_PARAMS p{iv, 12, 96, aad, sizeof aad, 128};
        CK_MECHANISM m{CKM_AES_GCM, &p, sizeof p};
        gcm_len = sizeof gcm_out;
        return f->C_EncryptInit(h, &m, kek2) == CKR_OK &&
               f->C_Encrypt(h, dek, sizeof dek, gcm_out, &gcm_len) == CKR_OK;
    };
    auto bare_gcm_unwrap = [&] {
        CK_GCM_PARAMS p{iv, 12, 96, aad, sizeof aad, 128};
        CK_MECHANISM m{CKM_AES_GCM, &p, sizeof p};
        std::uint8_t out[48];
        CK_ULONG n = sizeof out;
        return f->C_DecryptInit(h, &m, kek2) == CKR_OK &&
               f->C_Decrypt(h, gcm_out, gcm_len, out, &n) == CKR_OK;
    };

    Bytes plaintext(size, 0x5a), sealed_out;
    Bytes env1 =
        must(kw->seal("b1", plaintext, as_bytes(std::string_view("record:bench/x#1"))), "seal");
    Bytes env2 =
        must(kw->seal("b2", plaintext, as_bytes(std::string_view("record:bench/x#1"))), "seal");
    const ByteView ctx = as_bytes(std::string_view("record:bench/x#1"));

    std::printf("keyward seal/open, %zu-byte records, %d iterations each, 1 thread, SoftHSM %s\n",
                size, iterations, mechanism.c_str());
    auto openssl = measure(iterations, [&] { return openssl_seal(plaintext, sealed_out); });
    auto wrap1 = measure(iterations, bare_wrap);
    auto unwrap1 = measure(iterations, bare_unwrap);
    auto seal1 = measure(iterations, [&] { return kw->seal("b1", plaintext, ctx).ok(); });
    auto open1 = measure(iterations, [&] { return kw->open(env1, ctx).ok(); });
    auto wrap2 = measure(iterations, bare_gcm_wrap);
    auto unwrap2 = measure(iterations, bare_gcm_unwrap);
    auto seal2 = measure(iterations, [&] { return kw->seal("b2", plaintext, ctx).ok(); });
    auto open2 = measure(iterations, [&] { return kw->open(env2, ctx).ok(); });

    row("bare OpenSSL EVP AES-256-GCM (key+nonce+seal)", openssl);
    row("bare token suite 1 wrap (create+wrap+destroy)", wrap1);
    row("bare token suite 1 unwrap (unwrap+get+destroy)", unwrap1);
    row("keyward seal, suite 1", seal1);
    row("keyward open, suite 1", open1);
    row("bare token suite 2 wrap (C_Encrypt GCM)", wrap2);
    row("bare token suite 2 unwrap (C_Decrypt GCM)", unwrap2);
    row("keyward seal, suite 2", seal2);
    row("keyward open, suite 2", open2);
    auto ratio = [](const Stats& kw_s, const Stats& a, const Stats& b) {
        return kw_s.p50_us / (a.p50_us + b.p50_us);
    };
    std::printf(
        "ratio keyward p50 / (bare token p50 + bare OpenSSL p50):\n"
        "  seal suite 1 %.2f   open suite 1 %.2f   seal suite 2 %.2f   open suite 2 %.2f\n",
        ratio(seal1, wrap1, openssl), ratio(open1, unwrap1, openssl), ratio(seal2, wrap2, openssl),
        ratio(open2, unwrap2, openssl));

    // The audit log's cost, suite 1, in one run. Strict entries are one token HMAC and one
    // durable SQLite commit each: fewer iterations.
    const int strict_iterations = std::max(200, iterations / 20);
    auto [seal_bare, seal_grouped] = measure_pair(
        iterations, [&] { return unaudited.seal("b1", plaintext, ctx).ok(); },
        [&] { return kw->seal("b1", plaintext, ctx).ok(); });
    auto [open_bare, open_grouped] = measure_pair(
        iterations, [&] { return unaudited.open(env1, ctx).ok(); },
        [&] { return kw->open(env1, ctx).ok(); });
    auto seal_strict =
        measure(strict_iterations, [&] { return kw_strict->seal("b1", plaintext, ctx).ok(); });
    auto open_strict = measure(strict_iterations, [&] { return kw_strict->open(env1, ctx).ok(); });
    std::printf(
        "audit cost, suite 1 (%d iterations, without and grouped alternating; strict %d):\n",
        iterations, strict_iterations);
    row("seal without audit (services only)", seal_bare);
    row("seal, audit grouped (default)", seal_grouped);
    row("seal, audit strict", seal_strict);
    row("open without audit (services only)", open_bare);
    row("open, audit grouped (default)", open_grouped);
    row("open, audit strict", open_strict);
    std::printf(
        "ratio to without audit, mean (p50):\n"
        "  seal grouped %.2f (%.2f)   open grouped %.2f (%.2f)   seal strict %.1f (%.1f)   "
        "open strict %.1f (%.1f)\n",
        seal_grouped.mean_us / seal_bare.mean_us, seal_grouped.p50_us / seal_bare.p50_us,
        open_grouped.mean_us / open_bare.mean_us, open_grouped.p50_us / open_bare.p50_us,
        seal_strict.mean_us / seal_bare.mean_us, seal_strict.p50_us / seal_bare.p50_us,
        open_strict.mean_us / open_bare.mean_us, open_strict.p50_us / open_bare.p50_us);
    kw.reset();
    kw_strict.reset();
    std::filesystem::remove_all(dir);
    return 0;
}
