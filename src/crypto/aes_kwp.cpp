// SPDX-License-Identifier: Apache-2.0
// RFC 5649 AES key wrap with padding on the host, through OpenSSL's id-aes*-wrap-pad ciphers
// (default alternative IV A65959A6). Used by the software fake HSM, the token's known-answer
// test and the Wycheproof checks.
#include "crypto/aes_kwp.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <string>

#include "keyward/types.hpp"

namespace keyward::crypto {
namespace {

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const EVP_CIPHER* kwp_cipher(std::size_t kek_size) noexcept {
    switch (kek_size) {
        case 16:
            return EVP_aes_128_wrap_pad();
        case 24:
            return EVP_aes_192_wrap_pad();
        case 32:
            return EVP_aes_256_wrap_pad();
        default:
            return nullptr;
    }
}

Error bad_kek_size(std::size_t size) {
    return Error(Errc::failed,
                 "AES key wrap KEK must be 16, 24 or 32 bytes, got " + std::to_string(size));
}

// Wrapping arbitrary data keys is a policy matter for the caller; this only keeps lengths in
// the range where OpenSSL's int arithmetic is safe (RFC 5649 itself allows up to 2^32 bytes).
constexpr std::size_t kMaxWrapInput = kMaxPlaintext;

// EVP refuses the wrap modes unless the context explicitly allows them (they are not
// general-purpose ciphers: no streaming, the whole input in one update).
CipherCtx make_ctx(const EVP_CIPHER* cipher, ByteView kek, bool encrypt) {
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return ctx;
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    const int rc = encrypt ? EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr)
                           : EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr);
    if (rc != 1) ctx.reset();
    return ctx;
}

}  // namespace

Result<Bytes> aes_kwp_wrap(ByteView kek, ByteView key) {
    const EVP_CIPHER* cipher = kwp_cipher(kek.size());
    if (cipher == nullptr) return bad_kek_size(kek.size());
    if (key.empty()) {
        return Error(Errc::failed, "AES key wrap with padding needs at least 1 byte of key");
    }
    if (key.size() > kMaxWrapInput) {
        return Error(Errc::input_too_large, "key to wrap is " + std::to_string(key.size()) +
                                                " bytes, over the 64 MiB limit");
    }

    CipherCtx ctx = make_ctx(cipher, kek, true);
    if (!ctx) return Error(Errc::failed, "OpenSSL AES key wrap initialisation failed");

    const std::size_t expected = (key.size() + 7) / 8 * 8 + 8;
    Bytes out(expected);
    int outl = 0;
    if (EVP_EncryptUpdate(ctx.get(), out.data(), &outl, key.data(), static_cast<int>(key.size())) !=
            1 ||
        static_cast<std::size_t>(outl) != expected) {
        return Error(Errc::failed, "OpenSSL AES key wrap failed");
    }
    int final_len = 0;
    if (EVP_EncryptFinal_ex(ctx.get(), out.data() + outl, &final_len) != 1 || final_len != 0) {
        return Error(Errc::failed, "OpenSSL AES key wrap failed");
    }
    return out;
}

Result<SecretBytes> aes_kwp_unwrap(ByteView kek, ByteView wrapped) {
    const EVP_CIPHER* cipher = kwp_cipher(kek.size());
    if (cipher == nullptr) return bad_kek_size(kek.size());
    // Every malformed input is reported exactly like a bad ICV: which check failed is
    // information an attacker could use, and callers cannot act on it anyway.
    const Error auth_failed(Errc::auth_failed, "authentication failed");
    if (wrapped.size() < 16 || wrapped.size() % 8 != 0 || wrapped.size() > kMaxWrapInput + 16) {
        return auth_failed;
    }

    CipherCtx ctx = make_ctx(cipher, kek, false);
    if (!ctx) return Error(Errc::failed, "OpenSSL AES key unwrap initialisation failed");

    // OpenSSL wants room for the whole input, although the plaintext is at least 8 bytes less.
    SecretBytes work(wrapped.size());
    int outl = 0;
    if (EVP_DecryptUpdate(ctx.get(), work.data(), &outl, wrapped.data(),
                          static_cast<int>(wrapped.size())) != 1 ||
        outl <= 0 || static_cast<std::size_t>(outl) > wrapped.size() - 8) {
        secure_wipe(work.data(), work.size());
        return auth_failed;
    }
    int final_len = 0;
    if (EVP_DecryptFinal_ex(ctx.get(), work.data() + outl, &final_len) != 1 || final_len != 0) {
        secure_wipe(work.data(), work.size());
        return auth_failed;
    }
    // resize() only shrinks here, so no reallocation leaves an unwiped copy behind; the bytes
    // beyond outl are scratch and get wiped before they leave the visible range.
    secure_wipe(work.data() + outl, work.size() - static_cast<std::size_t>(outl));
    work.resize(static_cast<std::size_t>(outl));
    return work;
}

}  // namespace keyward::crypto
