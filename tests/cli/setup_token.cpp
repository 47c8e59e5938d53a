// SPDX-License-Identifier: Apache-2.0
// A test's own session on a CLI setup's token (see setup_token.hpp).
#include "setup_token.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "p11/objects.hpp"
#include "p11/rv.hpp"
#include "p11/token_finder.hpp"
#include "support/test_env.hpp"

namespace keyward::test {

SetupToken::SetupToken(const std::filesystem::path& dir, bool login) {
    const auto conf = read_file(dir / "keyward.conf");
    const auto m = conf.find("module = ") + 9;
    const std::string module_path = conf.substr(m, conf.find('\n', m) - m);
    p11::ModuleOptions options;
    options.softhsm2_conf = (dir / "softhsm2.conf").string();
    auto module = p11::Module::acquire(module_path, options);
    if (!module) throw std::runtime_error(module.error().message());
    module_ = *module;
    auto found = p11::find_token(module_->functions(), "keyward", module_path);
    if (!found) throw std::runtime_error(found.error().message());
    auto session = p11::Session::open(module_, found->slot, true);
    if (!session) throw std::runtime_error(session.error().message());
    session_ = std::move(session).value();
    if (login) {
        auto pin = read_file(dir / "user.pin");
        if (!pin.empty() && pin.back() == '\n') pin.pop_back();
        auto c = KW_P11_CALL(session_.functions(), C_Login, session_.handle(), CKU_USER,
                             reinterpret_cast<CK_UTF8CHAR*>(pin.data()),
                             static_cast<CK_ULONG>(pin.size()));
        if (!c.ok()) throw std::runtime_error(c.error().message());
        logged_in_ = true;
    }
}

SetupToken::~SetupToken() {
    if (logged_in_) (void)session_.functions()->C_Logout(session_.handle());
    session_ = p11::Session();
    module_.reset();
}

void SetupToken::create(p11::Template& t) const {
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    auto c = KW_P11_CALL(session_.functions(), C_CreateObject, session_.handle(), t.data(),
                         t.size(), &h);
    if (!c.ok()) throw std::runtime_error(c.error().message());
}

void SetupToken::create_aes_key(const std::string& label, ByteView value, ByteView id,
                                bool private_object) const {
    p11::Template t;
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_AES)
        .add_bytes(CKA_VALUE, value)
        .add_string(CKA_LABEL, label)
        .add_bytes(CKA_ID, id)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, private_object)
        .add_bool(CKA_SENSITIVE, true)
        .add_bool(CKA_EXTRACTABLE, false)
        .add_bool(CKA_MODIFIABLE, false)
        .add_bool(CKA_WRAP, true)
        .add_bool(CKA_UNWRAP, true)
        .add_bool(CKA_ENCRYPT, false)
        .add_bool(CKA_DECRYPT, false)
        .add_bool(CKA_SIGN, false)
        .add_bool(CKA_VERIFY, false)
        .add_bool(CKA_DERIVE, false);
    create(t);
}

std::size_t SetupToken::count(const std::string& label) const {
    p11::Template match;
    match.add_string(CKA_LABEL, label);
    auto handles = p11::find_objects(session_, match.span());
    if (!handles) throw std::runtime_error(handles.error().message());
    return handles->size();
}

Bytes kwp_check_value(ByteView kek) {
    static const std::string key = "keyward KEK check value, v1 key!";
    Bytes out(key.size() + 16);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int n = 0, m = 0;
    const bool ok =
        EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), nullptr, kek.data(), nullptr) == 1 &&
        EVP_EncryptUpdate(c, out.data(), &n, reinterpret_cast<const unsigned char*>(key.data()),
                          static_cast<int>(key.size())) == 1 &&
        EVP_EncryptFinal_ex(c, out.data() + n, &m) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) throw std::runtime_error("AES key wrap failed");
    out.resize(8);
    return out;
}

}  // namespace keyward::test
