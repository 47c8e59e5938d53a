// SPDX-License-Identifier: Apache-2.0
// namespace map | list: which keyring seals a namespace's records.
#include <sstream>

#include "command.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

Status run_map(const Invocation& inv, const Args& args) {
    auto keyring = args.get("--keyring");
    if (!keyring) return Error(Errc::usage, "namespace map needs --keyring NAME");
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& ns = args.positional()[0];
    KW_TRY_STATUS(kw->map_namespace(ns, *keyring));
    if (inv.json) {
        Json j;
        j.begin_object().field("namespace", ns).field("keyring", *keyring).end_object();
        inv.print_json(j);
    } else {
        inv.print_text("namespace " + ns + " now seals its records under keyring " + *keyring +
                       "\n");
    }
    return {};
}

Status run_list(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto rows, kw->namespaces());
    if (inv.json) {
        Json j;
        j.begin_object().key("namespaces").begin_array();
        for (const auto& r : rows) {
            j.begin_object()
                .field("name", r.name)
                .field("keyring", r.keyring)
                .field("created_at", r.created_at)
                .end_object();
        }
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    for (const auto& r : rows) {
        out << escape_controls(r.name) << " -> keyring " << escape_controls(r.keyring) << "\n";
    }
    if (rows.empty()) out << "no namespaces yet\n";
    inv.print_text(out.str());
    return {};
}

}  // namespace

const Command kNamespaceMapCommand = {
    "namespace map",
    "choose the keyring of a namespace before its first record",
    "usage: keyward namespace map NS --keyring NAME\n\n"
    "By default a namespace's records are sealed under the keyring of the same name, made\n"
    "on first use. Mapping it first seals them under an existing keyring instead, e.g. one\n"
    "keyring per environment for many tenant namespaces. A namespace keeps its keyring.\n",
    {{"--keyring", true}},
    1,
    1,
    run_map};

const Command kNamespaceListCommand = {"namespace list",
                                       "namespaces and their keyrings",
                                       "usage: keyward namespace list [--json]\n",
                                       {},
                                       0,
                                       0,
                                       run_list};

}  // namespace keyward::cli
