// SPDX-License-Identifier: Apache-2.0
// AES-GCM on the host through OpenSSL EVP: the payload cipher of every envelope, plus the
// general-IV form the Wycheproof tests and legacy imports need.
#include "crypto/aes_gcm.hpp"

#include <openssl/evp.h>

#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#include "keyward/types.hpp"

namespace keyward::crypto {
namespace {

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// One message for every authentication failure, wherever it happens: callers (and attackers)
// must not learn which check failed.
Error auth_failed() {
    return Error(Errc::auth_failed, "authentication failed");
}

Error openssl_failed(const char* what) {
    return Error(Errc::failed, std::string("OpenSSL AES-GCM ") + what +
                                   " failed; the OpenSSL installation may be broken");
}

const EVP_CIPHER* gcm_cipher(std::size_t key_size) noexcept {
    switch (key_size) {
        case 16:
            return EVP_aes_128_gcm();
        case 24:
            return EVP_aes_192_gcm();
        case 32:
            return EVP_aes_256_gcm();
        default:
            return nullptr;
    }
}

// The 64 MiB policy limit also keeps every length well inside the int that EVP takes.
static_assert(kMaxPlaintext < static_cast<std::size_t>(INT_MAX));

Status check_sizes(ByteView aad, ByteView text, const char* what) {
    if (text.size() > kMaxPlaintext) {
        return Error(Errc::input_too_large,
                     std::string(what) + " is " + std::to_string(text.size()) +
                         " bytes, over the 64 MiB limit (67108864 bytes); split the data");
    }
    if (aad.size() > static_cast<std::size_t>(INT_MAX)) {
        return Error(Errc::input_too_large, "associated data is too large for AES-GCM");
    }
    return ok_status();
}

// Feeds the AAD. An empty span may carry a null pointer, which EVP treats inconsistently
// across versions; with no AAD there is nothing to feed, so the call is skipped.
bool feed_aad(EVP_CIPHER_CTX* ctx, ByteView aad, bool encrypt) {
    if (aad.empty()) return true;
    int outl = 0;
    const int len = static_cast<int>(aad.size());
    return encrypt ? EVP_EncryptUpdate(ctx, nullptr, &outl, aad.data(), len) == 1
                   : EVP_DecryptUpdate(ctx, nullptr, &outl, aad.data(), len) == 1;
}

}  // namespace

Result<Bytes> aes256gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
    if (key.size() != kDekSize) {
        return Error(Errc::failed,
                     "AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
    }
    if (nonce.size() != kNonceSize) {
        return Error(Errc::failed,
                     "AES-256-GCM nonce must be 12 bytes, got " + std::to_string(nonce.size()));
    }
    KW_TRY_STATUS(check_sizes(aad, plaintext, "plaintext"));

    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return openssl_failed("context allocation");
    if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                            nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1) {
        return openssl_failed("initialisation");
    }
    if (!feed_aad(ctx.get(), aad, true)) return openssl_failed("AAD");

    Bytes out(plaintext.size() + kTagSize);
    int outl = 0;
    if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &outl, plaintext.data(),
                                                static_cast<int>(plaintext.size())) != 1) {
        return openssl_failed("encryption");
    }
    int final_len = 0;
    // out always has room for the tag, so out.data() + outl is a valid pointer even for an
    // empty plaintext; GCM writes nothing here.
    if (EVP_EncryptFinal_ex(ctx.get(), out.data() + outl, &final_len) != 1 ||
        static_cast<std::size_t>(outl + final_len) != plaintext.size()) {
        return openssl_failed("final block");
    }
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                            out.data() + plaintext.size()) != 1) {
        return openssl_failed("tag");
    }
    return out;
}

Result<SecretBytes> aes256gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext,
                                   ByteView tag) {
    if (key.size() != kDekSize) {
        return Error(Errc::failed,
                     "AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
    }
    if (nonce.size() != kNonceSize) {
        return Error(Errc::failed,
                     "AES-256-GCM nonce must be 12 bytes, got " + std::to_string(nonce.size()));
    }
    return aes_gcm_open_any_iv(key, nonce, aad, ciphertext, tag);
}

Result<SecretBytes> aes_gcm_open_any_iv(ByteView key, ByteView iv, ByteView aad,
                                        ByteView ciphertext, ByteView tag) {
    const EVP_CIPHER* cipher = gcm_cipher(key.size());
    if (cipher == nullptr) {
        return Error(Errc::failed,
                     "AES-GCM key must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
    }
    if (tag.size() != kTagSize) {
        return Error(Errc::failed,
                     "AES-GCM tag must be 16 bytes, got " + std::to_string(tag.size()));
    }
    // SP 800-38D requires an IV of at least one bit: nothing under an empty IV is authentic.
    if (iv.empty()) return auth_failed();
    KW_TRY_STATUS(check_sizes(aad, ciphertext, "ciphertext"));
    if (iv.size() > static_cast<std::size_t>(INT_MAX)) {
        return Error(Errc::unsupported, "AES-GCM IV is too long");
    }

    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return openssl_failed("context allocation");
    if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1) {
        return openssl_failed("initialisation");
    }
    // GCM defines IVs of any length, but OpenSSL 3.0 caps them (128 bytes): a longer one is a
    // limit of this implementation, not a forgery.
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                            nullptr) != 1) {
        return Error(Errc::unsupported, "AES-GCM IV of " + std::to_string(iv.size()) +
                                            " bytes is longer than OpenSSL supports");
    }
    if (EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1) {
        return openssl_failed("initialisation");
    }
    if (!feed_aad(ctx.get(), aad, false)) return openssl_failed("AAD");

    SecretBytes work(ciphertext.size());
    int outl = 0;
    if (!ciphertext.empty() && EVP_DecryptUpdate(ctx.get(), work.data(), &outl, ciphertext.data(),
                                                 static_cast<int>(ciphertext.size())) != 1) {
        return openssl_failed("decryption");
    }
    // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; copy rather than cast constness away.
    std::array<std::uint8_t, kTagSize> expected{};
    std::memcpy(expected.data(), tag.data(), kTagSize);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                            expected.data()) != 1) {
        return openssl_failed("tag");
    }
    // GCM writes nothing in Final, but give it a valid pointer even when the text is empty.
    std::array<std::uint8_t, 16> sink{};
    int final_len = 0;
    std::uint8_t* final_out = work.empty() ? sink.data() : work.data() + outl;
    if (EVP_DecryptFinal_ex(ctx.get(), final_out, &final_len) != 1 ||
        static_cast<std::size_t>(outl + final_len) != ciphertext.size()) {
        // The unverified plaintext must not survive: wipe now (the allocator would wipe on
        // free too, but the caller must never be able to see it in any form).
        secure_wipe(work.data(), work.size());
        return auth_failed();
    }
    return work;
}

}  // namespace keyward::crypto
