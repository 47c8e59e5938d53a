// SPDX-License-Identifier: Apache-2.0
// Write-once private data objects (see data_objects.hpp).
#include "p11/data_objects.hpp"

#include "p11/attributes.hpp"
#include "p11/objects.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

Template data_match(const std::string& application) {
    Template t;
    t.add_ulong(CKA_CLASS, CKO_DATA)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_string(CKA_APPLICATION, application);
    return t;
}

Result<std::vector<CK_OBJECT_HANDLE>> find_labelled(const Session& s,
                                                    const std::string& application,
                                                    const std::string& label) {
    auto match = data_match(application);
    match.add_string(CKA_LABEL, label);
    return find_objects(s, match.span());
}

}  // namespace

Result<std::vector<core::DataObject>> read_data_objects(const Session& s,
                                                        const std::string& application) {
    auto match = data_match(application);
    KW_TRY(auto handles, find_objects(s, match.span()));
    std::vector<core::DataObject> out;
    out.reserve(handles.size());
    // Another process may destroy one between the search and the reads (a checkpoint pruned
    // once its successor reads back): such an object is gone, not an error.
    auto gone = [](const Error& e) {
        return e.message().find("CKR_OBJECT_HANDLE_INVALID") != std::string::npos;
    };
    for (CK_OBJECT_HANDLE h : handles) {
        core::DataObject o;
        o.application = application;
        auto label = read_bytes(s, h, CKA_LABEL);
        if (!label.ok() && gone(label.error())) continue;
        KW_TRY_STATUS(label.ok() ? ok_status() : Status(label.error()));
        o.label.assign(label->value.begin(), label->value.end());
        auto value = read_bytes(s, h, CKA_VALUE);
        if (!value.ok() && gone(value.error())) continue;
        KW_TRY_STATUS(value.ok() ? ok_status() : Status(value.error()));
        o.readable = value->revealed;
        o.value = std::move(value->value);
        out.push_back(std::move(o));
    }
    return out;
}

Status create_data_object(const Session& s, const core::DataObject& object) {
    Template t;
    t.add_ulong(CKA_CLASS, CKO_DATA)
        .add_bool(CKA_TOKEN, true)
        .add_bool(CKA_PRIVATE, true)
        .add_bool(CKA_MODIFIABLE, false)
        .add_string(CKA_LABEL, object.label)
        .add_string(CKA_APPLICATION, object.application)
        .add_bytes(CKA_VALUE, object.value);
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    auto c = KW_P11_CALL(s.functions(), C_CreateObject, s.handle(), t.data(), t.size(), &handle);
    if (!c.ok()) return c.error().context("writing token object \"" + object.label + "\"");
    KW_TRY(auto handles, find_labelled(s, object.application, object.label));
    for (CK_OBJECT_HANDLE h : handles) {
        KW_TRY(auto value, read_bytes(s, h, CKA_VALUE));
        if (value.revealed && value.value == object.value) return ok_status();
    }
    return Error(Errc::hsm_error,
                 "the token made object \"" + object.label + "\" but cannot find it again");
}

Status destroy_data_objects(const Session& s, const std::string& application,
                            const std::string& label) {
    KW_TRY(auto handles, find_labelled(s, application, label));
    for (CK_OBJECT_HANDLE h : handles) {
        auto c = KW_P11_CALL(s.functions(), C_DestroyObject, s.handle(), h);
        if (!c.ok()) return c.error().context("destroying token object \"" + label + "\"");
    }
    return ok_status();
}

}  // namespace keyward::p11
