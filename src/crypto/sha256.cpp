// SPDX-License-Identifier: Apache-2.0
// SHA-256 and HMAC-SHA256 through OpenSSL 3.
#include "crypto/sha256.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace keyward::crypto {

namespace {

EVP_MD_CTX* md(void* p) {
    return static_cast<EVP_MD_CTX*>(p);
}

// SHA-256 cannot fail on valid arguments; a failure here is memory exhaustion or a broken
// libcrypto, and a wrong chain link would be worse than stopping.
void must(int ok) {
    if (ok != 1) std::abort();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) std::abort();
    must(EVP_DigestInit_ex(md(ctx_), EVP_sha256(), nullptr));
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(md(ctx_));
}

Sha256& Sha256::update(ByteView data) {
    must(EVP_DigestUpdate(md(ctx_), data.data(), data.size()));
    return *this;
}

Sha256& Sha256::update(std::string_view text) {
    must(EVP_DigestUpdate(md(ctx_), text.data(), text.size()));
    return *this;
}

Sha256& Sha256::update_u64(std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<std::uint8_t>(v & 0xff);
    return update(ByteView(b, sizeof b));
}

Sha256& Sha256::update_field(std::string_view text) {
    const auto n = static_cast<std::uint32_t>(text.size());
    const std::uint8_t len[4] = {static_cast<std::uint8_t>(n >> 24),
                                 static_cast<std::uint8_t>(n >> 16),
                                 static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    update(ByteView(len, sizeof len));
    return update(text);
}

Sha256Digest Sha256::finish() {
    Sha256Digest out{};
    unsigned int len = 0;
    must(EVP_DigestFinal_ex(md(ctx_), out.data(), &len));
    return out;
}

Sha256Digest sha256(ByteView data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Sha256Digest hmac_sha256(ByteView key, ByteView data) {
    Sha256Digest out{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
             out.data(), &len) == nullptr) {
        std::abort();
    }
    return out;
}

}  // namespace keyward::crypto
