// keyward command-line entry: global options, dispatch to a subcommand, one-line errors and
// the exit codes of spec/CLI.md.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "keyward_build_config.h"

namespace {

using keyward::cli::Command;
using keyward::cli::Invocation;

// Keys, PINs and plaintext pass through this process: never let them reach a core dump.
void forbid_core_dumps() {
    struct rlimit none {};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void print_usage(std::ostream& out) {
    out << "usage: keyward [--config FILE] [--json] COMMAND [ARGS]\n\n"
        << "HSM-backed envelope encryption and key management.\n\ncommands:\n";
    for (const Command* c : keyward::cli::commands()) {
        std::string name = c->name;
        out << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ')
            << c->summary << "\n";
    }
    out << "\nglobal options:\n"
        << "  --config FILE     configuration (else $KEYWARD_CONFIG, ./keyward.conf,\n"
        << "                    /etc/keyward/keyward.conf)\n"
        << "  --json            print one JSON document on stdout instead of text\n"
        << "  --help, --version\n\n"
        << "exit codes: 0 ok, 1 failure, 2 usage, 3 authentication failed or malformed input,\n"
        << "            4 not found, 5 access denied, 6 HSM unavailable\n"
        << "Run keyward COMMAND --help for a command's options.\n";
}

// The message must stay one line whatever produced it.
std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
}

int fail(const Invocation& inv, const keyward::Error& e) {
    std::cerr << "keyward: " << one_line(e.message()) << "\n";
    if (inv.json) {
        keyward::cli::Json doc;
        doc.begin_object()
            .key("error")
            .begin_object()
            .field("code", keyward::errc_name(e.code()))
            .field("exit", e.exit_code())
            .field("message", one_line(e.message()))
            .end_object()
            .end_object();
        inv.print_json(doc);
    }
    return e.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
    forbid_core_dumps();
    Invocation inv;
    std::vector<std::string> rest;
    bool help = false;
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--json") {
            inv.json = true;
        } else if (w == "--help" || w == "-h") {
            help = true;
        } else if (w == "--version") {
            std::cout << "keyward " << KEYWARD_VERSION << "\n";
            return 0;
        } else if (w == "--config" && rest.empty()) {
            if (i + 1 >= argc) return fail(inv, {keyward::Errc::usage, "--config needs a file"});
            inv.config_path = argv[++i];
        } else if (w.rfind("--config=", 0) == 0 && rest.empty()) {
            inv.config_path = w.substr(9);
        } else {
            rest.push_back(std::move(w));
        }
    }
    if (rest.empty() || rest[0] == "help") {
        print_usage(help || !rest.empty() ? std::cout : std::cerr);
        return help || !rest.empty() ? 0 : 2;
    }

    // Longest match first: "keyring create" before "keyring".
    const Command* found = nullptr;
    std::size_t used = 0;
    for (const Command* c : keyward::cli::commands()) {
        std::vector<std::string> parts;
        for (const char* p = c->name; *p;) {
            const char* sp = std::strchr(p, ' ');
            parts.emplace_back(p, sp ? sp : p + std::strlen(p));
            p = sp ? sp + 1 : p + std::strlen(p);
        }
        if (parts.size() > rest.size() || parts.size() <= used) continue;
        bool match = true;
        for (std::size_t k = 0; k < parts.size(); ++k) match = match && parts[k] == rest[k];
        if (match) {
            found = c;
            used = parts.size();
        }
    }
    if (!found) {
        std::string group = rest[0];
        for (const Command* c : keyward::cli::commands()) {
            if (std::string(c->name).rfind(group + " ", 0) == 0 && help) {
                std::cout << "  keyward " << c->name << ": " << c->summary << "\n";
            }
        }
        if (help) return 0;
        return fail(inv, {keyward::Errc::usage, "unknown command \"" + rest[0] +
                                                    (rest.size() > 1 ? " " + rest[1] : "") +
                                                    "\" (see keyward --help)"});
    }
    if (help) {
        std::cout << found->help;
        return 0;
    }
    inv.command = found->name;
    inv.words.assign(rest.begin() + static_cast<std::ptrdiff_t>(used), rest.end());
    auto status = found->run(inv);
    if (!status.ok()) return fail(inv, status.error());
    return 0;
}
