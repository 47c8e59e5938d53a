// SPDX-License-Identifier: Apache-2.0
// Vault's response shapes: a success wraps `data` with request_id, lease fields, warnings; an
// error is {"errors":[...]}. Both are application/json; 204 has no body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http_server.hpp"
#include "keyward/json.hpp"

namespace keyward::service {

/// 200 with the Vault envelope around `data` (an object the caller filled, or none).
HttpResponse vault_data(const std::string& request_id, const Json* data,
                        const std::vector<std::string>& warnings = {});
/// 200 with Vault's envelope carrying `auth` (a token renewal) and no data.
HttpResponse vault_auth(const std::string& request_id, const Json& auth);
/// status with {"errors":[messages...]}.
HttpResponse vault_error(unsigned status, const std::vector<std::string>& messages);
/// 204, no body.
HttpResponse vault_no_content();
/// 403 {"errors":["permission denied"]}, as Vault answers every authentication failure.
HttpResponse permission_denied();

}  // namespace keyward::service
