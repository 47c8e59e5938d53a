// SPDX-License-Identifier: Apache-2.0
// Every operation the facade audits: its name in the audit log, the permission it needs, and
// how its entry is written (docs/AUDIT.md, docs/ACCESS.md).
#pragma once

#include <string_view>

#include "core/access.hpp"

namespace keyward::core {

/// stateless: seal, open, rewrap, data keys (grouped unless `audit = strict`).
/// record: record reads and writes, metadata (strict).
/// management: keyrings, grants, maintenance (strict, followed by a token checkpoint).
enum class OperationClass : std::uint8_t { stateless, record, management };

struct Operation {
    std::string_view name;
    Permission permission;
    OperationClass kind;
};

namespace ops {
// clang-format off
inline constexpr Operation keyring_create{"keyring.create", Permission::admin, OperationClass::management};
inline constexpr Operation keyring_show{"keyring.show", Permission::metadata, OperationClass::record};
inline constexpr Operation keyring_list{"keyring.list", Permission::metadata, OperationClass::record};
inline constexpr Operation keyring_history{"keyring.history", Permission::metadata, OperationClass::record};
inline constexpr Operation keyring_rotate{"keyring.rotate", Permission::rotate, OperationClass::management};
inline constexpr Operation keyring_rollback{"keyring.rollback", Permission::rotate, OperationClass::management};
inline constexpr Operation keyring_compromise{"keyring.compromise", Permission::admin, OperationClass::management};
inline constexpr Operation keyring_retire{"keyring.retire", Permission::admin, OperationClass::management};
inline constexpr Operation keyring_config{"keyring.config", Permission::admin, OperationClass::management};
inline constexpr Operation keyring_trim{"keyring.trim", Permission::admin, OperationClass::management};
inline constexpr Operation keyring_delete{"keyring.delete", Permission::admin, OperationClass::management};
inline constexpr Operation seal{"seal", Permission::write, OperationClass::stateless};
inline constexpr Operation open{"open", Permission::read, OperationClass::stateless};
inline constexpr Operation rewrap{"rewrap", Permission::write, OperationClass::stateless};
inline constexpr Operation datakey{"datakey", Permission::write, OperationClass::stateless};
inline constexpr Operation datakey_wrap{"datakey.wrap", Permission::write, OperationClass::stateless};
inline constexpr Operation datakey_decrypt{"datakey.decrypt", Permission::read, OperationClass::stateless};
inline constexpr Operation datakey_wrap_raw{"datakey.wrap-raw", Permission::write, OperationClass::stateless};
inline constexpr Operation datakey_unwrap_raw{"datakey.unwrap-raw", Permission::read, OperationClass::stateless};
inline constexpr Operation record_put{"record.put", Permission::write, OperationClass::record};
inline constexpr Operation record_generate{"record.generate", Permission::write, OperationClass::record};
inline constexpr Operation record_restore{"record.restore", Permission::write, OperationClass::record};
inline constexpr Operation record_import{"record.import", Permission::write, OperationClass::record};
inline constexpr Operation record_update{"record.update", Permission::write, OperationClass::record};
inline constexpr Operation record_revoke{"record.revoke", Permission::write, OperationClass::record};
inline constexpr Operation record_delete{"record.delete", Permission::write, OperationClass::record};
inline constexpr Operation record_recover{"record.recover", Permission::write, OperationClass::record};
inline constexpr Operation record_purge{"record.purge", Permission::admin, OperationClass::management};
inline constexpr Operation record_rotate_secret{"record.rotate-secret", Permission::rotate, OperationClass::record};
inline constexpr Operation record_get{"record.get", Permission::read, OperationClass::record};
inline constexpr Operation record_show{"record.show", Permission::metadata, OperationClass::record};
inline constexpr Operation record_versions{"record.versions", Permission::metadata, OperationClass::record};
inline constexpr Operation record_list{"record.list", Permission::metadata, OperationClass::record};
inline constexpr Operation stats{"stats", Permission::metadata, OperationClass::record};
inline constexpr Operation health{"health", Permission::metadata, OperationClass::record};
inline constexpr Operation namespace_map{"namespace.map", Permission::admin, OperationClass::management};
inline constexpr Operation namespace_list{"namespace.list", Permission::metadata, OperationClass::record};
inline constexpr Operation validate{"validate", Permission::audit, OperationClass::record};
inline constexpr Operation backup{"backup", Permission::admin, OperationClass::management};
inline constexpr Operation restore{"restore", Permission::admin, OperationClass::management};
inline constexpr Operation access_grant{"access.grant", Permission::admin, OperationClass::management};
inline constexpr Operation access_revoke{"access.revoke", Permission::admin, OperationClass::management};
inline constexpr Operation access_list{"access.list", Permission::audit, OperationClass::record};
inline constexpr Operation service_token_create{"service-token.create", Permission::admin, OperationClass::management};
inline constexpr Operation service_token_list{"service-token.list", Permission::audit, OperationClass::record};
inline constexpr Operation service_token_revoke{"service-token.revoke", Permission::admin, OperationClass::management};
inline constexpr Operation service_token_renew{"service-token.renew", Permission::metadata, OperationClass::record};
inline constexpr Operation audit_verify{"audit.verify", Permission::audit, OperationClass::record};
inline constexpr Operation compliance{"compliance", Permission::audit, OperationClass::record};
inline constexpr Operation compliance_verify{"compliance.verify-report", Permission::audit, OperationClass::record};
inline constexpr Operation audit_list{"audit.list", Permission::audit, OperationClass::record};
inline constexpr Operation audit_archive{"audit.archive", Permission::admin, OperationClass::management};
inline constexpr Operation audit_rotate_key{"audit.rotate-key", Permission::admin, OperationClass::management};
inline constexpr Operation propose{"propose", Permission::admin, OperationClass::management};
inline constexpr Operation approve{"approve", Permission::admin, OperationClass::management};
// clang-format on
}  // namespace ops

}  // namespace keyward::core
