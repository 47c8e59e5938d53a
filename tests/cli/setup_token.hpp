// SPDX-License-Identifier: Apache-2.0
// A PKCS#11 session of the test's own on a CLI setup's token, as someone outside keyward gets
// one: without the PIN (an attacker with access to the token: public objects only) or logged in
// with it (an administrator's tool). Used to plant what keyward must never trust.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "keyward/bytes.hpp"
#include "p11/attributes.hpp"
#include "p11/module.hpp"
#include "p11/session.hpp"

namespace keyward::test {

class SetupToken {
  public:
    /// The token of the `keyward init --softhsm` setup in dir; logs in with dir/user.pin when
    /// asked. The module is finalised (and the login ends) when this goes.
    SetupToken(const std::filesystem::path& dir, bool login);
    ~SetupToken();
    SetupToken(const SetupToken&) = delete;
    SetupToken& operator=(const SetupToken&) = delete;

    /// C_CreateObject of a token object with this template; throws unless CKR_OK.
    void create(p11::Template& t) const;
    /// An AES token key of known value with a KEK's usual attributes (sensitive, not
    /// extractable, not modifiable, wrap and unwrap), public or private.
    void create_aes_key(const std::string& label, ByteView value, ByteView id,
                        bool private_object) const;
    /// How many objects (any class, public or private as visible) carry this label.
    std::size_t count(const std::string& label) const;

  private:
    std::shared_ptr<p11::Module> module_;
    p11::Session session_;
    bool logged_in_ = false;
};

/// The first 8 bytes of the RFC 5649 wrap of keyward's fixed check key under `kek` (suite 1's
/// check value), computed by OpenSSL: what a database writer who knows a key would plant.
Bytes kwp_check_value(ByteView kek);

}  // namespace keyward::test
