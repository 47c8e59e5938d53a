// Versioned wallets and credentials over the envelope service and the record store.
#include "core/records.hpp"

#include <array>

#include "crypto/envelope_codec.hpp"

namespace keyward::core {

namespace {

constexpr std::array<std::string_view, 11> kKinds = {"wallet",
                                                     "api_key",
                                                     "oauth_access_token",
                                                     "oauth_refresh_token",
                                                     "basic_auth_username",
                                                     "basic_auth_password",
                                                     "client_certificate",
                                                     "client_private_key",
                                                     "webhook_secret",
                                                     "jwt_signing_key",
                                                     "custom_secret"};

bool is_segment(std::string_view s) {
    auto first_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (s.empty() || !first_ok(s[0])) return false;
    for (char c : s.substr(1)) {
        if (!first_ok(c) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
}

constexpr int kPutAttempts = 16;

}  // namespace

Result<RecordAddress> parse_record_address(const std::string& text) {
    const auto slash = text.find('/');
    const std::string rule =
        "; use NS/NAME: NS is a lowercase letter or digit, then [a-z0-9._-] (at most 64), NAME "
        "one or more such segments joined by '/'";
    if (slash == std::string::npos) {
        return Error(Errc::usage, "record address \"" + text + "\" has no '/'" + rule);
    }
    RecordAddress a{text.substr(0, slash), text.substr(slash + 1)};
    if (!is_segment(a.ns) || a.ns.size() > kMaxKeyringName) {
        return Error(Errc::usage, "invalid namespace \"" + a.ns + "\"" + rule);
    }
    std::string_view rest = a.name;
    do {
        auto next = rest.find('/');
        if (!is_segment(rest.substr(0, next))) {
            return Error(Errc::usage, "invalid record name \"" + a.name + "\"" + rule);
        }
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        if (next != std::string_view::npos && rest.empty()) {
            return Error(Errc::usage, "invalid record name \"" + a.name + "\"" + rule);
        }
    } while (!rest.empty());
    return a;
}

bool is_record_kind(std::string_view kind) noexcept {
    for (auto k : kKinds) {
        if (k == kind) return true;
    }
    return false;
}

std::string record_context(const RecordAddress& address, std::uint32_t version) {
    return "record:" + address.text() + "#" + std::to_string(version);
}

Result<std::string> Records::keyring_for(const std::string& ns) {
    // A namespace's default keyring, of the same name, is made on first use; it must exist
    // before the namespace row that refers to it.
    KW_TRY(auto ring, store_.find_keyring(ns));
    if (!ring) {
        auto made = keyrings_.create(ns, Suite::kwp);
        // Another process may have made it meanwhile: that is the same outcome.
        if (!made.ok() && made.error().code() != Errc::already_exists) return made.error();
    }
    return store_.namespace_keyring(ns, ns);
}

Result<std::uint32_t> Records::put(const RecordAddress& address, const std::string& kind,
                                   ByteView value, const std::optional<std::string>& expires_at,
                                   const std::string& actor) {
    if (!is_record_kind(kind)) {
        std::string all;
        for (auto k : kKinds) all += (all.empty() ? "" : ", ") + std::string(k);
        return Error(Errc::usage, "unknown kind \"" + kind + "\"; kinds are " + all);
    }
    if (value.size() > kMaxPlaintext) {
        return Error(Errc::input_too_large, "value is " + std::to_string(value.size()) +
                                                " bytes; records hold at most 64 MiB");
    }
    KW_TRY(auto keyring, keyring_for(address.ns));
    for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
        KW_TRY(auto existing, store_.find_record(address.ns, address.name));
        RecordPut put{address.ns, address.name, kind, keyring, actor, expires_at, 1, {}, 0};
        if (existing) put.version = existing->latest + 1;
        const std::string context = record_context(address, put.version);
        KW_TRY(put.envelope, envelopes_.seal(keyring, value, as_bytes(context)));
        KW_TRY(auto parsed, crypto::parse_envelope(put.envelope));
        put.kek_version = parsed.header.kek_version;
        auto stored = store_.put_record(put);
        if (stored.ok()) return put.version;
        if (stored.error().code() != Errc::conflict) return stored.error();
    }
    return Error(Errc::conflict, "record " + address.text() +
                                     " is being written by other writers too fast to take a "
                                     "version; retry");
}

Result<RecordVersionRow> Records::version(const RecordAddress& address,
                                          std::optional<std::uint32_t> version) {
    KW_TRY(auto row, store_.record_version(address.ns, address.name, version));
    if (row) return std::move(*row);
    KW_TRY(auto record, store_.find_record(address.ns, address.name));
    if (!record) {
        return Error(Errc::not_found,
                     "no record " + address.text() + " (see keyward list " + address.ns + ")");
    }
    return Error(Errc::not_found, "record " + address.text() + " has no version " +
                                      std::to_string(version.value_or(0)) + " (versions 1-" +
                                      std::to_string(record->latest) + " exist)");
}

Result<SecretBytes> Records::get(const RecordAddress& address,
                                 std::optional<std::uint32_t> version) {
    KW_TRY(auto row, this->version(address, version));
    return envelopes_.open(row.envelope, as_bytes(record_context(address, row.version)));
}

Result<std::vector<RecordRow>> Records::list(const std::string& ns, const std::string& kind) {
    if (!kind.empty() && !is_record_kind(kind)) {
        return Error(Errc::usage, "unknown kind \"" + kind + "\"");
    }
    return store_.list_records(ns, kind);
}

}  // namespace keyward::core
