// put, get and list: wallets and credentials stored as versioned envelopes.
#include <sstream>

#include "cli/command.hpp"
#include "cli/envelope_io.hpp"
#include "cli/io.hpp"
#include "core/clock.hpp"

namespace keyward::cli {

namespace {

Status run_put(const Invocation& inv, const Args& args) {
    auto kind = args.get("--kind");
    if (!kind) return Error(Errc::usage, "put needs --kind KIND (see keyward put --help)");
    std::string expires;
    if (auto e = args.get("--expires")) {
        KW_TRY(expires, core::normalize_iso8601(*e));
    }
    KW_TRY(auto value, read_input(args.get("--in"), kMaxPlaintext));
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& address = args.positional()[0];
    KW_TRY(auto version, kw->put_record(address, *kind, value, expires));
    if (inv.json) {
        Json j;
        j.begin_object().field("record", address).field("kind", *kind).field("version", version);
        if (!expires.empty()) j.field("expires_at", expires);
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
    return write_output(args.get("--out"), value);
}

Status run_list(const Invocation& inv, const Args& args) {
    const std::string ns = args.positional().empty() ? std::string() : args.positional()[0];
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto rows, kw->records(ns, args.get("--kind").value_or("")));
    if (inv.json) {
        Json j;
        j.begin_object().key("records").begin_array();
        for (const auto& r : rows) {
            j.begin_object()
                .field("record", r.ns + "/" + r.name)
                .field("kind", r.kind)
                .field("state", r.state)
                .field("latest", r.latest)
                .field("created_at", r.created_at)
                .field("updated_at", r.updated_at)
                .end_object();
        }
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& r : rows) {
        out << r.ns << "/" << r.name << "  " << r.kind << "  " << r.state << "  v" << r.latest
            << "  " << r.updated_at << "\n";
    }
    if (rows.empty()) out << "no records\n";
    inv.print_text(out.str());
    return {};
}

}  // namespace

const Command kPutCommand = {
    "put",
    "store a new version of a wallet or credential",
    "usage: keyward put NS/NAME --kind KIND [--in F] [--expires DATE]\n\n"
    "Stores the value (stdin or F, at most 64 MiB) as the next version of record NS/NAME,\n"
    "sealed under the namespace's keyring (the keyring of the same name, made on first use)\n"
    "with the context record:NS/NAME#V. Kinds: wallet, api_key, oauth_access_token,\n"
    "oauth_refresh_token, basic_auth_username, basic_auth_password, client_certificate,\n"
    "client_private_key, webhook_secret, jwt_signing_key, custom_secret.\n"
    "--expires: ISO 8601 date (its start in UTC) or date-time with offset.\n",
    {{"--kind", true}, {"--in", true}, {"--expires", true}},
    1,
    1,
    run_put};

const Command kGetCommand = {
    "get",
    "the value of a record (latest version unless --version)",
    "usage: keyward get NS/NAME [--version N] [--out F]\n"
    "       keyward get NS/NAME --envelope [--version N]\n\n"
    "Writes the plaintext of the record's latest version (or version N) to stdout or F\n"
    "(mode 0600). --envelope prints the stored envelope in kwe1: text form without opening\n"
    "it; it opens with keyward open --context 'record:NS/NAME#V'.\n",
    {{"--version", true}, {"--out", true}, {"--envelope", false}},
    1,
    1,
    run_get};

const Command kListCommand = {
    "list",
    "records with their metadata, never their values",
    "usage: keyward list [NS] [--kind KIND] [--json]\n\n"
    "Lists records (of one namespace, one kind) with kind, state, latest version and\n"
    "update time. Values are never shown.\n",
    {{"--kind", true}},
    0,
    1,
    run_list};

}  // namespace keyward::cli
