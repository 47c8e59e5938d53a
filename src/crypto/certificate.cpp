// SPDX-License-Identifier: Apache-2.0
// Certificate expiry through OpenSSL's X.509 parser.
#include "crypto/certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <limits>
#include <memory>

namespace keyward::crypto {

namespace {

struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr read_certificate(ByteView value) {
    if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
    const int len = static_cast<int>(value.size());
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(value.data(), len));
    if (!bio) return nullptr;
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        const unsigned char* p = value.data();
        cert.reset(d2i_X509(nullptr, &p, len));
    }
    // The failed attempt leaves entries on this thread's OpenSSL error queue; they are not
    // ours to report later from an unrelated call.
    ERR_clear_error();
    return cert;
}

}  // namespace

Result<std::string> certificate_not_after(ByteView value) {
    auto cert = read_certificate(value);
    if (!cert) {
        return Error(Errc::bad_input,
                     "the value is not an X.509 certificate (PEM or DER), so its expiry cannot be "
                     "read; store the certificate, or give --expires");
    }
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) {
        ERR_clear_error();
        return Error(Errc::bad_input, "the certificate's notAfter cannot be read; give --expires");
    }
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
}

}  // namespace keyward::crypto
