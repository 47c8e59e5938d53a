// What every subcommand sees (its words, --json, --config) and the table that lists them.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/json.hpp"
#include "keyward/keyward.hpp"

namespace keyward::cli {

struct Invocation {
    std::string command;               // "keyring create"
    std::vector<std::string> words;    // arguments after the command
    bool json = false;
    std::optional<std::string> config_path;

    /// Loads the configuration (--config, $KEYWARD_CONFIG, ./keyward.conf, /etc/keyward) and
    /// opens keyward with it.
    Result<std::unique_ptr<Keyward>> open_keyward() const;

    /// Prints one JSON document, or human text, to stdout.
    void print_json(const Json& doc) const;
    void print_text(const std::string& text) const;
};

struct Command {
    const char* name;      // "keyring create"
    const char* summary;   // one line for `keyward --help`
    const char* help;      // full text for `keyward <name> --help`
    Status (*run)(const Invocation&);
};

std::span<const Command* const> commands();

// One per file under src/cli/cmd_*.cpp.
extern const Command kInitCommand;
extern const Command kKeyringCreateCommand;
extern const Command kKeyringListCommand;
extern const Command kKeyringShowCommand;
extern const Command kSealCommand;
extern const Command kOpenCommand;
extern const Command kRewrapCommand;
extern const Command kDatakeyCommand;

}  // namespace keyward::cli
