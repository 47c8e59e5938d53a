// SPDX-License-Identifier: Apache-2.0
// Vault's response shapes (see vault_reply.hpp).
#include "vault_reply.hpp"

namespace keyward::service {

namespace {

SecretBytes body_of(const Json& j) {
    const std::string_view text = j.str();
    SecretBytes out(text.begin(), text.end());
    out.push_back('\n');
    return out;
}

}  // namespace

HttpResponse vault_data(const std::string& request_id, const Json* data,
                        const std::vector<std::string>& warnings) {
    // Built as text around the data object so that a secret in it is copied only into wiped
    // memory (Json keeps its text in a SecretString).
    Json j;
    j.begin_object()
        .field("request_id", request_id)
        .field("lease_id", "")
        .field("renewable", false)
        .field("lease_duration", 0);
    HttpResponse r;
    std::string_view head = j.str();  // `{...,"lease_duration":0` without the closing brace
    SecretBytes body(head.begin(), head.end());
    const std::string_view data_key = ",\"data\":";
    body.insert(body.end(), data_key.begin(), data_key.end());
    if (data != nullptr) {
        const std::string_view d = data->str();
        body.insert(body.end(), d.begin(), d.end());
    } else {
        const std::string_view null = "null";
        body.insert(body.end(), null.begin(), null.end());
    }
    Json tail;
    tail.begin_object().key("warnings");
    if (warnings.empty()) {
        tail.null();
    } else {
        tail.begin_array();
        for (const auto& w : warnings) tail.value(w);
        tail.end_array();
    }
    tail.key("wrap_info").null().key("auth").null().end_object();
    const std::string_view t = tail.str();  // {"warnings":...}: its fields follow a comma
    body.push_back(',');
    body.insert(body.end(), t.begin() + 1, t.end());
    body.push_back('\n');
    r.status = 200;
    r.body = std::move(body);
    return r;
}

HttpResponse vault_auth(const std::string& request_id, const Json& auth) {
    Json j;
    j.begin_object()
        .field("request_id", request_id)
        .field("lease_id", "")
        .field("renewable", false)
        .field("lease_duration", 0)
        .key("data")
        .null()
        .key("warnings")
        .null()
        .key("wrap_info")
        .null();
    const std::string_view head = j.str();
    const std::string_view a = auth.str();
    SecretBytes body(head.begin(), head.end());
    const std::string_view key = ",\"auth\":";
    body.insert(body.end(), key.begin(), key.end());
    body.insert(body.end(), a.begin(), a.end());
    body.push_back('}');
    body.push_back('\n');
    HttpResponse r;
    r.body = std::move(body);
    return r;
}

HttpResponse vault_error(unsigned status, const std::vector<std::string>& messages) {
    Json j;
    j.begin_object().key("errors").begin_array();
    for (const auto& m : messages) j.value(m);
    j.end_array().end_object();
    HttpResponse r;
    r.status = status;
    r.body = body_of(j);
    return r;
}

HttpResponse vault_no_content() {
    HttpResponse r;
    r.status = 204;
    return r;
}

HttpResponse permission_denied() {
    return vault_error(403, {"permission denied"});
}

}  // namespace keyward::service
