// SPDX-License-Identifier: Apache-2.0
// The C API of include/keyward/keyward.h over keyward::Keyward: status codes are CLI exit
// codes, buffers are malloc'd, and no exception ever crosses the C boundary.
#include "keyward/keyward.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "keyward/json.hpp"
#include "keyward/keyward.hpp"

struct keyward_handle {
    std::unique_ptr<keyward::Keyward> kw;
    std::mutex error_mutex;  // serialises writes of last_error (reads are documented unsafe)
    std::string last_error;
};

namespace {

// Message of the last failed keyward_open (or call with a NULL handle) on this thread.
thread_local std::string tl_error;

void set_message(keyward_handle* h, const char* msg) noexcept {
    try {
        if (h == nullptr) {
            tl_error = msg;
        } else {
            std::lock_guard<std::mutex> lock(h->error_mutex);
            h->last_error = msg;
        }
    } catch (...) {
        // Out of memory while recording the message: the status code still tells the caller.
    }
}

int fail(keyward_handle* h, int code, const std::string& msg) noexcept {
    set_message(h, msg.c_str());
    return code;
}

int fail(keyward_handle* h, const keyward::Error& e) noexcept {
    return fail(h, e.exit_code(), e.message());
}

int succeed(keyward_handle* h) noexcept {
    set_message(h, "");
    return KEYWARD_OK;
}

// Runs body, turning any exception into status 1 with a message.
template <typename F>
int guarded(keyward_handle* h, const char* fn, F&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        try {
            return fail(h, KEYWARD_ERR_FAILED, std::string(fn) + ": internal error: " + e.what());
        } catch (...) {
            return KEYWARD_ERR_FAILED;
        }
    } catch (...) {
        set_message(h, "internal error: unexpected exception");
        return KEYWARD_ERR_FAILED;
    }
}

int usage(keyward_handle* h, const char* fn, const char* what) {
    return fail(h, KEYWARD_ERR_USAGE,
                std::string(fn) + ": " + what + " is NULL; pass a valid pointer (see keyward.h)");
}

// Clears an output pair so that callers see NULL/0 on every failure.
void reset(uint8_t** out, size_t* out_len) noexcept {
    if (out != nullptr) *out = nullptr;
    if (out_len != nullptr) *out_len = 0;
}

// A malloc'd copy of n bytes (never NULL on success, even for n == 0).
uint8_t* copy_out(const uint8_t* data, size_t n) noexcept {
    auto* p = static_cast<uint8_t*>(std::malloc(n == 0 ? 1 : n));
    if (p != nullptr && n != 0) std::memcpy(p, data, n);
    return p;
}

int out_of_memory(keyward_handle* h, const char* fn, size_t n) {
    return fail(
        h, KEYWARD_ERR_FAILED,
        std::string(fn) + ": cannot allocate " + std::to_string(n) + " bytes for the result");
}

keyward::ByteView view(const uint8_t* p, size_t n) {
    return n == 0 ? keyward::ByteView{} : keyward::ByteView{p, n};
}

// Stores a public result in *out; status.
int give_public(keyward_handle* h, const char* fn, const keyward::Bytes& b, uint8_t** out,
                size_t* out_len) {
    uint8_t* p = copy_out(b.data(), b.size());
    if (p == nullptr) return out_of_memory(h, fn, b.size());
    *out = p;
    *out_len = b.size();
    return succeed(h);
}

// Stores a secret result in *out (the SecretBytes source wipes itself when destroyed).
int give_secret(keyward_handle* h, const char* fn, const keyward::SecretBytes& s, uint8_t** out,
                size_t* out_len) {
    uint8_t* p = copy_out(s.data(), s.size());
    if (p == nullptr) return out_of_memory(h, fn, s.size());
    *out = p;
    *out_len = s.size();
    return succeed(h);
}

}  // namespace

extern "C" {

int keyward_abi_version(void) {
    return KEYWARD_ABI_VERSION;
}

int keyward_open(const char* config_path, keyward_handle** out) {
    return keyward_open_as(config_path, nullptr, out);
}

int keyward_open_as(const char* config_path, const char* principal, keyward_handle** out) {
    return guarded(nullptr, "keyward_open", [&]() -> int {
        if (out == nullptr) return usage(nullptr, "keyward_open", "out");
        *out = nullptr;
        std::optional<std::filesystem::path> flag;
        if (config_path != nullptr) flag = std::filesystem::path(config_path);
        auto path = keyward::locate_config(flag);
        if (!path) return fail(nullptr, path.error());
        auto config = keyward::load_config(*path);
        if (!config) return fail(nullptr, config.error());
        keyward::OpenOptions options;
        if (principal != nullptr) options.act_as = principal;
        auto kw = keyward::Keyward::open(*config, options);
        if (!kw) return fail(nullptr, kw.error());
        auto h = std::make_unique<keyward_handle>();
        h->kw = std::move(*kw);
        tl_error.clear();
        *out = h.release();
        return KEYWARD_OK;
    });
}

void keyward_close(keyward_handle* handle) {
    try {
        delete handle;
    } catch (...) {
        // ~Keyward does not throw; nothing may cross the C boundary regardless.
    }
}

int keyward_seal(keyward_handle* handle, const char* keyring, const uint8_t* pt, size_t pt_len,
                 const uint8_t* ctx, size_t ctx_len, uint8_t** out, size_t* out_len) {
    static constexpr const char* fn = "keyward_seal";
    reset(out, out_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (keyring == nullptr) return usage(handle, fn, "keyring");
        if (pt == nullptr && pt_len != 0) return usage(handle, fn, "plaintext");
        if (ctx == nullptr && ctx_len != 0) return usage(handle, fn, "context");
        if (out == nullptr || out_len == nullptr) return usage(handle, fn, "output pointer");
        auto env = handle->kw->seal(keyring, view(pt, pt_len), view(ctx, ctx_len));
        if (!env) return fail(handle, env.error());
        return give_public(handle, fn, *env, out, out_len);
    });
}

int keyward_open_envelope(keyward_handle* handle, const uint8_t* env, size_t env_len,
                          const uint8_t* ctx, size_t ctx_len, uint8_t** out, size_t* out_len) {
    static constexpr const char* fn = "keyward_open_envelope";
    reset(out, out_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (env == nullptr) return usage(handle, fn, "envelope");
        if (ctx == nullptr && ctx_len != 0) return usage(handle, fn, "context");
        if (out == nullptr || out_len == nullptr) return usage(handle, fn, "output pointer");
        auto pt = handle->kw->open(view(env, env_len), view(ctx, ctx_len));
        if (!pt) return fail(handle, pt.error());
        return give_secret(handle, fn, *pt, out, out_len);
    });
}

int keyward_rewrap(keyward_handle* handle, const uint8_t* in, size_t in_len, uint8_t** out,
                   size_t* out_len) {
    static constexpr const char* fn = "keyward_rewrap";
    reset(out, out_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (in == nullptr) return usage(handle, fn, "input");
        if (out == nullptr || out_len == nullptr) return usage(handle, fn, "output pointer");
        auto r = handle->kw->rewrap(view(in, in_len));
        if (!r) return fail(handle, r.error());
        return give_public(handle, fn, *r, out, out_len);
    });
}

int keyward_datakey(keyward_handle* handle, const char* keyring, size_t bytes, uint8_t** key,
                    size_t* key_len, uint8_t** blob, size_t* blob_len) {
    static constexpr const char* fn = "keyward_datakey";
    reset(key, key_len);
    reset(blob, blob_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (keyring == nullptr) return usage(handle, fn, "keyring");
        if (key == nullptr || key_len == nullptr || blob == nullptr || blob_len == nullptr) {
            return usage(handle, fn, "output pointer");
        }
        auto dk = handle->kw->generate_data_key(keyring, bytes);
        if (!dk) return fail(handle, dk.error());
        uint8_t* k = copy_out(dk->key.data(), dk->key.size());
        if (k == nullptr) return out_of_memory(handle, fn, dk->key.size());
        uint8_t* b = copy_out(dk->blob.data(), dk->blob.size());
        if (b == nullptr) {
            keyward_free_secret(k, dk->key.size());
            return out_of_memory(handle, fn, dk->blob.size());
        }
        *key = k;
        *key_len = dk->key.size();
        *blob = b;
        *blob_len = dk->blob.size();
        return succeed(handle);
    });
}

int keyward_datakey_decrypt(keyward_handle* handle, const uint8_t* blob, size_t blob_len,
                            uint8_t** key, size_t* key_len) {
    static constexpr const char* fn = "keyward_datakey_decrypt";
    reset(key, key_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (blob == nullptr) return usage(handle, fn, "blob");
        if (key == nullptr || key_len == nullptr) return usage(handle, fn, "output pointer");
        auto k = handle->kw->decrypt_data_key(view(blob, blob_len));
        if (!k) return fail(handle, k.error());
        return give_secret(handle, fn, *k, key, key_len);
    });
}

int keyward_put(keyward_handle* handle, const char* address, const char* kind, const uint8_t* value,
                size_t value_len, const char* expires, uint32_t* version) {
    static constexpr const char* fn = "keyward_put";
    if (version != nullptr) *version = 0;
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (address == nullptr) return usage(handle, fn, "address");
        if (kind == nullptr) return usage(handle, fn, "kind");
        if (value == nullptr && value_len != 0) return usage(handle, fn, "value");
        auto v = handle->kw->put_record(address, kind, view(value, value_len),
                                        expires == nullptr ? "" : expires);
        if (!v) return fail(handle, v.error());
        if (version != nullptr) *version = *v;
        return succeed(handle);
    });
}

int keyward_get(keyward_handle* handle, const char* address, uint32_t version, uint8_t** value,
                size_t* value_len) {
    static constexpr const char* fn = "keyward_get";
    reset(value, value_len);
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (address == nullptr) return usage(handle, fn, "address");
        if (value == nullptr || value_len == nullptr) return usage(handle, fn, "output pointer");
        auto v = handle->kw->get_record(address, version);
        if (!v) return fail(handle, v.error());
        return give_secret(handle, fn, *v, value, value_len);
    });
}

int keyward_list(keyward_handle* handle, const char* ns, const char* kind, char** json,
                 size_t* json_len) {
    static constexpr const char* fn = "keyward_list";
    if (json != nullptr) *json = nullptr;
    if (json_len != nullptr) *json_len = 0;
    return guarded(handle, fn, [&]() -> int {
        if (handle == nullptr) return usage(nullptr, fn, "handle");
        if (json == nullptr) return usage(handle, fn, "json");
        auto rows = handle->kw->records(ns == nullptr ? "" : ns, kind == nullptr ? "" : kind);
        if (!rows) return fail(handle, rows.error());
        keyward::Json doc;
        doc.begin_object().key("records").begin_array();
        for (const auto& r : *rows) keyward::record_json(doc, r);
        doc.end_array().end_object();
        const auto text = doc.str();
        auto* p = static_cast<char*>(std::malloc(text.size() + 1));
        if (p == nullptr) return out_of_memory(handle, fn, text.size() + 1);
        std::memcpy(p, text.data(), text.size());
        p[text.size()] = '\0';
        *json = p;
        if (json_len != nullptr) *json_len = text.size();
        return succeed(handle);
    });
}

void keyward_free(void* p) {
    std::free(p);
}

void keyward_free_secret(void* p, size_t len) {
    if (p == nullptr) return;
    keyward::secure_wipe(p, len);
    std::free(p);
}

const char* keyward_last_error(const keyward_handle* handle) {
    if (handle == nullptr) return tl_error.c_str();
    return handle->last_error.c_str();
}

const char* keyward_open_error(void) {
    return tl_error.c_str();
}

const char* keyward_error_name(int code) {
    switch (code) {
        case KEYWARD_OK:
            return "ok";
        case KEYWARD_ERR_FAILED:
            return "failed";
        case KEYWARD_ERR_USAGE:
            return "usage";
        case KEYWARD_ERR_AUTH:
            return "auth_failed";
        case KEYWARD_ERR_NOT_FOUND:
            return "not_found";
        case KEYWARD_ERR_ACCESS_DENIED:
            return "access_denied";
        case KEYWARD_ERR_HSM_UNAVAILABLE:
            return "hsm_unavailable";
        default:
            return "unknown";
    }
}

}  // extern "C"
