// SPDX-License-Identifier: Apache-2.0
// Private, non-modifiable CKO_DATA token objects written once and never changed (audit
// checkpoints): SoftHSM rewrites a changed object in place, so a new record is a new object.
#pragma once

#include <string>
#include <vector>

#include "core/hsm.hpp"
#include "keyward/error.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

/// Every private data object of this application visible to the logged-in session.
Result<std::vector<core::DataObject>> read_data_objects(const Session& s,
                                                        const std::string& application);

/// C_CreateObject (CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE = FALSE), then finds it again by
/// application and label with the same value: SoftHSM's file store only fflushes a new object.
Status create_data_object(const Session& s, const core::DataObject& object);

/// Destroys every private data object of this application with this label.
Status destroy_data_objects(const Session& s, const std::string& application,
                            const std::string& label);

}  // namespace keyward::p11
