// SPDX-License-Identifier: Apache-2.0
// Raw token access for the p11 tests.
#include "support/p11_test_helpers.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "p11/attributes.hpp"
#include "p11/objects.hpp"
#include "p11/rv.hpp"
#include "p11/token_finder.hpp"

namespace keyward::test {

namespace {

void check(const p11::Call& c) {
    if (!c.ok()) throw std::runtime_error(c.error().message());
}

}  // namespace

RawToken::RawToken(const SoftHsmToken& token) {
    p11::ModuleOptions options;
    options.softhsm2_conf = token.conf_path();
    auto module = p11::Module::acquire(token.module_path(), options);
    if (!module) throw std::runtime_error(module.error().message());
    module_ = *module;
    auto found = p11::find_token(module_->functions(), token.label(), token.module_path());
    if (!found) throw std::runtime_error(found.error().message());
    auto session = p11::Session::open(module_, found->slot, true);
    if (!session) throw std::runtime_error(session.error().message());
    session_ = std::move(session).value();
}

CK_OBJECT_HANDLE RawToken::find_one(const std::string& label) const {
    p11::Template match;
    match.add_ulong(CKA_CLASS, CKO_SECRET_KEY).add_string(CKA_LABEL, label);
    auto handles = p11::find_objects(session_, match.span());
    if (!handles) throw std::runtime_error(handles.error().message());
    if (handles->size() != 1) {
        throw std::runtime_error(std::to_string(handles->size()) + " objects labelled " + label);
    }
    return handles->front();
}

bool RawToken::get_bool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
    CK_BBOOL v = 0xAA;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    check(KW_P11_CALL(f(), C_GetAttributeValue, h(), object, &a, CK_ULONG{1}));
    if (a.ulValueLen != sizeof v) throw std::runtime_error("attribute is not a CK_BBOOL");
    if (v != CK_TRUE && v != CK_FALSE) throw std::runtime_error("CK_BBOOL neither 0 nor 1");
    return v == CK_TRUE;
}

CK_ULONG RawToken::get_ulong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
    CK_ULONG v = 0;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    check(KW_P11_CALL(f(), C_GetAttributeValue, h(), object, &a, CK_ULONG{1}));
    if (a.ulValueLen != sizeof v) throw std::runtime_error("attribute is not a CK_ULONG");
    return v;
}

Bytes RawToken::get_bytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
    CK_ATTRIBUTE a{type, nullptr, 0};
    check(KW_P11_CALL(f(), C_GetAttributeValue, h(), object, &a, CK_ULONG{1}));
    Bytes out(a.ulValueLen);
    a.pValue = out.data();
    check(KW_P11_CALL(f(), C_GetAttributeValue, h(), object, &a, CK_ULONG{1}));
    out.resize(a.ulValueLen);
    return out;
}

CK_RV RawToken::get_rv(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
    std::uint8_t buf[64] = {};
    CK_ATTRIBUTE a{type, buf, sizeof buf};
    return f()->C_GetAttributeValue(h(), object, &a, 1);
}

Bytes random_bytes(std::size_t n) {
    Bytes out(n);
    if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return out;
}

}  // namespace keyward::test
