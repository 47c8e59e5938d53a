// SPDX-License-Identifier: Apache-2.0
// keyring create | list | show: keyrings, their KEK versions and policies.
#include <sstream>

#include "command.hpp"
#include "keyring_policy_output.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

void keyring_json(Json& j, const KeyringInfo& ring) {
    j.begin_object()
        .field("name", ring.name)
        .field("suite", static_cast<int>(ring.suite))
        .field("created_at", ring.created_at)
        .field("cryptoperiod_days", ring.cryptoperiod_days)
        .field("rotation_due", ring.rotation_due);
    j.field_or_null("rotation_due_at", ring.rotation_due_at);
    keyring_policy_json(j, ring.policy);
    j.key("versions").begin_array();
    for (const auto& v : ring.versions) {
        j.begin_object()
            .field("version", v.version)
            .field("state", kek_state_name(v.state))
            .field("records", v.records)
            .field("created_at", v.created_at)
            .field("label", v.label)
            .field("object_id", v.object_id_hex);
        if (ring.suite == Suite::gcm) j.field("gcm_wraps", v.gcm_wraps);
        j.end_object();
    }
    j.end_array().end_object();
}

std::string active_of(const KeyringInfo& ring) {
    for (const auto& v : ring.versions) {
        if (v.state == KekState::active) return "v" + std::to_string(v.version);
    }
    return "none";
}

Status run_create(const Invocation& inv, const Args& args) {
    KW_TRY(auto suite_number, args.number("--suite", 1, 1, 2));
    KW_TRY(auto cryptoperiod, args.number("--cryptoperiod", 365, 1, 36500));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto ring, kw->create_keyring(args.positional()[0], static_cast<Suite>(suite_number),
                                         static_cast<std::uint32_t>(cryptoperiod)));
    if (inv.json) {
        Json j;
        keyring_json(j, ring);
        inv.print_json(j);
    } else {
        const auto& v1 = ring.versions.front();
        std::string how = ring.suite == Suite::kwp
                              ? "suite 1, RFC 5649 key wrap by " + kw->token().suite1_mechanism
                              : std::string("suite 2, AES-256-GCM in the token");
        inv.print_text("created keyring " + escape_controls(ring.name) + ": KEK " +
                       escape_controls(v1.label) + " in token \"" +
                       escape_controls(kw->token().label) + "\" (" + how + ")\n");
    }
    return {};
}

Status run_list(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto rings, kw->keyrings());
    if (inv.json) {
        Json j;
        j.begin_object().key("keyrings").begin_array();
        for (const auto& r : rings) keyring_json(j, r);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    if (rings.empty()) {
        inv.print_text("no keyrings yet (create one with keyward keyring create NAME)\n");
        return {};
    }
    std::ostringstream out;
    out << "NAME                             SUITE  ACTIVE  VERSIONS  RECORDS  ROTATE BY\n";
    for (const auto& r : rings) {
        std::uint64_t records = 0;
        for (const auto& v : r.versions) records += v.records;
        std::string name = escape_controls(r.name);
        if (name.size() <= 32) name += std::string(33 - name.size(), ' ');
        char line[160];
        const std::string due = r.rotation_due_at.empty() ? std::string("-")
                                                          : escape_controls(r.rotation_due_at) +
                                                                (r.rotation_due ? "  DUE" : "");
        std::snprintf(line, sizeof line, "%-6d %-7s %-9zu %-8llu %s\n", static_cast<int>(r.suite),
                      active_of(r).c_str(), r.versions.size(),
                      static_cast<unsigned long long>(records), due.c_str());
        out << name << line;
    }
    inv.print_text(out.str());
    return {};
}

Status run_show(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto ring, kw->keyring(args.positional()[0]));
    if (inv.json) {
        Json j;
        keyring_json(j, ring);
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    out << "keyring " << escape_controls(ring.name) << "\n"
        << "  suite        " << static_cast<int>(ring.suite)
        << (ring.suite == Suite::kwp ? " (RFC 5649 key wrap)" : " (AES-256-GCM)") << "\n"
        << "  created      " << escape_controls(ring.created_at) << "\n"
        << "  cryptoperiod " << ring.cryptoperiod_days << " days\n"
        << keyring_policy_text(ring.policy) << "  VERSION  STATE         RECORDS  CREATED               LABEL\n";
    for (const auto& v : ring.versions) {
        char line[200];
        std::snprintf(line, sizeof line, "  v%-7u %-13s %-8llu %-21s %s\n", v.version,
                      std::string(kek_state_name(v.state)).c_str(),
                      static_cast<unsigned long long>(v.records),
                      escape_controls(v.created_at).c_str(), escape_controls(v.label).c_str());
        out << line;
    }
    inv.print_text(out.str());
    return {};
}

}  // namespace

const Command kKeyringCreateCommand = {
    "keyring create",
    "make a keyring: KEK version 1 generated in the token",
    "usage: keyward keyring create NAME [--suite 1|2] [--cryptoperiod DAYS]\n\n"
    "Generates KEK version 1 of keyring NAME inside the token (AES-256, sensitive,\n"
    "non-extractable, labelled keyward:NAME:v1) and records it in the database.\n\n"
    "  --suite 1   RFC 5649 key wrap by the token (default)\n"
    "  --suite 2   AES-256-GCM by the token, for tokens without key wrap\n"
    "  --cryptoperiod DAYS  how long a version stays active before keyring list and health\n"
    "              call for a rotation (default 365)\n\n"
    "NAME: 1-64 characters, [a-z0-9] first, then [a-z0-9._-].\n"
    "If a crash left a KEK with that label that the database does not know, it is adopted\n"
    "when its attributes are exactly keyward's; any other object with the label is refused.\n",
    {{"--suite", true}, {"--cryptoperiod", true}},
    1,
    1,
    run_create};

const Command kKeyringListCommand = {
    "keyring list",
    "keyrings with their active version and record counts",
    "usage: keyward keyring list [--json]\n\nLists every keyring: suite, active version,\n"
    "number of versions, records protected, creation time.\n",
    {},
    0,
    0,
    run_list};

const Command kKeyringShowCommand = {
    "keyring show",
    "one keyring's versions, states and record counts",
    "usage: keyward keyring show NAME [--json]\n\n"
    "Shows the keyring's suite and, per KEK version, its state (pre-active, active,\n"
    "decrypt-only, compromised, destroyed), the records it still protects, when it was\n"
    "made and its token label, and the keyring's policy (keyward keyring config).\n"
    "--json gives {\"name\", \"suite\", \"policy\": {...}, \"versions\": [{\"version\",\n"
    "\"state\", \"records\", \"created_at\", \"label\", \"object_id\"}]}.\n",
    {},
    1,
    1,
    run_show};

}  // namespace keyward::cli
