// SPDX-License-Identifier: Apache-2.0
// Attribute templates and attribute read-back with a per-attribute fallback.
#include "p11/attributes.hpp"

#include "p11/rv.hpp"

namespace keyward::p11 {

Template& Template::add_bool(CK_ATTRIBUTE_TYPE type, bool value) {
    CK_BBOOL& v = bools_.emplace_back(value ? CK_TRUE : CK_FALSE);
    attrs_.push_back(CK_ATTRIBUTE{type, &v, sizeof v});
    return *this;
}

Template& Template::add_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
    CK_ULONG& v = ulongs_.emplace_back(value);
    attrs_.push_back(CK_ATTRIBUTE{type, &v, sizeof v});
    return *this;
}

Template& Template::add_bytes(CK_ATTRIBUTE_TYPE type, ByteView value) {
    // PKCS#11 takes non-const pointers even for input templates.
    attrs_.push_back(CK_ATTRIBUTE{type, const_cast<std::uint8_t*>(value.data()),
                                  static_cast<CK_ULONG>(value.size())});
    return *this;
}

void Template::set_bool(CK_ATTRIBUTE_TYPE type, bool value) {
    for (auto& a : attrs_) {
        if (a.type == type && a.ulValueLen == sizeof(CK_BBOOL)) {
            *static_cast<CK_BBOOL*>(a.pValue) = value ? CK_TRUE : CK_FALSE;
        }
    }
}

namespace {

bool is_unrevealed(CK_RV rv) {
    return rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

// One attribute into a fixed buffer; false when the token will not reveal it.
Result<bool> read_one(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE& a) {
    auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), o, &a, CK_ULONG{1});
    if (is_unrevealed(c.rv())) return false;
    if (!c.ok()) return c.error();
    return a.ulValueLen != kUnavailable;
}

}  // namespace

Result<std::optional<CK_ULONG>> read_ulong(const Session& s, CK_OBJECT_HANDLE o,
                                           CK_ATTRIBUTE_TYPE type) {
    CK_ULONG v = 0;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    KW_TRY(bool revealed, read_one(s, o, a));
    if (!revealed || a.ulValueLen != sizeof v) return std::optional<CK_ULONG>{};
    return std::optional<CK_ULONG>{v};
}

Result<FixedAttributes> read_fixed(const Session& s, CK_OBJECT_HANDLE o,
                                   std::span<const CK_ATTRIBUTE_TYPE> bool_types,
                                   std::span<const CK_ATTRIBUTE_TYPE> ulong_types) {
    std::vector<CK_BBOOL> bools(bool_types.size(), CK_FALSE);
    std::vector<CK_ULONG> ulongs(ulong_types.size(), 0);
    std::vector<CK_ATTRIBUTE> tmpl;
    tmpl.reserve(bools.size() + ulongs.size());
    for (std::size_t i = 0; i < bools.size(); ++i) {
        tmpl.push_back(CK_ATTRIBUTE{bool_types[i], &bools[i], sizeof(CK_BBOOL)});
    }
    for (std::size_t i = 0; i < ulongs.size(); ++i) {
        tmpl.push_back(CK_ATTRIBUTE{ulong_types[i], &ulongs[i], sizeof(CK_ULONG)});
    }

    auto c = KW_P11_CALL(s.functions(), C_GetAttributeValue, s.handle(), o, tmpl.data(),
                         static_cast<CK_ULONG>(tmpl.size()));
    if (is_unrevealed(c.rv())) {
        // PKCS#11 says the other attributes are still filled in, but not every token does it:
        // ask again one at a time.
        for (std::size_t i = 0; i < tmpl.size(); ++i) {
            auto& a = tmpl[i];
            a.ulValueLen = i < bools.size() ? sizeof(CK_BBOOL) : sizeof(CK_ULONG);
            KW_TRY(bool revealed, read_one(s, o, a));
            if (!revealed) a.ulValueLen = kUnavailable;
        }
    } else if (!c.ok()) {
        return c.error();
    }

    FixedAttributes out;
    for (std::size_t i = 0; i < bools.size(); ++i) {
        out.bools.push_back(tmpl[i].ulValueLen == sizeof(CK_BBOOL)
                                ? std::optional<bool>(bools[i] != CK_FALSE)
                                : std::nullopt);
    }
    for (std::size_t i = 0; i < ulongs.size(); ++i) {
        const auto& a = tmpl[bools.size() + i];
        out.ulongs.push_back(a.ulValueLen == sizeof(CK_ULONG) ? std::optional<CK_ULONG>(ulongs[i])
                                                              : std::nullopt);
    }
    return out;
}

Result<BytesAttribute> read_bytes(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    BytesAttribute out;
    CK_ATTRIBUTE a{type, nullptr, 0};
    KW_TRY(out.revealed, read_one(s, o, a));
    if (!out.revealed) return out;
    out.value.resize(a.ulValueLen);
    a.pValue = out.value.data();
    KW_TRY(out.revealed, read_one(s, o, a));
    out.value.resize(out.revealed ? a.ulValueLen : 0);
    return out;
}

}  // namespace keyward::p11
