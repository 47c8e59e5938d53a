// SPDX-License-Identifier: Apache-2.0
// Raw PKCS#11 access for the p11 tests, so that what P11Hsm reports can be checked against the
// token directly (not only through the adapter's own read-back code).
#pragma once

#include <memory>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "p11/module.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"
#include "support/softhsm_token.hpp"

namespace keyward::test {

/// A plain session on the fixture's token. It is logged in only while some P11Hsm connected to
/// the same token is alive (PKCS#11 login belongs to the process, not the session).
class RawToken {
  public:
    explicit RawToken(const SoftHsmToken& token);

    CK_FUNCTION_LIST* f() const noexcept { return session_.functions(); }
    CK_SESSION_HANDLE h() const noexcept { return session_.handle(); }
    const p11::Session& session() const noexcept { return session_; }

    /// The one CKO_SECRET_KEY object with this label; throws unless exactly one exists.
    CK_OBJECT_HANDLE find_one(const std::string& label) const;
    /// C_GetAttributeValue of one CK_BBOOL / CK_ULONG attribute; throws unless CKR_OK.
    bool get_bool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
    CK_ULONG get_ulong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
    Bytes get_bytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
    /// The CK_RV of reading one attribute (into a 64-byte buffer).
    CK_RV get_rv(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

  private:
    std::shared_ptr<p11::Module> module_;
    p11::Session session_;
};

/// n bytes from OpenSSL's RNG (test data only).
Bytes random_bytes(std::size_t n);

}  // namespace keyward::test
