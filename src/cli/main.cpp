// SPDX-License-Identifier: Apache-2.0
// keyward command-line entry: global options, dispatch to a subcommand, one-line errors and
// the exit codes of docs/CLI.md.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "keyward/version.hpp"
#include "terminal_text.hpp"

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
    out << "usage: keyward [--config FILE] [--principal NAME] [--json] COMMAND [ARGS]\n\n"
        << "HSM-backed envelope encryption and key management.\n\ncommands:\n";
    for (const Command* c : keyward::cli::commands()) {
        std::string name = c->name;
        out << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ')
            << c->summary << "\n";
    }
    out << "\nglobal options:\n"
        << "  --config FILE     configuration (else $KEYWARD_CONFIG, ./keyward.conf,\n"
        << "                    /etc/keyward/keyward.conf)\n"
        << "  --principal NAME  act as NAME to try its grants (audited as \"OWNER as NAME\")\n"
        << "  --json            print one JSON document on stdout instead of text\n"
        << "  --help, --version\n\n"
        << "exit codes: 0 ok, 1 failure, 2 usage, 3 authentication failed or malformed input,\n"
        << "            4 not found, 5 access denied, 6 HSM unavailable\n"
        << "Run keyward COMMAND --help for a command's options.\n";
}

int fail(const Invocation& inv, const keyward::Error& e) {
    std::string message = e.message();
    // The error itself never says which check failed (spec); the line still says what to do.
    if (e.code() == keyward::Errc::auth_failed && message == "authentication failed") {
        message +=
            " (the input was damaged or altered, or --context differs from the one it "
            "was sealed with)";
    }
    // One line whatever the message quotes: controls are escaped on stderr, and the JSON
    // document carries the exact message (its writer escapes per RFC 8259).
    keyward::cli::print_error_line(message);
    // A command that already printed its document (import's summary) keeps it the only one.
    if (inv.json && !inv.printed_document) {
        keyward::Json doc;
        doc.begin_object()
            .key("error")
            .begin_object()
            .field("code", keyward::errc_name(e.code()))
            .field("exit", e.exit_code())
            .field("message", message)
            .end_object()
            .end_object();
        inv.print_json(doc);
    }
    return e.exit_code();
}

// Splits "keyring create" into its words.
std::vector<std::string> words_of(const char* name) {
    std::vector<std::string> parts;
    for (const char* p = name; *p;) {
        const char* sp = std::strchr(p, ' ');
        parts.emplace_back(p, sp ? sp : p + std::strlen(p));
        p = sp ? sp + 1 : p + std::strlen(p);
    }
    return parts;
}

// The command whose name is the longest prefix of words ("keyring create" over "keyring").
const Command* find_command(const std::vector<std::string>& words, std::size_t& used) {
    const Command* found = nullptr;
    used = 0;
    for (const Command* c : keyward::cli::commands()) {
        auto parts = words_of(c->name);
        if (parts.size() > words.size() || parts.size() <= used) continue;
        if (std::equal(parts.begin(), parts.end(), words.begin())) {
            found = c;
            used = parts.size();
        }
    }
    return found;
}

int run(int argc, char** argv) {
    Invocation inv;
    // Global options come before the command; after it, the command's own parser decides
    // (it also knows --json and --help, and which options take a value).
    int i = 1;
    bool help = false;
    for (; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--json") {
            inv.json = true;
        } else if (w == "--help" || w == "-h") {
            help = true;
        } else if (w == "--version") {
            std::cout << "keyward " << keyward::version() << "\n";
            return 0;
        } else if (w == "--config") {
            if (i + 1 >= argc) return fail(inv, {keyward::Errc::usage, "--config needs a file"});
            inv.config_path = argv[++i];
        } else if (w.rfind("--config=", 0) == 0) {
            inv.config_path = w.substr(9);
        } else if (w == "--principal") {
            if (i + 1 >= argc) {
                return fail(inv, {keyward::Errc::usage, "--principal needs a name"});
            }
            inv.principal = argv[++i];
        } else if (w.rfind("--principal=", 0) == 0) {
            inv.principal = w.substr(12);
        } else if (w == "--") {
            ++i;  // ends the global options; the command comes next
            break;
        } else if (w.size() > 1 && w[0] == '-') {
            return fail(inv,
                        {keyward::Errc::usage, "unknown option " + w + " (see keyward --help)"});
        } else {
            break;
        }
    }
    std::vector<std::string> rest(argv + i, argv + argc);
    if (rest.empty() || rest[0] == "help") {
        print_usage(help || !rest.empty() ? std::cout : std::cerr);
        return help || !rest.empty() ? 0 : 2;
    }
    std::size_t used = 0;
    const Command* command = find_command(rest, used);
    if (!command) {
        if (help) {
            for (const Command* c : keyward::cli::commands()) {
                if (std::string(c->name).rfind(rest[0] + " ", 0) == 0) {
                    std::cout << "  keyward " << c->name << ": " << c->summary << "\n";
                }
            }
            return 0;
        }
        return fail(inv, {keyward::Errc::usage, "unknown command \"" + rest[0] +
                                                    (rest.size() > 1 ? " " + rest[1] : "") +
                                                    "\" (see keyward --help)"});
    }
    inv.command = command->name;
    std::vector<std::string> words(rest.begin() + static_cast<std::ptrdiff_t>(used), rest.end());
    auto specs = command->options;
    specs.push_back({"--json", false});
    specs.push_back({"--help", false});
    // --help wins over every other mistake on the line, so look for it as the parser would.
    auto lenient = keyward::cli::Args::parse(words, specs, 0, words.size(), inv.command);
    if (help || (lenient.ok() && lenient->has("--help"))) {
        std::cout << command->help;
        return 0;
    }
    auto args = keyward::cli::Args::parse(words, specs, command->min_positional,
                                          command->max_positional, inv.command);
    if (!args.ok()) return fail(inv, args.error());
    inv.json = inv.json || args->has("--json");
    auto status = command->run(inv, *args);
    if (!status.ok()) return fail(inv, status.error());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    forbid_core_dumps();
    // No exception may end the process without the one-line message and exit code of
    // docs/CLI.md (std::filesystem throws on, for example, over-long paths).
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        keyward::cli::print_error_line("out of memory");
    } catch (const std::exception& e) {
        keyward::cli::print_error_line(e.what());
    } catch (...) {
        keyward::cli::print_error_line("unexpected internal error");
    }
    return 1;
}
