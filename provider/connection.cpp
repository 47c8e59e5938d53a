// SPDX-License-Identifier: Apache-2.0
// The provider's keyward handle, opened on first use, and errors into OpenSSL's queue.
#include <cstdarg>
#include <string>

#include "keyward/format.hpp"
#include "provider.hpp"

namespace keyward::provider {

namespace {

// The core's error functions: plain pointers (no non-trivial global object).
OSSL_FUNC_core_new_error_fn* c_new_error = nullptr;
OSSL_FUNC_core_set_error_debug_fn* c_set_error_debug = nullptr;
OSSL_FUNC_core_vset_error_fn* c_vset_error = nullptr;
OSSL_FUNC_core_set_error_mark_fn* c_set_error_mark = nullptr;
OSSL_FUNC_core_pop_error_to_mark_fn* c_pop_error_to_mark = nullptr;

void set_error(const OSSL_CORE_HANDLE* handle, int reason, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    c_vset_error(handle, static_cast<std::uint32_t>(reason), fmt, ap);
    va_end(ap);
}

}  // namespace

const OSSL_ITEM kReasonStrings[] = {
    {kReasonNotConfigured, const_cast<char*>("keyward is not configured")},
    {kReasonCannotOpen, const_cast<char*>("keyward could not open its token or database")},
    {kReasonUnknownKeyring, const_cast<char*>("unknown keyring")},
    {kReasonBadUri, const_cast<char*>("bad keyward: URI")},
    {kReasonAccessDenied, const_cast<char*>("access denied")},
    {kReasonOperationFailed, const_cast<char*>("keyward operation failed")},
    {kReasonBufferTooSmall, const_cast<char*>("output buffer too small")},
    {0, nullptr},
};

void take_core_functions(const OSSL_DISPATCH* in) {
    for (; in != nullptr && in->function_id != 0; ++in) {
        switch (in->function_id) {
            case OSSL_FUNC_CORE_NEW_ERROR:
                c_new_error = OSSL_FUNC_core_new_error(in);
                break;
            case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
                c_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
                break;
            case OSSL_FUNC_CORE_VSET_ERROR:
                c_vset_error = OSSL_FUNC_core_vset_error(in);
                break;
            case OSSL_FUNC_CORE_SET_ERROR_MARK:
                c_set_error_mark = OSSL_FUNC_core_set_error_mark(in);
                break;
            case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
                c_pop_error_to_mark = OSSL_FUNC_core_pop_error_to_mark(in);
                break;
            default:
                break;
        }
    }
}

void raise_error(const ProviderContext* ctx, int reason, const std::string& message,
                 const char* file, int line, const char* func) {
    if (ctx == nullptr || c_new_error == nullptr || c_vset_error == nullptr) return;
    c_new_error(ctx->handle);
    if (c_set_error_debug != nullptr) c_set_error_debug(ctx->handle, file, line, func);
    // "%s": a keyring name with a % in it is text, not a format.
    set_error(ctx->handle, reason, "%s", message.c_str());
}

void raise_error(const ProviderContext* ctx, const Error& error, const char* file, int line,
                 const char* func) {
    int reason = kReasonOperationFailed;
    if (error.code() == Errc::access_denied) reason = kReasonAccessDenied;
    if (error.code() == Errc::not_found) reason = kReasonUnknownKeyring;
    raise_error(ctx, reason, error.message(), file, line, func);
}

QuietErrors::QuietErrors(const ProviderContext* ctx)
    : handle_(ctx != nullptr ? ctx->handle : nullptr) {
    if (c_set_error_mark != nullptr) c_set_error_mark(handle_);
}

QuietErrors::~QuietErrors() {
    if (c_pop_error_to_mark != nullptr) c_pop_error_to_mark(handle_);
}

Keyward* ProviderContext::connect() {
    std::lock_guard lock(mutex);
    if (keyward != nullptr) return keyward;
    if (!open_failure.empty() &&
        (open_failure_final || std::chrono::steady_clock::now() < retry_after)) {
        KW_RAISE(this, kReasonCannotOpen, open_failure);
        return nullptr;
    }
    if (config_path.empty()) {
        KW_RAISE(this, kReasonNotConfigured,
                 "no keyward configuration: set keyward-config in the provider's openssl.cnf "
                 "section, or KEYWARD_CONFIG");
        return nullptr;
    }
    auto config = load_config(config_path);
    if (!config.ok()) {
        KW_RAISE(this, config.error());
        return nullptr;
    }
    // The handle is never closed (see keyward above): every entry is written before the call
    // returns.
    config->audit_strict = true;
    OpenOptions options;
    options.keep_module_loaded = true;
    options.act_as = principal;
    Result<std::unique_ptr<Keyward>> opened = Error(Errc::failed, "not opened");
    {
        QuietErrors quiet(this);
        opened = Keyward::open(*config, options);
    }
    if (!opened.ok()) {
        const Errc code = opened.error().code();
        open_failure = opened.error().message();
        open_failure_final = code == Errc::pin_incorrect || code == Errc::pin_locked ||
                             code == Errc::bad_config || code == Errc::token_mismatch;
        retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        KW_RAISE(this, kReasonCannotOpen, open_failure);
        return nullptr;
    }
    open_failure.clear();
    keyward = opened->release();
    return keyward;
}

Result<Bytes> blob_for(const Key& key, ByteView in) {
    Bytes binary;
    if (is_text_form(in)) {
        KW_TRY(binary, from_text_form(
                           std::string_view(reinterpret_cast<const char*>(in.data()), in.size())));
    } else {
        binary.assign(in.begin(), in.end());
    }
    KW_TRY(auto header, inspect_blob(binary));
    if (header.kind != BlobKind::data_key) {
        return Error(Errc::bad_magic, "not a data key blob (kwk1)");
    }
    if (header.keyring != key.keyring) {
        return Error(Errc::bad_input, "the blob is of keyring " + header.keyring +
                                          ", not of keyward:" + key.keyring);
    }
    if (key.version != 0 && header.kek_version != key.version) {
        return Error(Errc::bad_input, "the blob is of version " +
                                          std::to_string(header.kek_version) + ", not of keyward:" +
                                          key.keyring + ";version=" + std::to_string(key.version));
    }
    return binary;
}

Status check_wrap_version(Keyward& kw, const Key& key) {
    if (key.version == 0) return ok_status();
    KW_TRY(auto ring, kw.keyring(key.keyring));
    for (const auto& v : ring.versions) {
        if (v.state == KekState::active && v.version == key.version) return ok_status();
    }
    return Error(Errc::state_refused, "keyward:" + key.keyring +
                                          ";version=" + std::to_string(key.version) +
                                          " is not the active version: blobs are wrapped under "
                                          "the active one (use keyward:" +
                                          key.keyring + ")");
}

std::size_t longest_blob(const Key& key, std::size_t key_size) {
    // docs/FORMAT.md: magic, suite, name length, name, version, wrapped length, wrapped key;
    // suite 1 wraps to 8 * ceil(n / 8) + 8 bytes, suite 2 to IV 12 + n + tag 16.
    const std::size_t header = 4 + 1 + 1 + key.keyring.size() + 4 + 2;
    const std::size_t suite1 = (key_size + 7) / 8 * 8 + 8;
    const std::size_t suite2 = 12 + key_size + 16;
    return header + (suite1 > suite2 ? suite1 : suite2);
}

void release(Key* key) noexcept {
    if (key != nullptr && key->references.fetch_sub(1) == 1) delete key;
}

}  // namespace keyward::provider
