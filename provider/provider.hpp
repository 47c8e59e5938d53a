// SPDX-License-Identifier: Apache-2.0
// What keyward.so's parts share: the provider context with its lazily opened keyward handle,
// the key object, errors raised into the caller's OpenSSL queue, and the dispatch tables.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "keyward/keyward.hpp"

namespace keyward::provider {

/// Made by OSSL_provider_init, freed by teardown. The token is touched on the first key
/// operation only (DESIGN.md: SoftHSM calls back into libcrypto during OpenSSL's init).
struct ProviderContext {
    const OSSL_CORE_HANDLE* handle = nullptr;
    std::string config_path;  ///< keyward-config from openssl.cnf, else $KEYWARD_CONFIG
    std::string principal;    ///< principal from openssl.cnf; empty: the config's

    /// The process's keyward handle for this configuration and principal, opened on first use
    /// and shared by every provider instance (library context) that names the same pair. It
    /// is never closed: teardown runs inside OPENSSL_cleanup, where nothing may touch the
    /// token, so its entries are written strictly. After fork() the child opens its own on
    /// first use (PKCS#11 needs C_Initialize in the child). nullptr after raising one error
    /// that says why.
    Keyward* connect() const;
};

/// An EVP_PKEY's provider side: a keyring, and a version when the URI pinned one. Immutable
/// once made (an EVP_PKEY may be used from several threads); shared by reference count.
struct Key {
    static constexpr std::uint32_t kMagic = 0x4b57504b;  // "KWPK"
    std::uint32_t magic = kMagic;
    std::atomic<int> references{1};
    ProviderContext* provider = nullptr;
    std::string keyring;
    std::uint32_t version = 0;  ///< 0: the active version to wrap, the blob's to unwrap
};
void release(Key* key) noexcept;

enum Reason : int {
    kReasonNotConfigured = 1,
    kReasonCannotOpen = 2,
    kReasonUnknownKeyring = 3,
    kReasonBadUri = 4,
    kReasonAccessDenied = 5,
    kReasonOperationFailed = 6,
    kReasonBufferTooSmall = 7,
    kReasonBadParameter = 8,
};
extern const OSSL_ITEM kReasonStrings[];

/// Takes the core's functions from the table OSSL_provider_init receives, once per process
/// (libcrypto gives every instance the same ones). false without core_get_params.
bool take_core_functions(const OSSL_DISPATCH* in);
/// The core's get_params (set by take_core_functions).
int core_get_params(const OSSL_CORE_HANDLE* handle, OSSL_PARAM params[]);
/// Raises one error in the caller's OpenSSL error queue (the message is passed as "%s").
void raise_error(const ProviderContext* ctx, int reason, const std::string& message,
                 const char* file, int line, const char* func);
/// An Error from the library, as the OpenSSL error it maps to.
void raise_error(const ProviderContext* ctx, const Error& error, const char* file, int line,
                 const char* func);
/// Raises a fixed message: no allocation, so it cannot throw (catch blocks, parameter errors).
void raise_literal(const ProviderContext* ctx, int reason, const char* message) noexcept;
/// What a dispatch function's catch block raises.
void raise_unexpected(const ProviderContext* ctx) noexcept;
#define KW_RAISE(ctx, ...) \
    ::keyward::provider::raise_error((ctx), __VA_ARGS__, __FILE__, __LINE__, __func__)

/// Keeps what the token's own libcrypto use leaves in the thread's error queue (SoftHSM loads
/// engines, probes ciphers) out of the caller's queue: everything raised inside its life is
/// dropped when it ends. Raise keyward's own error after it.
class QuietErrors {
  public:
    explicit QuietErrors(const ProviderContext* ctx);
    ~QuietErrors();
    QuietErrors(const QuietErrors&) = delete;
    QuietErrors& operator=(const QuietErrors&) = delete;

  private:
    const OSSL_CORE_HANDLE* handle_;
};

/// The binary data key blob in `in` (binary, or the kwk1: text form decoded), refused unless
/// it is of the key's keyring and, when the URI pinned one, of that version: -inkey
/// keyward:A never unwraps keyring B's blob.
Result<Bytes> blob_for(const Key& key, ByteView in);
/// The longest blob a wrap of `key_size` bytes under this keyring can give (either suite): the
/// output room asked for before the token does any work.
std::size_t longest_blob(const Key& key, std::size_t key_size);
/// The longest data key that `in` (a kwk1 blob, binary or text, or raw RFC 5649 when raw) can
/// hold, from its length and header alone: the room a decrypt needs before the token works.
/// 0 when `in` cannot hold one (the unwrap then fails with the precise reason).
std::size_t longest_unwrapped(ByteView in, bool raw);
/// Raw RFC 5649 output of a key_size-byte key: 8 * ceil(n / 8) + 8 bytes.
std::size_t raw_wrap_size(std::size_t key_size);
/// The error for raw mode with a key that pins no version (raw output names none).
std::string raw_needs_version(const Key& key);

/// Upper bound of a data key blob or raw wrap, reported as the key's max-size so that
/// pkeyutl reads inputs and sizes outputs right (OpenSSL 3.0 reads at most 10x max-size).
inline constexpr int kMaxSize = 256;
inline constexpr const char* kKeyType = "KEYWARD";

/// What an asymmetric-cipher or KEM context holds: the provider and the key it was
/// initialised with (one reference).
struct OperationContext {
    ProviderContext* provider = nullptr;
    Key* key = nullptr;
    /// keyward-format=raw (asymmetric cipher only): raw RFC 5649 instead of a kwk1 blob.
    bool raw = false;
};
/// The asymmetric cipher's one context parameter: "kwk1" (default) or "raw".
inline constexpr const char* kFormatParam = "keyward-format";
void* operation_newctx(void* provctx);
void operation_freectx(void* ctx);
/// encrypt_init, decrypt_init, encapsulate_init, decapsulate_init: takes a reference to the key.
int operation_init(void* ctx, void* provkey, const OSSL_PARAM params[]);

/// Reads keyward-format from params (NULL: nothing to set); raises an error for any other value.
int set_format(OperationContext* ctx, const OSSL_PARAM params[]);
/// Copies result to out (room: outsize) and sets *outlen; raises "buffer too small" otherwise.
int deliver(OperationContext* ctx, ByteView result, unsigned char* out, std::size_t* outlen,
            std::size_t outsize);
/// Decrypt and decapsulate: the data key inside a blob of the context's key (binary or kwk1:
/// text), or inside raw RFC 5649 output under the key's pinned version, into out; with out NULL,
/// the largest size without touching the token.
int unwrap_into(OperationContext* ctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                const unsigned char* in, std::size_t inlen);

/// A dispatch table entry's function pointer.
template <typename Fn>
void (*dispatch_fn(Fn* f))() {
    return reinterpret_cast<void (*)()>(f);
}

extern const OSSL_DISPATCH kKeymgmtFunctions[];
extern const OSSL_DISPATCH kStoreFunctions[];
extern const OSSL_DISPATCH kCipherFunctions[];
extern const OSSL_DISPATCH kKemFunctions[];

}  // namespace keyward::provider
