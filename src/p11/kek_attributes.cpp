// SPDX-License-Identifier: Apache-2.0
// KEK generation template and attribute read-back.
#include "p11/kek_attributes.hpp"

#include <array>

#include "p11/objects.hpp"

namespace keyward::p11 {

Template kek_template(const std::string& label, Suite suite, ByteView id, bool modifiable) {
    const bool kwp = suite == Suite::kwp;
    Template t;
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_ulong(CKA_KEY_TYPE, CKK_AES)
        .add_ulong(CKA_VALUE_LEN, 32)
        .add_string(CKA_LABEL, label)
        .add_bytes(CKA_ID, id)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_SENSITIVE, true)
        .add_bool(CKA_EXTRACTABLE, false)
        .add_bool(CKA_MODIFIABLE, modifiable)
        .add_bool(CKA_WRAP, kwp)
        .add_bool(CKA_UNWRAP, kwp)
        .add_bool(CKA_ENCRYPT, !kwp)
        .add_bool(CKA_DECRYPT, !kwp)
        .add_bool(CKA_SIGN, false)
        .add_bool(CKA_VERIFY, false)
        .add_bool(CKA_DERIVE, false);
    return t;
}

namespace {

std::string hex_value(CK_ULONG v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), kDigits[v % 16]);
        v /= 16;
    } while (v != 0);
    return "0x" + out;
}

}  // namespace

std::string object_class_name(CK_ULONG value) {
    switch (value) {
        case CKO_DATA:
            return "CKO_DATA";
        case CKO_CERTIFICATE:
            return "CKO_CERTIFICATE";
        case CKO_PUBLIC_KEY:
            return "CKO_PUBLIC_KEY";
        case CKO_PRIVATE_KEY:
            return "CKO_PRIVATE_KEY";
        case CKO_SECRET_KEY:
            return "CKO_SECRET_KEY";
        default:
            return "CKO " + hex_value(value);
    }
}

std::string key_type_name(CK_ULONG value) {
    switch (value) {
        case CKK_AES:
            return "CKK_AES";
        case CKK_GENERIC_SECRET:
            return "CKK_GENERIC_SECRET";
        case CKK_DES3:
            return "CKK_DES3";
        case CKK_RSA:
            return "CKK_RSA";
        case CKK_EC:
            return "CKK_EC";
        default:
            return "CKK " + hex_value(value);
    }
}

Result<core::KekAttributes> read_kek_attributes(const Session& s, CK_OBJECT_HANDLE object) {
    static constexpr std::array<CK_ATTRIBUTE_TYPE, 15> kBools = {CKA_TOKEN,
                                                                 CKA_PRIVATE,
                                                                 CKA_SENSITIVE,
                                                                 CKA_EXTRACTABLE,
                                                                 CKA_NEVER_EXTRACTABLE,
                                                                 CKA_ALWAYS_SENSITIVE,
                                                                 CKA_MODIFIABLE,
                                                                 CKA_WRAP,
                                                                 CKA_UNWRAP,
                                                                 CKA_ENCRYPT,
                                                                 CKA_DECRYPT,
                                                                 CKA_SIGN,
                                                                 CKA_VERIFY,
                                                                 CKA_DERIVE,
                                                                 CKA_LOCAL};
    static constexpr std::array<CK_ATTRIBUTE_TYPE, 3> kUlongs = {CKA_CLASS, CKA_KEY_TYPE,
                                                                 CKA_VALUE_LEN};
    KW_TRY(auto fixed, read_fixed(s, object, kBools, kUlongs));
    KW_TRY(auto label, read_bytes(s, object, CKA_LABEL));
    KW_TRY(auto id, read_bytes(s, object, CKA_ID));

    core::KekAttributes a;
    a.label.assign(label.value.begin(), label.value.end());
    a.id = std::move(id.value);
    a.token = fixed.bools[0];
    a.private_ = fixed.bools[1];
    a.sensitive = fixed.bools[2];
    a.extractable = fixed.bools[3];
    a.never_extractable = fixed.bools[4];
    a.always_sensitive = fixed.bools[5];
    a.modifiable = fixed.bools[6];
    a.wrap = fixed.bools[7];
    a.unwrap = fixed.bools[8];
    a.encrypt = fixed.bools[9];
    a.decrypt = fixed.bools[10];
    a.sign = fixed.bools[11];
    a.verify = fixed.bools[12];
    a.derive = fixed.bools[13];
    a.local = fixed.bools[14];
    if (fixed.ulongs[0]) a.object_class = object_class_name(*fixed.ulongs[0]);
    if (fixed.ulongs[1]) a.key_type = key_type_name(*fixed.ulongs[1]);
    a.value_len = fixed.ulongs[2];
    return a;
}

Result<std::vector<CK_OBJECT_HANDLE>> find_secret_keys_by_label(const Session& s,
                                                                const std::string& label) {
    // Private token objects only: anyone may open a session without the PIN and make public
    // objects (SoftHSM lets them), and a public "KEK" has a value its maker knows. The search
    // runs in a logged-in session, where private objects are visible.
    Template match;
    match.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_string(CKA_LABEL, label);
    return find_objects(s, match.span());
}

Result<std::size_t> count_public_objects_by_label(const Session& s, const std::string& label) {
    Template match;
    match.add_bool(CKA_PRIVATE, false).add_string(CKA_LABEL, label);
    KW_TRY(auto handles, find_objects(s, match.span()));
    return handles.size();
}

}  // namespace keyward::p11
