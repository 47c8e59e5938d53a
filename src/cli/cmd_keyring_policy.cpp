// SPDX-License-Identifier: Apache-2.0
// keyring config | trim | delete: a keyring's policy (the version window Vault's Transit
// engine has, deletion, auto-rotation), trimming old versions, deleting the keyring.
#include <sstream>

#include "command.hpp"
#include "keyring_policy_output.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

void keyring_policy_json(Json& j, const KeyringPolicy& p) {
    j.key("policy")
        .begin_object()
        .field("min_decryption_version", p.min_decryption_version)
        .field("min_encryption_version", p.min_encryption_version)
        .field("min_available_version", p.min_available_version)
        .field("deletion_allowed", p.deletion_allowed)
        .field("auto_rotate_period_seconds", p.auto_rotate_period_seconds)
        .field_or_null("updated_at", p.updated_at)
        .end_object();
}

std::string keyring_policy_text(const KeyringPolicy& p) {
    std::ostringstream out;
    out << "  policy       min_decryption_version " << p.min_decryption_version
        << ", min_encryption_version " << p.min_encryption_version;
    if (p.min_available_version != 0) {
        out << ", min_available_version " << p.min_available_version;
    }
    out << "\n               deletion " << (p.deletion_allowed ? "allowed" : "not allowed")
        << ", auto-rotate "
        << (p.auto_rotate_period_seconds == 0
                ? std::string("off")
                : "every " + std::to_string(p.auto_rotate_period_seconds) + " s")
        << "\n";
    return out.str();
}

namespace {

Result<bool> yes_no(const std::string& text, const char* option) {
    if (text == "yes") return true;
    if (text == "no") return false;
    return Error(Errc::usage,
                 std::string(option) + " takes yes or no, not \"" + escape_controls(text) + "\"");
}

Status print_ring(const Invocation& inv, const KeyringInfo& ring, const std::string& what) {
    if (inv.json) {
        Json j;
        j.begin_object().field("name", ring.name);
        keyring_policy_json(j, ring.policy);
        j.end_object();
        inv.print_json(j);
    } else {
        inv.print_text(what + " keyring " + escape_controls(ring.name) + "\n" +
                       keyring_policy_text(ring.policy));
    }
    return {};
}

Status run_config(const Invocation& inv, const Args& args) {
    KeyringPolicyUpdate u;
    constexpr std::uint64_t kMaxVersion = 0xffffffffu;
    if (args.has("--min-decryption-version")) {
        KW_TRY(auto v, args.number("--min-decryption-version", 0, 1, kMaxVersion));
        u.min_decryption_version = static_cast<std::uint32_t>(v);
    }
    if (args.has("--min-encryption-version")) {
        KW_TRY(auto v, args.number("--min-encryption-version", 0, 0, kMaxVersion));
        u.min_encryption_version = static_cast<std::uint32_t>(v);
    }
    if (auto v = args.get("--deletion-allowed")) {
        KW_TRY(u.deletion_allowed, yes_no(*v, "--deletion-allowed"));
    }
    if (auto v = args.get("--auto-rotate-period")) {
        if (*v == "0" || *v == "off") {
            u.auto_rotate_period_seconds = 0;
        } else {
            KW_TRY(auto s, parse_duration(*v, "--auto-rotate-period"));
            u.auto_rotate_period_seconds = static_cast<std::uint64_t>(s);
        }
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto ring, kw->configure_keyring(args.positional()[0], u));
    return print_ring(inv, ring, "policy of");
}

Status run_trim(const Invocation& inv, const Args& args) {
    if (!args.has("--min-available-version")) {
        return Error(Errc::usage,
                     "keyring trim needs --min-available-version N (see keyward keyring trim "
                     "--help)");
    }
    KW_TRY(auto m, args.number("--min-available-version", 0, 1, 0xffffffffu));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto ring, kw->trim_keyring(args.positional()[0], static_cast<std::uint32_t>(m)));
    return print_ring(inv, ring, "trimmed");
}

Status run_delete(const Invocation& inv, const Args& args) {
    const std::string name = args.positional()[0];
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY_STATUS(kw->delete_keyring(name));
    if (inv.json) {
        Json j;
        j.begin_object().field("deleted", name).end_object();
        inv.print_json(j);
    } else {
        inv.print_text("deleted keyring " + escape_controls(name) +
                       ": its KEKs are destroyed in the token\n");
    }
    return {};
}

}  // namespace

const Command kKeyringConfigCommand = {
    "keyring config",
    "a keyring's policy: version window, deletion, auto-rotation",
    "usage: keyward keyring config NAME [--min-decryption-version N]\n"
    "           [--min-encryption-version N] [--deletion-allowed yes|no]\n"
    "           [--auto-rotate-period DURATION|off] [--json]\n\n"
    "Sets the keyring's policy, kept in the token (a database writer cannot change it):\n"
    "  --min-decryption-version N  envelopes and data keys under older KEK versions are\n"
    "                  refused by open, rewrap and datakey decryption (exit 5)\n"
    "  --min-encryption-version N  wrapping under an older version is refused (0: any)\n"
    "  --deletion-allowed yes|no   whether keyring delete may delete it\n"
    "  --auto-rotate-period D      keywardd rotates it when its active version is this old\n"
    "                  (at least 1h; off or 0 disables)\n"
    "Vault Transit's rules apply: neither minimum above the latest version, min encryption\n"
    "not below min decryption unless 0. Rotation, rollback and validate ignore the policy.\n"
    "With no option, prints the policy.\n",
    {{"--min-decryption-version", true},
     {"--min-encryption-version", true},
     {"--deletion-allowed", true},
     {"--auto-rotate-period", true}},
    1,
    1,
    run_config};

const Command kKeyringTrimCommand = {
    "keyring trim",
    "destroy the KEK versions below a minimum",
    "usage: keyward keyring trim NAME --min-available-version N [--json]\n\n"
    "Destroys every KEK version below N in the token, as keyring retire does, under Vault\n"
    "Transit's rules: N may not exceed the policy's min encryption or min decryption version\n"
    "(set them first with keyward keyring config) and never goes down. Refused, with the\n"
    "count, while stored records still use one of those versions; nothing is destroyed then.\n"
    "With two_person_rule = on, propose retiring each version instead.\n",
    {{"--min-available-version", true}},
    1,
    1,
    run_trim};

const Command kKeyringDeleteCommand = {
    "keyring delete",
    "delete a keyring whose policy allows it",
    "usage: keyward keyring delete NAME [--json]\n\n"
    "Deletes the keyring: only when keyward keyring config NAME --deletion-allowed yes was\n"
    "set, and no namespace, stored record or unfinished rotation uses it. Its KEK versions\n"
    "are recorded destroyed in the token, its rows removed, then its KEKs destroyed: every\n"
    "envelope and data key made under it becomes unreadable for good.\n"
    "With two_person_rule = on: keyward propose delete-keyring NAME, then another admin\n"
    "approves.\n",
    {},
    1,
    1,
    run_delete};

}  // namespace keyward::cli
