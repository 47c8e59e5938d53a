// SPDX-License-Identifier: Apache-2.0
// Object lifetime guards and object searches.
#include "p11/objects.hpp"

#include "p11/rv.hpp"

namespace keyward::p11 {

ObjectGuard& ObjectGuard::operator=(ObjectGuard&& other) noexcept {
    if (this != &other) {
        destroy();
        functions_ = other.functions_;
        session_ = other.session_;
        object_ = std::exchange(other.object_, CK_INVALID_HANDLE);
    }
    return *this;
}

void ObjectGuard::destroy() noexcept {
    if (object_ != CK_INVALID_HANDLE && functions_ != nullptr) {
        (void)KW_P11_CALL(functions_, C_DestroyObject, session_, object_);
    }
    object_ = CK_INVALID_HANDLE;
}

Result<ObjectFinder> ObjectFinder::start(const Session& session, std::span<CK_ATTRIBUTE> match) {
    auto c = KW_P11_CALL(session.functions(), C_FindObjectsInit, session.handle(), match.data(),
                         static_cast<CK_ULONG>(match.size()));
    if (!c.ok()) return c.error();
    return ObjectFinder(session.functions(), session.handle());
}

Result<std::vector<CK_OBJECT_HANDLE>> ObjectFinder::next(std::size_t max_count) {
    std::vector<CK_OBJECT_HANDLE> handles(max_count);
    CK_ULONG count = 0;
    auto c = KW_P11_CALL(functions_, C_FindObjects, session_, handles.data(),
                         static_cast<CK_ULONG>(handles.size()), &count);
    if (!c.ok()) return c.error();
    handles.resize(count);
    return handles;
}

void ObjectFinder::finish() noexcept {
    if (session_ != CK_INVALID_HANDLE) {
        (void)KW_P11_CALL(functions_, C_FindObjectsFinal, session_);
        session_ = CK_INVALID_HANDLE;
    }
}

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(const Session& session,
                                                   std::span<CK_ATTRIBUTE> match) {
    KW_TRY(auto finder, ObjectFinder::start(session, match));
    std::vector<CK_OBJECT_HANDLE> all;
    for (;;) {
        KW_TRY(auto batch, finder.next());
        if (batch.empty()) break;
        all.insert(all.end(), batch.begin(), batch.end());
    }
    finder.finish();
    return all;
}

}  // namespace keyward::p11
