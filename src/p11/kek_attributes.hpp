// SPDX-License-Identifier: Apache-2.0
// The KEK object of docs/FORMAT.md: its generation template, every attribute explicit
// (SoftHSM defaults CKA_SENSITIVE to FALSE and CKA_MODIFIABLE to TRUE), and reading a secret
// key's attributes back into core::KekAttributes.
#pragma once

#include <string>

#include "core/hsm.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/types.hpp"
#include "p11/attributes.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

/// CKM_AES_KEY_GEN template for a suite's KEK. `label` and `id` must outlive the template.
/// modifiable is false except on the retry for tokens that refuse CKA_MODIFIABLE = FALSE.
Template kek_template(const std::string& label, Suite suite, ByteView id, bool modifiable);

/// "CKO_SECRET_KEY", "CKK_AES"...; another value as "CKO 0x..." / "CKK 0x...".
std::string object_class_name(CK_ULONG value);
std::string key_type_name(CK_ULONG value);

/// Label, id and every attribute of core::KekAttributes; unrevealed ones are nullopt.
Result<core::KekAttributes> read_kek_attributes(const Session& s, CK_OBJECT_HANDLE object);

/// Private CKO_SECRET_KEY token objects with this CKA_LABEL (a fresh search, no cache). s must
/// be logged in.
Result<std::vector<CK_OBJECT_HANDLE>> find_secret_keys_by_label(const Session& s,
                                                                const std::string& label);

/// How many public objects of any class carry this CKA_LABEL.
Result<std::size_t> count_public_objects_by_label(const Session& s, const std::string& label);

}  // namespace keyward::p11
