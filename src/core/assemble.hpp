// SPDX-License-Identifier: Apache-2.0
// A Keyward handle over any Hsm and Store. Keyward::open (src/api/keyward_open.cpp) assembles
// one over PKCS#11 and SQLite; the library's tests and benchmarks assemble one over a fake
// token, a bare SoftHSM or a store they prepared. Not installed: embedders use Keyward::open.
#pragma once

#include <memory>

#include "core/hsm.hpp"
#include "core/store.hpp"
#include "keyward/keyward.hpp"

namespace keyward::core {

/// Checks that store and token belong together (Keyrings::verify_binding: token binding, KEK
/// rows, the token's state ledger, every live KEK's attributes), sets up the audit chain when
/// the database has none, and returns the handle. `audit_store`, when given, is a second
/// connection to the same database for the audit log's appends, so that a group commit's
/// durable write never holds up the data path's reads (Keyward::open passes one); without it
/// the audit log shares `store`.
Result<std::unique_ptr<Keyward>> assemble(std::unique_ptr<Hsm> hsm, std::unique_ptr<Store> store,
                                          const Config& config, const OpenOptions& open = {},
                                          std::unique_ptr<Store> audit_store = nullptr);

}  // namespace keyward::core
