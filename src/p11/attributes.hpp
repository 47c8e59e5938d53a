// SPDX-License-Identifier: Apache-2.0
// Building CK_ATTRIBUTE templates without dangling pointers, and reading attributes back one by
// one when a token refuses a batch (CKR_ATTRIBUTE_SENSITIVE / CKR_ATTRIBUTE_TYPE_INVALID).
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

/// Owns the values its attributes point at (a deque never moves what it holds), so the
/// template stays valid while it lives. Byte values are borrowed: they must outlive it.
class Template {
  public:
    Template& add_bool(CK_ATTRIBUTE_TYPE type, bool value);
    Template& add_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
    Template& add_bytes(CK_ATTRIBUTE_TYPE type, ByteView value);
    Template& add_string(CK_ATTRIBUTE_TYPE type, std::string_view value) {
        return add_bytes(type, as_bytes(value));
    }
    /// Replaces the value of an attribute added with add_bool.
    void set_bool(CK_ATTRIBUTE_TYPE type, bool value);

    CK_ATTRIBUTE* data() noexcept { return attrs_.data(); }
    CK_ULONG size() const noexcept { return static_cast<CK_ULONG>(attrs_.size()); }
    std::span<CK_ATTRIBUTE> span() noexcept { return attrs_; }

  private:
    std::vector<CK_ATTRIBUTE> attrs_;
    std::deque<CK_ULONG> ulongs_;
    std::deque<CK_BBOOL> bools_;
};

/// A CK_ULONG or CK_BBOOL attribute, nullopt when the token will not reveal it.
Result<std::optional<CK_ULONG>> read_ulong(const Session& s, CK_OBJECT_HANDLE o,
                                           CK_ATTRIBUTE_TYPE type);
/// Reads many fixed-size attributes in one C_GetAttributeValue; when the token refuses the batch
/// because of one attribute, falls back to one call per attribute. Unrevealed ones are nullopt.
/// bool_types are CK_BBOOL, ulong_types CK_ULONG.
struct FixedAttributes {
    std::vector<std::optional<bool>> bools;
    std::vector<std::optional<CK_ULONG>> ulongs;
};
Result<FixedAttributes> read_fixed(const Session& s, CK_OBJECT_HANDLE o,
                                   std::span<const CK_ATTRIBUTE_TYPE> bool_types,
                                   std::span<const CK_ATTRIBUTE_TYPE> ulong_types);
/// A variable-length attribute (CKA_LABEL, CKA_ID). (Not std::optional<Bytes>: GCC 12 -O3
/// reports a false maybe-uninitialized for it.)
struct BytesAttribute {
    bool revealed = false;  // false: sensitive, or no such attribute on this object
    Bytes value;
};
Result<BytesAttribute> read_bytes(const Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

/// ~0: the ulValueLen a token writes for an attribute it cannot reveal. (Spelled out here:
/// pkcs11.h's CK_UNAVAILABLE_INFORMATION uses a C cast.)
inline constexpr CK_ULONG kUnavailable = ~CK_ULONG{0};

}  // namespace keyward::p11
