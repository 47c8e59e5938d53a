// SPDX-License-Identifier: Apache-2.0
// keywardd's Vault API (see transit.hpp; the endpoint table is in docs/SERVICE.md).
#include "transit.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "iso_time.hpp"
#include "json_value.hpp"
#include "keyward/base64.hpp"
#include "keyward/format.hpp"
#include "keyward/version.hpp"
#include "vault_reply.hpp"

namespace keyward::service {

namespace {

constexpr std::string_view kKeyType = "aes256-gcm96";

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        const std::size_t j = path.find('/', i);
        const std::size_t end = j == std::string_view::npos ? path.size() : j;
        if (end > i) parts.emplace_back(path.substr(i, end - i));
        i = end;
    }
    return parts;
}

bool query_has(std::string_view query, std::string_view pair) {
    std::size_t i = 0;
    while (i <= query.size()) {
        const std::size_t j = query.find('&', i);
        const std::size_t end = j == std::string_view::npos ? query.size() : j;
        if (query.substr(i, end - i) == pair) return true;
        if (j == std::string_view::npos) break;
        i = j + 1;
    }
    return false;
}

std::string new_request_id(std::string_view given) {
    // A client's id is echoed when it is short and plain, so that logs can be joined.
    if (!given.empty() && given.size() <= 64) {
        bool plain = true;
        for (char c : given) {
            plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
        }
        if (plain) return std::string(given);
    }
    // Random bytes are drawn 32 ids at a time: RAND_bytes per request was 2% of keywardd's
    // CPU under load (docs/PERFORMANCE.md). A request id is a label, not a secret.
    thread_local unsigned char pool[32 * 16];
    thread_local std::size_t used = sizeof pool;
    thread_local std::uint64_t fallback = 0;
    if (used == sizeof pool) {
        if (RAND_bytes(pool, sizeof pool) != 1) {
            // Still unique: the thread's own address and a counter, never uninitialised bytes.
            const auto thread_mark = reinterpret_cast<std::uintptr_t>(&fallback);
            std::memset(pool, 0, sizeof pool);
            for (std::size_t i = 0; i < sizeof pool; i += 16) {
                ++fallback;
                std::memcpy(pool + i, &fallback, sizeof fallback);
                std::memcpy(pool + i + 8, &thread_mark, sizeof thread_mark);
            }
        }
        used = 0;
    }
    unsigned char r[16];
    std::memcpy(r, pool + used, sizeof r);
    used += sizeof r;
    r[6] = static_cast<unsigned char>((r[6] & 0x0f) | 0x40);  // a version 4 UUID
    r[8] = static_cast<unsigned char>((r[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
                  r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                  r[14], r[15]);
    return out;
}

std::string_view token_of(const HttpRequest& req) {
    auto token = req.header("x-vault-token");
    if (!token.empty()) return token;
    auto auth = req.header("authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (auth.substr(0, bearer.size()) == bearer) return auth.substr(bearer.size());
    return {};
}

// A keyring that does not exist, as Vault words it for encrypt and datakey (no upsert here).
Error key_error(const Error& e) {
    if (e.code() == Errc::not_found) return Error(Errc::bad_input, "encryption key not found");
    return e;
}

// Vault's words for a version outside the key's window (keysutil's ErrTooOld and kin).
constexpr std::string_view kTooOld =
    "ciphertext or signature version is disallowed by policy (too old)";
constexpr std::string_view kBelowMinEncryption =
    "requested version for encryption is less than the minimum encryption key version";

// An error from the library as Vault would answer it.
HttpResponse answer_error(const Error& e) {
    switch (e.code()) {
        case Errc::access_denied:
            return permission_denied();
        case Errc::policy_refused:
            return vault_error(400, {e.message()});
        case Errc::auth_failed:
            return vault_error(400, {"cipher: message authentication failed"});
        case Errc::hsm_unavailable:
        case Errc::pin_incorrect:
        case Errc::pin_locked:
        case Errc::database_locked:
            return vault_error(503, {e.message()});
        case Errc::failed:
        case Errc::io_error:
        case Errc::database_error:
        case Errc::hsm_error:
        case Errc::token_mismatch:
            return vault_error(500, {e.message()});
        default:
            return vault_error(400, {e.message()});
    }
}

// A request body's fields: a JSON object (or none), each known field of the expected type.
class Fields {
  public:
    static Result<Fields> parse(const HttpRequest& req) {
        Fields f;
        if (req.body.empty()) return f;
        const std::string_view text(reinterpret_cast<const char*>(req.body.data()),
                                    req.body.size());
        KW_TRY(f.root_, parse_json(text));
        if (f.root_.type != JsonValue::Type::object) {
            return Error(Errc::bad_input, "the request body must be a JSON object");
        }
        return f;
    }
    explicit Fields(const JsonValue* object = nullptr) : object_(object) {}

    const JsonValue* get(std::string_view name) const {
        const JsonValue* o = object_ != nullptr ? object_ : &root_;
        const JsonValue* v = o->find(name);
        return v != nullptr && v->type != JsonValue::Type::null ? v : nullptr;
    }
    Result<std::optional<SecretString>> string(std::string_view name) const {
        const JsonValue* v = get(name);
        if (v == nullptr) return std::optional<SecretString>();
        if (v->type != JsonValue::Type::string) return wrong(name, "a string", v->type);
        return std::optional<SecretString>(v->string);
    }
    Result<std::optional<std::int64_t>> integer(std::string_view name) const {
        const JsonValue* v = get(name);
        if (v == nullptr) return std::optional<std::int64_t>();
        // Vault's clients send numbers, and some send them as strings ("2").
        if (v->type == JsonValue::Type::string) {
            JsonValue n;
            n.type = JsonValue::Type::number;
            n.number = std::string(v->string.data(), v->string.size());
            if (auto i = n.integer()) return std::optional<std::int64_t>(*i);
        }
        if (auto i = v->integer()) return std::optional<std::int64_t>(*i);
        return wrong(name, "an integer", v->type);
    }
    Result<bool> boolean(std::string_view name) const {
        const JsonValue* v = get(name);
        if (v == nullptr) return false;
        if (v->type == JsonValue::Type::boolean) return v->boolean;
        if (v->type == JsonValue::Type::string) {
            const std::string_view s(v->string.data(), v->string.size());
            if (s == "true") return true;
            if (s == "false") return false;
        }
        return wrong(name, "a boolean", v->type);
    }
    const JsonValue& root() const { return object_ != nullptr ? *object_ : root_; }

  private:
    static Error wrong(std::string_view name, const char* want, JsonValue::Type got) {
        return Error(Errc::bad_input, "field \"" + std::string(name) + "\" must be " + want +
                                          ", not " + JsonValue::type_name(got));
    }
    JsonValue root_;
    const JsonValue* object_ = nullptr;
};

Result<SecretBytes> base64_field(const std::optional<SecretString>& text, std::string_view name) {
    SecretBytes out;
    if (!text) return out;
    if (auto failure = base64_decode(std::string_view(text->data(), text->size()), out)) {
        return Error(Errc::bad_input, std::string(name) + " is not base64: " +
                                          std::string(base64_reason(failure->why)));
    }
    return out;
}

Result<Bytes> context_of(const Fields& f) {
    KW_TRY(auto context_text, f.string("context"));
    KW_TRY(auto ad_text, f.string("associated_data"));
    KW_TRY(auto context, base64_field(context_text, "context"));
    KW_TRY(auto ad, base64_field(ad_text, "associated_data"));
    return transit_context(ByteView(context.data(), context.size()),
                           ByteView(ad.data(), ad.size()));
}

// A key as Vault's `GET keys/:name` shows it: versions still available, the policy.
void key_json(Json& d, const KeyringInfo& ring) {
    std::uint32_t latest = 0;
    d.begin_object().field("name", ring.name).field("type", kKeyType).key("keys");
    d.begin_object();
    for (const auto& v : ring.versions) {
        if (v.state == KekState::destroyed || v.state == KekState::pre_active) continue;
        d.field(std::to_string(v.version), unix_of(v.created_at));
        if (v.state == KekState::active) latest = v.version;
    }
    const KeyringPolicy& p = ring.policy;
    d.end_object()
        .field("latest_version", latest)
        .field("min_decryption_version", p.min_decryption_version)
        .field("min_encryption_version", p.min_encryption_version)
        .field("min_available_version", p.min_available_version)
        .field("deletion_allowed", p.deletion_allowed)
        .field("derived", false)
        .field("exportable", false)
        .field("allow_plaintext_backup", false)
        .field("supports_encryption", true)
        .field("supports_decryption", true)
        .field("supports_derivation", false)
        .field("supports_signing", false)
        .field("imported_key", false)
        .field("auto_rotate_period", p.auto_rotate_period_seconds)
        .end_object();
}

// "1h", "90m", "3600s", "3600" or a number of seconds, as Vault's duration fields take them.
Result<std::uint64_t> seconds_field(const Fields& f, std::string_view name) {
    const JsonValue* v = f.get(name);
    if (v == nullptr) return Error(Errc::not_found, "absent");
    if (v->type == JsonValue::Type::number) {
        if (auto i = v->integer(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
    } else if (v->type == JsonValue::Type::string) {
        if (auto seconds =
                parse_duration_seconds(std::string_view(v->string.data(), v->string.size()))) {
            return *seconds;
        }
    }
    return Error(Errc::bad_input, "field \"" + std::string(name) +
                                      "\" must be a duration such as 3600, \"1h\" or \"30d\"");
}

// A non-negative version number field, with Vault's message for a negative one.
Result<std::optional<std::uint32_t>> version_field(const Fields& f, std::string_view name,
                                                   const char* what) {
    KW_TRY(auto v, f.integer(name));
    if (!v) return std::optional<std::uint32_t>();
    if (*v < 0) return Error(Errc::bad_input, std::string(what) + " cannot be negative");
    if (*v > 0xffffffffLL) return Error(Errc::bad_input, std::string(what) + " is out of range");
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v));
}

HttpResponse datakey(Keyward& kw, const std::string& request_id, const std::string& name,
                     bool with_plaintext, const Fields& f) {
    auto bits = f.integer("bits");
    if (!bits.ok()) return answer_error(bits.error());
    const std::int64_t n = bits->value_or(256);
    if (n != 128 && n != 256 && n != 512) {
        return vault_error(400, {"invalid bit length: bits must be 128, 256 or 512"});
    }
    auto ctx = context_of(f);
    if (!ctx.ok()) return answer_error(ctx.error());
    // The key comes from the host DRBG (as every DEK does) and leaves sealed under the keyring,
    // so that decrypt/:name opens the ciphertext (Vault's datakey contract).
    SecretBytes key(static_cast<std::size_t>(n / 8));
    if (RAND_priv_bytes(key.data(), static_cast<int>(key.size())) != 1) {
        return vault_error(500, {"the random generator failed"});
    }
    auto envelope = kw.seal(name, ByteView(key.data(), key.size()), *ctx);
    if (!envelope.ok()) {
        if (envelope.error().code() == Errc::policy_refused) {
            return vault_error(400, {std::string(kBelowMinEncryption)});
        }
        return answer_error(key_error(envelope.error()));
    }
    auto header = inspect_blob(*envelope);
    auto ciphertext = to_vault_form(*envelope);
    if (!header.ok() || !ciphertext.ok()) return vault_error(500, {"sealed data key unreadable"});
    Json d;
    d.begin_object().field("ciphertext", *ciphertext).field("key_version", header->kek_version);
    if (with_plaintext) {
        const SecretString b64 = base64_encode_secret(ByteView(key.data(), key.size()));
        d.field("plaintext", std::string_view(b64.data(), b64.size()));
    }
    d.end_object();
    return vault_data(request_id, &d);
}

}  // namespace

HttpResponse Transit::handle(HttpRequest& req) {
    const auto started = std::chrono::steady_clock::now();
    const std::string route_name = route_of(req.path);
    HttpResponse r = route(req);
    metrics_.record(route_name, r.status, std::chrono::steady_clock::now() - started);
    return r;
}

HttpResponse Transit::route(HttpRequest& req) {
    const std::string request_id = new_request_id(req.header("x-request-id"));
    const auto parts = split_path(req.path);
    if (parts.size() < 2 || parts[0] != "v1") return vault_error(404, {"unsupported path"});

    // No authentication for health.
    if (parts.size() == 3 && parts[1] == "sys" && parts[2] == "health") {
        Json d;
        d.begin_object()
            .field("initialized", true)
            .field("sealed", false)
            .field("standby", false)
            .field("performance_standby", false)
            .field("version", std::string("keyward ") + version())
            .field("server_time_utc", static_cast<std::int64_t>(std::time(nullptr)))
            .end_object();
        HttpResponse r;
        const std::string_view t = d.str();
        r.body.assign(t.begin(), t.end());
        r.body.push_back('\n');
        return r;
    }

    const std::string_view token = token_of(req);
    auto who = kw_.authenticate_service_token(token);
    if (!who.ok()) {
        // Only a refused token is 403: a client told "permission denied" drops its token, which
        // an HSM or database outage must not make it do.
        if (who.error().code() == Errc::access_denied) return permission_denied();
        return answer_error(who.error());
    }
    // Vault treats PUT as POST; Vault's Go client, `vault write` and Vault Agent send PUT.
    if (req.method == "PUT") req.method = "POST";
    CallContext context;
    context.principal = who->principal;
    context.client_address = req.client_address;
    context.user_agent = std::string(req.header("user-agent").substr(0, 200));
    context.request_id = request_id;
    auto scope = kw_.act_as(context);
    auto respond = [&](HttpResponse r) {
        r.principal = who->principal;
        return r;
    };

    if (parts.size() == 3 && parts[1] == "sys" && parts[2] == "metrics") {
        if (req.method != "GET") return respond(vault_error(405, {"unsupported operation"}));
        if (!query_has(req.query, "format=prometheus")) {
            return respond(vault_error(400, {"keywardd serves metrics as format=prometheus"}));
        }
        Metrics::Gauges g;
        g.queue_depth = options_.queue_depth ? options_.queue_depth() : 0;
        g.rotations_running = rotator_.running();
        const std::string text = metrics_.prometheus(g);
        HttpResponse r;
        r.body.assign(text.begin(), text.end());
        r.content_type = "text/plain; version=0.0.4";
        return respond(std::move(r));
    }

    if (parts.size() == 4 && parts[1] == "auth" && parts[2] == "token") {
        ServiceTokenInfo info = *who;
        if (parts[3] == "renew-self" && req.method == "POST") {
            auto renewed = kw_.renew_service_token(token);
            if (!renewed.ok()) return respond(answer_error(renewed.error()));
            info = *renewed;
        } else if (parts[3] != "lookup-self" || req.method != "GET") {
            return respond(vault_error(405, {"unsupported operation"}));
        }
        Json d;
        const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
        const std::int64_t ttl = info.expires_at.empty() ? 0 : unix_of(info.expires_at) - now;
        if (parts[3] == "renew-self") {
            // Vault answers a renewal with an auth block (renewal loops read lease_duration).
            Json a;
            a.begin_object()
                .field("client_token", "")
                .field("accessor", info.id)
                .key("policies")
                .begin_array()
                .value("default")
                .end_array()
                .key("token_policies")
                .begin_array()
                .value("default")
                .end_array()
                .key("metadata")
                .null()
                .field("lease_duration", ttl > 0 ? ttl : 0)
                .field("renewable", info.renewable)
                .field("entity_id", info.principal)
                .field("token_type", "service")
                .field("orphan", true)
                .end_object();
            return respond(vault_auth(request_id, a));
        }
        d.begin_object()
            .field("accessor", info.id)
            .field("display_name", "token-" + info.principal)
            .field("entity_id", info.principal)
            .field_or_null("expire_time", info.expires_at)
            .field("creation_time", unix_of(info.created_at))
            .field("creation_ttl", info.ttl_seconds)
            .field("id", "")
            .key("meta")
            .null()
            .key("policies")
            .begin_array()
            .value("default")
            .end_array()
            .field("renewable", info.renewable)
            .field("ttl", ttl > 0 ? ttl : 0)
            .field("type", "service")
            .end_object();
        return respond(vault_data(request_id, &d));
    }

    if (parts[1] != "transit" || parts.size() < 3) {
        return respond(vault_error(404, {"no handler for route \"" + req.path + "\""}));
    }
    auto fields = Fields::parse(req);
    if (!fields.ok()) return respond(vault_error(400, {fields.error().message()}));
    const std::string& op = parts[2];
    const std::string name = parts.size() >= 4 ? parts[3] : "";

    // keys, keys/:name, keys/:name/rotate
    if (op == "keys") {
        const bool listing =
            parts.size() == 3 &&
            (req.method == "LIST" || (req.method == "GET" && (query_has(req.query, "list=true") ||
                                                              query_has(req.query, "list=1"))));
        if (listing) {
            auto rings = kw_.keyrings();
            if (!rings.ok()) return respond(answer_error(rings.error()));
            if (rings->empty()) return respond(vault_error(404, {}));
            Json d;
            d.begin_object().key("keys").begin_array();
            for (const auto& r : *rings) d.value(r.name);
            d.end_array().end_object();
            return respond(vault_data(request_id, &d));
        }
        if (parts.size() == 4 && req.method == "DELETE") {
            auto deleted = kw_.delete_keyring(name);
            if (deleted.ok()) return respond(vault_no_content());
            const Error& e = deleted.error();
            if (e.code() == Errc::access_denied &&
                e.message().find("two admins") == std::string::npos) {
                return respond(permission_denied());
            }
            const std::string why = e.code() == Errc::not_found ? "could not delete key; not found"
                                    : e.message().rfind("deletion is not allowed", 0) == 0
                                        ? "deletion is not allowed for this policy"
                                        : e.message();
            return respond(vault_error(e.code() == Errc::access_denied ? 403 : 400,
                                       {"error deleting policy " + name + ": " + why}));
        }
        if (parts.size() == 5 && req.method != "POST") {
            return respond(vault_error(405, {"unsupported operation"}));
        }
        if (parts.size() == 5 && parts[4] == "config") {
            KeyringPolicyUpdate u;
            auto min_dec =
                version_field(*fields, "min_decryption_version", "min decryption version");
            if (!min_dec.ok()) return respond(answer_error(min_dec.error()));
            auto min_enc =
                version_field(*fields, "min_encryption_version", "min encryption version");
            if (!min_enc.ok()) return respond(answer_error(min_enc.error()));
            u.min_decryption_version = *min_dec;
            u.min_encryption_version = *min_enc;
            if (fields->get("deletion_allowed") != nullptr) {
                auto allowed = fields->boolean("deletion_allowed");
                if (!allowed.ok()) return respond(answer_error(allowed.error()));
                u.deletion_allowed = *allowed;
            }
            if (fields->get("auto_rotate_period") != nullptr) {
                auto period = seconds_field(*fields, "auto_rotate_period");
                if (!period.ok()) return respond(answer_error(period.error()));
                u.auto_rotate_period_seconds = *period;
            }
            for (const char* never : {"exportable", "allow_plaintext_backup"}) {
                auto wanted = fields->boolean(never);
                if (!wanted.ok()) return respond(answer_error(wanted.error()));
                if (*wanted) {
                    return respond(
                        vault_error(400, {std::string(never) +
                                          " cannot be set: keywardd keys never leave the HSM"}));
                }
            }
            auto ring = kw_.configure_keyring(name, u);
            if (!ring.ok()) {
                if (ring.error().code() == Errc::not_found) {
                    return respond(
                        vault_error(400, {"no existing key named " + name + " could be found"}));
                }
                return respond(answer_error(ring.error()));
            }
            Json d;
            key_json(d, *ring);
            return respond(vault_data(request_id, &d));
        }
        if (parts.size() == 5 && parts[4] == "trim") {
            auto wanted =
                version_field(*fields, "min_available_version", "minimum available version");
            if (!wanted.ok()) return respond(answer_error(wanted.error()));
            if (!*wanted) return respond(vault_error(400, {"missing min_available_version"}));
            auto ring = kw_.trim_keyring(name, **wanted);
            if (!ring.ok()) {
                if (ring.error().code() == Errc::not_found) {
                    return respond(vault_error(400, {"invalid key name"}));
                }
                return respond(answer_error(ring.error()));
            }
            Json d;
            key_json(d, *ring);
            return respond(vault_data(request_id, &d));
        }
        if (parts.size() == 4 || (parts.size() == 5 && parts[4] == "rotate")) {
            std::vector<std::string> warnings;
            if (parts.size() == 5) {
                // Answered once the new version is active; the stored records' re-wrap goes on
                // in the background as keyward's resumable job.
                auto before = kw_.keyring(name);
                if (!before.ok()) {
                    if (before.error().code() == Errc::not_found) {
                        return respond(vault_error(400, {"key not found"}));
                    }
                    return respond(answer_error(before.error()));
                }
                std::uint32_t newest = 0;
                for (const auto& v : before->versions) newest = std::max(newest, v.version);
                auto rotated = rotator_.rotate(name, context);
                if (!rotated.ok()) return respond(answer_error(rotated.error()));
                if (rotated->to_version <= newest) {
                    // An unfinished rotation (stopped at a shutdown) was resumed instead.
                    warnings.push_back("an unfinished rotation to version " +
                                       std::to_string(rotated->to_version) +
                                       " was resumed; no new version was made: rotate again "
                                       "for one");
                }
            } else if (req.method == "POST") {
                auto type = fields->string("type");
                if (!type.ok()) return respond(answer_error(type.error()));
                if (*type && std::string_view((*type)->data(), (*type)->size()) != kKeyType) {
                    return respond(vault_error(
                        400, {"key type \"" + std::string((*type)->data(), (*type)->size()) +
                              "\" is not supported: keywardd keys are aes256-gcm96 (a keyring "
                              "whose KEKs stay in the HSM)"}));
                }
                auto derived_field = fields->boolean("derived");
                if (!derived_field.ok()) return respond(answer_error(derived_field.error()));
                auto convergent_field = fields->boolean("convergent_encryption");
                if (!convergent_field.ok()) return respond(answer_error(convergent_field.error()));
                const bool derived = *derived_field;
                const bool convergent = *convergent_field;
                if (derived || convergent) {
                    return respond(vault_error(
                        400, {std::string(derived ? "derived keys" : "convergent encryption") +
                              " are not supported: keyward binds a context to each envelope "
                              "instead (send context with encrypt and decrypt)"}));
                }
                auto made = kw_.create_keyring(name);
                if (!made.ok()) {
                    if (made.error().code() != Errc::already_exists) {
                        return respond(answer_error(made.error()));
                    }
                    warnings.push_back("key \"" + name + "\" already exists; nothing was changed");
                }
            } else if (req.method != "GET") {
                return respond(vault_error(405, {"unsupported operation"}));
            }
            auto ring = kw_.keyring(name);
            if (!ring.ok()) {
                if (ring.error().code() == Errc::not_found) return respond(vault_error(404, {}));
                return respond(answer_error(ring.error()));
            }
            Json d;
            key_json(d, *ring);
            return respond(vault_data(request_id, &d, warnings));
        }
        return respond(vault_error(404, {"unsupported path"}));
    }

    if (op == "datakey" && parts.size() == 5 && req.method == "POST" &&
        (parts[3] == "plaintext" || parts[3] == "wrapped")) {
        return respond(datakey(kw_, request_id, parts[4], parts[3] == "plaintext", *fields));
    }
    if ((op != "encrypt" && op != "decrypt" && op != "rewrap") || parts.size() != 4 ||
        req.method != "POST") {
        return respond(vault_error(404, {"unsupported path"}));
    }

    // One item of encrypt or decrypt: its fields are written into `out` (an open object) only
    // once everything has succeeded, so that a failed item leaves nothing half-written.
    auto one = [&](const Fields& f, Json& out) -> Status {
        KW_TRY(auto ctx, context_of(f));
        if (op == "encrypt") {
            KW_TRY(auto text, f.string("plaintext"));
            if (!text) return Error(Errc::bad_input, "missing plaintext to encrypt");
            KW_TRY(auto plaintext, base64_field(text, "plaintext"));
            KW_TRY(auto version, f.integer("key_version"));
            if (version && *version != 0) {
                // Checked before sealing: a refused request costs no wrap and no entry.
                auto ring = kw_.keyring(name);
                if (!ring.ok()) return key_error(ring.error());
                std::int64_t latest = 0;
                for (const auto& v : ring->versions) {
                    if (v.state == KekState::active) latest = v.version;
                }
                if (*version < ring->policy.min_encryption_version) {
                    return Error(Errc::policy_refused, std::string(kBelowMinEncryption));
                }
                if (*version != latest) {
                    return Error(Errc::bad_input,
                                 "key_version " + std::to_string(*version) +
                                     " is not the latest: keywardd encrypts only with the latest "
                                     "version (" +
                                     std::to_string(latest) + ")");
                }
            }
            auto sealed = kw_.seal(name, ByteView(plaintext.data(), plaintext.size()), ctx);
            if (!sealed.ok()) return key_error(sealed.error());
            const Bytes& envelope = *sealed;
            KW_TRY(auto header, inspect_blob(envelope));
            KW_TRY(auto ciphertext, to_vault_form(envelope));
            out.field("ciphertext", ciphertext).field("key_version", header.kek_version);
            return {};
        }
        KW_TRY(auto text, f.string("ciphertext"));
        if (!text) return Error(Errc::bad_input, "missing ciphertext to " + op);
        KW_TRY(auto envelope, from_vault_form(std::string_view(text->data(), text->size())));
        KW_TRY(auto header, inspect_blob(envelope));
        if (header.keyring != name) {
            return Error(Errc::bad_input, "the ciphertext was made with key \"" + header.keyring +
                                              "\", not \"" + name + "\"");
        }
        if (op == "rewrap") {
            // Only the wrapped data key changes (the payload is not opened, so no context is
            // needed); a ciphertext already under the latest version comes back as it was.
            KW_TRY(auto rewrapped, kw_.rewrap(envelope));
            KW_TRY(auto new_header, inspect_blob(rewrapped));
            KW_TRY(auto ciphertext, to_vault_form(rewrapped));
            out.field("ciphertext", ciphertext).field("key_version", new_header.kek_version);
            return {};
        }
        KW_TRY(auto plaintext, kw_.open(envelope, ctx));
        const SecretString b64 = base64_encode_secret(ByteView(plaintext.data(), plaintext.size()));
        out.field("plaintext", std::string_view(b64.data(), b64.size()));
        return {};
    };

    // A version outside the key's window, in Vault's words (clients match on them).
    auto vault_words = [&](Error e) {
        if (e.code() != Errc::policy_refused) return e;
        // rewrap meets both windows: the input's version, then the one it wraps under.
        const bool encrypting =
            op == "encrypt" || e.message().find("min_encryption_version") != std::string::npos;
        return Error(Errc::policy_refused, std::string(encrypting ? kBelowMinEncryption : kTooOld));
    };
    const JsonValue* batch = fields->root().find("batch_input");
    if (batch == nullptr || batch->type == JsonValue::Type::null) {
        Json d;
        d.begin_object();
        auto done = one(*fields, d);
        if (!done.ok()) return respond(answer_error(vault_words(done.error())));
        d.end_object();
        return respond(vault_data(request_id, &d));
    }
    if (batch->type != JsonValue::Type::array) {
        return respond(vault_error(400, {"field \"batch_input\" must be an array"}));
    }
    if (batch->items.empty()) return respond(vault_error(400, {"missing batch input to process"}));
    if (batch->items.size() > options_.max_batch_items) {
        return respond(vault_error(
            400, {"batch_input has " + std::to_string(batch->items.size()) + " items; at most " +
                  std::to_string(options_.max_batch_items) + " are allowed"}));
    }
    auto partial = fields->integer("partial_failure_response_code");
    if (!partial.ok()) return respond(answer_error(partial.error()));
    bool any_failed = false;
    Json d;
    d.begin_object().key("batch_results").begin_array();
    for (const auto& entry : batch->items) {
        d.begin_object();
        if (entry.type != JsonValue::Type::object) {
            d.field("error", "each batch_input item must be an object");
            any_failed = true;
            d.end_object();
            continue;
        }
        Fields f(&entry);
        auto done = one(f, d);
        auto reference = f.string("reference");
        if (!done.ok()) {
            any_failed = true;
            d.field("error", done.error().code() == Errc::auth_failed
                                 ? std::string("cipher: message authentication failed")
                                 : vault_words(done.error()).message());
        }
        if (reference.ok() && *reference) {
            d.field("reference", std::string_view((*reference)->data(), (*reference)->size()));
        }
        d.end_object();
    }
    d.end_array().end_object();
    HttpResponse r = vault_data(request_id, &d);
    if (any_failed) {
        // Any code a body can go with (207 Multi-Status, 4xx, 5xx); never 204, 205 or 304,
        // whose responses have no body to carry the results.
        const auto code = *partial;
        const bool usable =
            code && *code >= 200 && *code <= 599 && *code != 204 && *code != 205 && *code != 304;
        r.status = usable ? static_cast<unsigned>(*code) : 400;
    }
    return respond(std::move(r));
}

}  // namespace keyward::service
