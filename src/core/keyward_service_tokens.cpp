// SPDX-License-Identifier: Apache-2.0
// The service-token part of the public facade (docs/SERVICE.md): create, list, revoke,
// authenticate and renew keywardd's bearer tokens.
#include "core/keyward_impl.hpp"

namespace keyward {

Result<Keyward::IssuedServiceToken> Keyward::create_service_token(
    const ServiceTokenRequest& request) {
    const Caller c = impl_->caller();
    return impl_->audited(
        core::ops::service_token_create, core::Resource::all(), request.principal,
        [&](AuditNote& note) -> Result<IssuedServiceToken> {
            KW_TRY(auto issued, impl_->service_tokens.create(request, c.principal));
            note.detail = "service token " + issued.info.id +
                          (issued.info.expires_at.empty() ? std::string("; never expires")
                                                          : "; expires " + issued.info.expires_at) +
                          (issued.info.renewable ? "; renewable" : "");
            return IssuedServiceToken{std::move(issued.token), std::move(issued.info)};
        });
}

Result<Keyward::ServiceTokenListing> Keyward::service_tokens() {
    return impl_->audited(core::ops::service_token_list, core::Resource::all(), "*",
                          [&](AuditNote&) -> Result<ServiceTokenListing> {
                              KW_TRY(auto rows, impl_->service_tokens.checked_rows());
                              ServiceTokenListing out;
                              for (auto& r : rows) {
                                  if (!r.mac_ok) out.invalid.push_back(r.row.info.id);
                                  out.tokens.push_back(std::move(r.row.info));
                              }
                              return out;
                          });
}

Result<ServiceTokenInfo> Keyward::revoke_service_token(const std::string& id) {
    return impl_->audited(core::ops::service_token_revoke, core::Resource::all(), id,
                          [&](AuditNote& note) -> Result<ServiceTokenInfo> {
                              KW_TRY(auto info, impl_->service_tokens.revoke(id));
                              note.target = info.principal;
                              note.detail = "service token " + id + " revoked";
                              return info;
                          });
}

Result<ServiceTokenInfo> Keyward::authenticate_service_token(std::string_view token) {
    return impl_->service_tokens.authenticate(token);
}

Result<ServiceTokenInfo> Keyward::renew_service_token(std::string_view token) {
    // As the token's own principal, who needs no role to extend its own credential.
    KW_TRY(auto info, impl_->service_tokens.authenticate(token));
    Caller c = impl_->caller();
    c.principal = info.principal;
    return impl_->run_audited(core::ops::service_token_renew, c, info.principal,
                              [&](AuditNote& note) -> Result<ServiceTokenInfo> {
                                  KW_TRY(auto renewed, impl_->service_tokens.renew(token));
                                  note.detail = "service token " + renewed.id + " renewed until " +
                                                renewed.expires_at;
                                  return renewed;
                              });
}

}  // namespace keyward
