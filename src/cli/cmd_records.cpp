// SPDX-License-Identifier: Apache-2.0
// put, get and list: wallets and credentials stored as versioned envelopes.
#include <sstream>

#include "command.hpp"
#include "envelope_io.hpp"
#include "io.hpp"
#include "keyward/base64.hpp"
#include "record_output.hpp"

namespace keyward::cli {

namespace {

Result<PutOptions> put_options(const Args& args) {
    PutOptions options;
    auto kind = args.get("--kind");
    if (!kind) return Error(Errc::usage, "put needs --kind KIND (see keyward put --help)");
    options.kind = *kind;
    options.expires_at = args.get("--expires").value_or("");
    options.description = args.get("--description");
    KW_TRY(options.tags, tags_from(args));
    // Checked before the token is touched; applied to the record's current policy below.
    KW_TRY(auto unused, policy_from(args, default_rotation_policy(options.kind)));
    (void)unused;
    return options;
}

// Policy options change the record's current policy, or the kind's default for a new record.
Status apply_policy(Keyward& kw, const std::string& address, const Args& args,
                    PutOptions& options) {
    // Without policy options the library keeps the record's policy (or gives the kind's
    // default): no lookup, so no metadata read in the audit log for every put.
    bool any = false;
    for (const auto& p : policy_options()) any = any || args.has(p.name);
    if (!any) return {};
    RotationPolicy base = default_rotation_policy(options.kind);
    auto current = kw.record(address);
    if (current.ok() && current->state != RecordState::purged) base = current->policy;
    KW_TRY(options.policy, policy_from(args, base));
    return {};
}

Status run_put(const Invocation& inv, const Args& args) {
    KW_TRY(auto options, put_options(args));
    const std::string& address = args.positional()[0];
    if (args.has("--generate") && args.has("--in")) {
        return Error(Errc::usage, "give --generate N or --in F, not both");
    }
    KW_TRY(auto bytes, args.number("--generate", 32, 16, 4096));
    SecretBytes value;
    if (!args.has("--generate")) {
        KW_TRY(value, read_input(args.get("--in"), kMaxPlaintext));
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY_STATUS(apply_policy(*kw, address, args, options));
    std::uint32_t version = 0;
    if (args.has("--generate")) {
        KW_TRY(version, kw->generate_record(address, options, bytes));
    } else {
        KW_TRY(version, kw->put_record(address, options, value));
    }
    if (inv.json) {
        // The expiry as stored: a client certificate's comes from its notAfter.
        KW_TRY(auto info, kw->record(address));
        Json j;
        j.begin_object()
            .field("record", address)
            .field("kind", options.kind)
            .field("version", version);
        if (!info.expires_at.empty()) j.field("expires_at", info.expires_at);
        j.end_object();
        inv.print_json(j);
    } else {
        inv.print_text("stored " + address + " version " + std::to_string(version) + "\n");
    }
    return {};
}

Status run_get(const Invocation& inv, const Args& args) {
    KW_TRY(auto version, args.number("--version", 0, 1, 0xffffffffu));
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    const auto n = static_cast<std::uint32_t>(version);
    if (args.has("--envelope")) {
        KW_TRY(auto row, kw->record_version(address, n));
        if (row.envelope.empty()) {
            // The library leaves the ciphertext out for principals who may not read the value.
            return Error(Errc::access_denied, "access denied: " + kw->principal() +
                                                  " needs role reader on the namespace of " +
                                                  address + " for its envelope");
        }
        const std::string text = text_form(row.envelope);
        if (inv.json) {
            Json j;
            j.begin_object()
                .field("record", address)
                .field("version", row.version)
                .field("envelope", std::string_view(text).substr(0, text.size() - 1))
                .end_object();
            inv.print_json(j);
            return {};
        }
        return write_output(args.get("--out"), as_bytes(text));
    }
    KW_TRY(auto value, kw->get_record(address, n));
    const auto out = args.get("--out");
    if (!inv.json || out) KW_TRY_STATUS(write_output(out, value));
    if (inv.json) {
        // As `open --json`: the value is this document's content, and its base64 lives only in
        // wiped memory.
        Json j;
        j.begin_object().field("record", address);
        if (out) {
            j.field("out", *out);
        } else {
            const SecretString b64 = base64_encode_secret(value);
            j.field("value_b64", std::string_view(b64.data(), b64.size()));
        }
        j.field("bytes", static_cast<std::uint64_t>(value.size())).end_object();
        inv.print_json(j);
    }
    return {};
}

// --state NAME; "" matches every state, as no --state does.
Result<std::optional<RecordState>> state_option(const std::string& name) {
    if (name.empty()) return std::optional<RecordState>{};
    if (auto state = parse_record_state(name)) return std::optional<RecordState>{*state};
    return Error(Errc::usage, "unknown state \"" + name +
                                  "\"; states are active, expired, revoked, deleted, purged");
}

Status run_list(const Invocation& inv, const Args& args) {
    RecordFilter filter;
    filter.ns = args.positional().empty() ? std::string() : args.positional()[0];
    filter.kind = args.get("--kind").value_or("");
    const std::string state = args.get("--state").value_or("");
    if (args.has("--expiring")) {
        KW_TRY(auto days, args.number("--expiring", 0, 0, 36500));
        filter.expiring_days = static_cast<std::uint32_t>(days);
    }
    KW_TRY(filter.tags, tags_from(args));
    KW_TRY(auto kw, inv.open_keyward());
    // After the login, where the library checked the name when the filter held text: a bad
    // --state still comes after a token error.
    KW_TRY(filter.state, state_option(state));
    KW_TRY(auto rows, kw->records(filter));
    if (inv.json) {
        Json j;
        j.begin_object().key("records").begin_array();
        for (const auto& r : rows) record_json(j, r);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::string out;
    for (const auto& r : rows) out += record_line(r);
    if (rows.empty()) out = "no records\n";
    inv.print_text(out);
    return {};
}

std::vector<OptionSpec> put_option_specs() {
    std::vector<OptionSpec> specs = {{"--kind", true},      {"--in", true},
                                     {"--expires", true},   {"--description", true},
                                     {"--tag", true, true}, {"--generate", true}};
    for (auto& p : policy_options()) specs.push_back(p);
    return specs;
}

}  // namespace

const Command kPutCommand = {
    "put",
    "store a new version of a wallet or credential",
    "usage: keyward put NS/NAME --kind KIND [--in F | --generate N] [--expires DATE]\n"
    "                   [--description TEXT] [--tag K=V]... [--rotate-after DAYS|none]\n"
    "                   [--warn-before DAYS] [--auto-rotate | --no-auto-rotate]\n\n"
    "Stores the value (stdin or F, at most 64 MiB) as the next version of record NS/NAME,\n"
    "sealed under the namespace's keyring (the keyring of the same name, made on first use,\n"
    "unless `keyward namespace map` chose another) with the context record:NS/NAME#V.\n"
    "Kinds: wallet, api_key, oauth_access_token, oauth_refresh_token, basic_auth_username,\n"
    "basic_auth_password, client_certificate, client_private_key, webhook_secret,\n"
    "jwt_signing_key, custom_secret.\n"
    "--generate N   N random bytes (16-4096) from the token's RNG instead of a value, for\n"
    "               api_key, basic_auth_password, webhook_secret, jwt_signing_key and\n"
    "               custom_secret.\n"
    "--expires      ISO 8601 date (its start in UTC) or date-time with offset. A\n"
    "               client_certificate without it expires at its certificate's notAfter.\n"
    "--tag K=V      set tag K (repeatable); other tags of the record stay.\n"
    "Rotation policy: a new record gets its kind's default (docs/RECORDS.md); the options\n"
    "change it: --rotate-after DAYS (or none), --warn-before DAYS, --auto-rotate (keyward\n"
    "replaces it with a generated value in `rotate-secret --due`).\n",
    put_option_specs(),
    1,
    1,
    run_put};

const Command kGetCommand = {
    "get",
    "the value of a record (latest version unless --version)",
    "usage: keyward get NS/NAME [--version N] [--out F]\n"
    "       keyward get NS/NAME --envelope [--version N]\n\n"
    "Writes the plaintext of the record's latest version (or version N) to stdout or F\n"
    "(a regular file is replaced whole, mode 0600; a FIFO or device is written in place).\n"
    "--envelope prints the stored envelope in kwe1: text form without opening it; it opens\n"
    "with keyward open --context 'record:NS/NAME#V'. Revoked records keep their values\n"
    "withheld; deleted ones are found again with keyward recover.\n"
    "--json prints {\"record\", \"value_b64\", \"bytes\"} (with --out: {\"record\", \"out\",\n"
    "\"bytes\"}), or with --envelope {\"record\", \"version\", \"envelope\"}.\n",
    {{"--version", true}, {"--out", true}, {"--envelope", false}},
    1,
    1,
    run_get};

const Command kListCommand = {
    "list",
    "records with their metadata, never their values",
    "usage: keyward list [NS] [--kind KIND] [--state STATE] [--expiring DAYS] [--tag K=V]...\n\n"
    "Lists records (of one namespace, kind, state; expiring within DAYS and not yet expired;\n"
    "carrying every given tag) with kind, state, latest version, expiry and rotation date.\n"
    "States: active, expired, revoked, deleted, purged; deleted and purged records are listed\n"
    "only when --state names them. Values are never shown.\n",
    {{"--kind", true}, {"--state", true}, {"--expiring", true}, {"--tag", true, true}},
    0,
    1,
    run_list};

}  // namespace keyward::cli
