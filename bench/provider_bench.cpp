// SPDX-License-Identifier: Apache-2.0
// The OpenSSL provider's cost over the library it adapts (issue 12: at most 1.2x at p50). On a
// fresh SoftHSM token, in one process and one run: wrap and unwrap of a 32-byte data key
// through the EVP C API (EVP_PKEY_encrypt / EVP_PKEY_decrypt on a keyward:NAME key, a new
// EVP_PKEY_CTX per operation, as applications do) against Keyward::wrap_data_key and
// decrypt_data_key on a handle opened with the same options as the provider's (strict audit
// entries). The four are interleaved in every iteration, because SoftHSM 2.6.1 slows as its
// session objects pile up (docs/PERFORMANCE.md) and back-to-back loops would favour the first.
//
// usage: provider_bench [--iterations N] [--dir DIR] [--provider-dir DIR]
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench_stats.hpp"
#include "keyward/keyward.hpp"
#include "keyward/setup.hpp"

namespace {

using namespace keyward;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

using bench::Stats;
using bench::stats_of;

void row(const char* what, const Stats& s) {
    std::printf("  %-36s p50 %7.1f us   p99 %7.1f us   mean %7.1f us   %8.0f ops/s\n", what,
                s.p50_us, s.p99_us, s.mean_us, 1e6 / s.mean_us);
}

[[noreturn]] void die(const std::string& what) {
    char buf[256] = "";
    if (unsigned long e = ERR_peek_last_error(); e != 0) ERR_error_string_n(e, buf, sizeof buf);
    std::fprintf(stderr, "provider_bench: %s %s\n", what.c_str(), buf);
    std::exit(1);
}

template <typename T>
T must(Result<T> r, const char* what) {
    if (!r.ok()) die(std::string(what) + ": " + r.error().message());
    return std::move(r).value();
}

void must(const Status& s, const char* what) {
    if (!s.ok()) die(std::string(what) + ": " + s.error().message());
}

void write_private(const fs::path& path, std::string_view text) {
    std::ofstream f(path, std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

// What `keyward init --softhsm DIR` makes: a SoftHSM token, its PINs, a database, a config.
fs::path make_setup(const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir / "tokens");
    auto module = setup::find_softhsm_module();
    if (!module) die("SoftHSM is not installed");
    const auto so_pin = must(setup::generate_pin(), "PIN");
    const auto user_pin = must(setup::generate_pin(), "PIN");
    write_private(dir / "softhsm2.conf", setup::softhsm_config_text(dir / "tokens"));
    write_private(dir / "user.pin", std::string_view(user_pin.data(), user_pin.size()));
    must(setup::init_token(*module, (dir / "softhsm2.conf").string(), "bench", so_pin, user_pin),
         "init token");
    must(setup::create_database(dir / "keyward.db"), "create database");
    const fs::path conf = dir / "keyward.conf";
    write_private(conf, "module = " + *module +
                            "\ntoken = bench\npin = file:" + (dir / "user.pin").string() +
                            "\ndatabase = " + (dir / "keyward.db").string() +
                            "\nsofthsm2_conf = " + (dir / "softhsm2.conf").string() + "\n");
    return conf;
}

// Resident memory in bytes (VmRSS), to show what a never-finalised module keeps per operation.
long resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) * 1024;
    }
    return 0;
}

EVP_PKEY* provider_key(const std::string& uri) {
    OSSL_STORE_CTX* store = OSSL_STORE_open_ex(uri.c_str(), nullptr, nullptr, nullptr, nullptr,
                                               nullptr, nullptr, nullptr);
    if (store == nullptr) die("OSSL_STORE_open_ex " + uri);
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    EVP_PKEY* key = nullptr;
    while (key == nullptr && OSSL_STORE_eof(store) == 0) {
        OSSL_STORE_INFO* info = OSSL_STORE_load(store);
        if (info == nullptr) break;
        key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    if (key == nullptr) die("no key for " + uri);
    return key;
}

bool evp_wrap(EVP_PKEY* key, const Bytes& dek, Bytes& blob) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    blob.resize(256);
    std::size_t n = blob.size();
    const bool ok = ctx != nullptr && EVP_PKEY_encrypt_init(ctx) > 0 &&
                    EVP_PKEY_encrypt(ctx, blob.data(), &n, dek.data(), dek.size()) > 0;
    EVP_PKEY_CTX_free(ctx);
    blob.resize(n);
    return ok;
}

bool evp_unwrap(EVP_PKEY* key, const Bytes& blob, const Bytes& expected) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    unsigned char out[64];
    std::size_t n = sizeof out;
    const bool ok = ctx != nullptr && EVP_PKEY_decrypt_init(ctx) > 0 &&
                    EVP_PKEY_decrypt(ctx, out, &n, blob.data(), blob.size()) > 0 &&
                    n == expected.size() && std::memcmp(out, expected.data(), n) == 0;
    OPENSSL_cleanse(out, sizeof out);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = 5000;
    fs::path dir = fs::temp_directory_path() / "keyward-provider-bench";
    std::string provider_dir = KEYWARD_PROVIDER_BUILD_DIR;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--iterations")
            iterations = std::atoi(argv[i + 1]);
        else if (flag == "--dir")
            dir = argv[i + 1];
        else if (flag == "--provider-dir")
            provider_dir = argv[i + 1];
        else
            die("unknown option " + flag);
    }
    if (iterations < 100) die("--iterations must be at least 100");
    const fs::path conf = make_setup(fs::absolute(dir));
    ::setenv("KEYWARD_CONFIG", conf.c_str(), 1);

    auto config = must(load_config(conf), "config");
    config.audit_strict = true;  // as the provider opens its handle
    OpenOptions options;
    options.keep_module_loaded = true;
    auto kw = must(Keyward::open(config, options), "open");
    must(kw->create_keyring("bench"), "keyring create");

    if (OSSL_PROVIDER_set_default_search_path(nullptr, provider_dir.c_str()) == 0 ||
        OSSL_PROVIDER_load(nullptr, "default") == nullptr ||
        OSSL_PROVIDER_load(nullptr, "keyward") == nullptr) {
        die("cannot load keyward.so from " + provider_dir);
    }
    EVP_PKEY* key = provider_key("keyward:bench");

    Bytes dek(32);
    for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<unsigned char>(i);
    const std::size_t n = static_cast<std::size_t>(iterations);
    std::vector<double> lib_wrap(n), lib_unwrap(n), evp_wrap_us(n), evp_unwrap_us(n);
    Bytes evp_blob;
    auto micros = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double, std::micro>(b - a).count();
    };
    long rss_before = 0;
    for (std::size_t i = 0; i < n + n / 10; ++i) {  // the first tenth warms up
        if (i == n / 10) rss_before = resident_bytes();
        const auto t0 = Clock::now();
        auto blob = kw->wrap_data_key("bench", dek);
        const auto t1 = Clock::now();
        const bool evp_wrapped = evp_wrap(key, dek, evp_blob);
        const auto t2 = Clock::now();
        if (!blob.ok() || !evp_wrapped) die("wrap failed");
        auto back = kw->decrypt_data_key(*blob);
        const auto t3 = Clock::now();
        const bool evp_unwrapped = evp_unwrap(key, evp_blob, dek);
        const auto t4 = Clock::now();
        if (!back.ok() || !evp_unwrapped) die("unwrap failed");
        if (i < n / 10) continue;
        const std::size_t k = i - n / 10;
        lib_wrap[k] = micros(t0, t1);
        evp_wrap_us[k] = micros(t1, t2);
        lib_unwrap[k] = micros(t2, t3);
        evp_unwrap_us[k] = micros(t3, t4);
    }
    const long rss_growth = resident_bytes() - rss_before;
    const Stats lw = stats_of(lib_wrap), ew = stats_of(evp_wrap_us);
    const Stats lu = stats_of(lib_unwrap), eu = stats_of(evp_unwrap_us);
    std::printf(
        "keyward provider vs library, 32-byte data keys, %d iterations, SoftHSM, strict "
        "audit entries\n",
        iterations);
    row("library wrap_data_key", lw);
    row("provider EVP_PKEY_encrypt", ew);
    row("library decrypt_data_key", lu);
    row("provider EVP_PKEY_decrypt", eu);
    std::printf("  provider / library at p50: wrap %.2fx, unwrap %.2fx (limit 1.20x)\n",
                ew.p50_us / lw.p50_us, eu.p50_us / lu.p50_us);
    std::printf(
        "  resident memory grew %.0f bytes per token operation over the run (SoftHSM keeps "
        "session objects until C_Finalize, which the provider never calls)\n",
        static_cast<double>(rss_growth) / static_cast<double>(4 * n));
    EVP_PKEY_free(key);
    return 0;
}
