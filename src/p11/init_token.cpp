// SPDX-License-Identifier: Apache-2.0
// Token initialisation. After C_InitToken SoftHSM renumbers its slots (and offers a new free
// one), so the new token is found again by label, never by the slot it was created in.
#include "p11/init_token.hpp"

#include "p11/module.hpp"
#include "p11/rv.hpp"
#include "p11/session.hpp"
#include "p11/token_finder.hpp"

namespace keyward::p11 {

namespace {

CK_UTF8CHAR* pin_ptr(const SecretString& pin) {
    // PKCS#11 takes non-const PIN pointers; the token does not write through them.
    return reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.data()));
}

}  // namespace

Status init_token(const std::string& module_path, const std::string& softhsm2_conf,
                  const std::string& label, const SecretString& so_pin,
                  const SecretString& user_pin) {
    if (label.empty()) return Error(Errc::bad_config, "a token label cannot be empty");
    KW_TRY(auto padded, pad_label(label));
    if (so_pin.empty() || user_pin.empty()) {
        return Error(Errc::bad_config, "token initialisation needs an SO PIN and a user PIN");
    }
    ModuleOptions options;
    options.softhsm2_conf = softhsm2_conf;
    KW_TRY(auto module, Module::acquire(module_path, options));
    CK_FUNCTION_LIST* f = module->functions();

    KW_TRY(auto tokens, list_tokens(f));
    const SlotToken* free_slot = nullptr;
    for (const auto& t : tokens) {
        if (t.initialized() && t.label == label) {
            return Error(Errc::already_exists, "a token labelled \"" + label +
                                                   "\" already exists (serial " + t.serial +
                                                   "); choose another label");
        }
        if (!t.initialized() && free_slot == nullptr) free_slot = &t;
    }
    if (free_slot == nullptr) {
        return Error(Errc::hsm_unavailable, "PKCS#11 module \"" + module_path +
                                                "\" has no slot with an uninitialised token");
    }

    auto c = KW_P11_CALL(f, C_InitToken, free_slot->slot, pin_ptr(so_pin),
                         static_cast<CK_ULONG>(so_pin.size()),
                         reinterpret_cast<CK_UTF8CHAR*>(padded.data()));
    if (!c.ok()) return c.error().context("initialising token \"" + label + "\"");

    KW_TRY(auto created, find_token(f, label, module_path));
    KW_TRY(auto session, Session::open(module, created.slot, true));
    c = KW_P11_CALL(f, C_Login, session.handle(), CKU_SO, pin_ptr(so_pin),
                    static_cast<CK_ULONG>(so_pin.size()));
    if (!c.ok()) return c.error().context("logging in as SO to the new token \"" + label + "\"");
    c = KW_P11_CALL(f, C_InitPIN, session.handle(), pin_ptr(user_pin),
                    static_cast<CK_ULONG>(user_pin.size()));
    auto logout = KW_P11_CALL(f, C_Logout, session.handle());
    if (!c.ok()) return c.error().context("setting the user PIN of token \"" + label + "\"");
    if (!logout.ok()) return logout.error().context("logging out of token \"" + label + "\"");
    return ok_status();
}

}  // namespace keyward::p11
