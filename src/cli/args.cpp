// SPDX-License-Identifier: Apache-2.0
// Subcommand argument parsing (see args.hpp).
#include "args.hpp"

#include <cctype>

#include "keyward/types.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

Error usage(const std::string& command, const std::string& what) {
    return Error(Errc::usage, what + " (see keyward " + command + " --help)");
}

}  // namespace

Result<Args> Args::parse(const std::vector<std::string>& words,
                         const std::vector<OptionSpec>& specs, std::size_t min_positional,
                         std::size_t max_positional, const std::string& command) {
    Args args;
    bool options_done = false;
    std::size_t positional_before_end = 0;  // how many came before "--"
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (options_done || w.size() < 2 || w.rfind("--", 0) != 0) {
            if (!options_done && w.size() > 1 && w[0] == '-') {
                return usage(command, "unknown option " + w);
            }
            args.positional_.push_back(w);
            continue;
        }
        if (w == "--") {
            // POSIX: "--" ends the options; every later word is an argument, even one that
            // starts with '-' (a record name, a file, a context).
            options_done = true;
            positional_before_end = args.positional_.size();
            continue;
        }
        std::string name = w;
        std::optional<std::string> inline_value;
        if (auto eq = w.find('='); eq != std::string::npos) {
            name = w.substr(0, eq);
            inline_value = w.substr(eq + 1);
        }
        const OptionSpec* spec = nullptr;
        for (const auto& s : specs) {
            if (s.name == name) spec = &s;
        }
        if (!spec) return usage(command, "unknown option " + name);
        if (!spec->repeatable && args.has(name)) {
            return usage(command, "option " + name + " given twice");
        }
        std::string value;
        if (spec->takes_value) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < words.size()) {
                value = words[++i];
            } else {
                return usage(command, "option " + name + " needs a value");
            }
        } else if (inline_value) {
            return usage(command, "option " + name + " takes no value");
        }
        args.values_[name].push_back(std::move(value));
    }
    if (args.positional_.size() < min_positional) {
        return usage(command, "missing argument");
    }
    if (args.positional_.size() > max_positional) {
        const std::string& extra = args.positional_[max_positional];
        std::string what = "unexpected argument \"" + extra + "\"";
        // `put -- NS/NAME --kind K`: the real fault is the option's place, not the option.
        if (options_done && max_positional >= positional_before_end && extra.size() > 1 &&
            extra[0] == '-') {
            what += ": it comes after \"--\", which ends the options; put options before \"--\"";
        }
        return usage(command, what);
    }
    return args;
}

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::uint64_t> Args::number(const std::string& name, std::uint64_t fallback,
                                   std::uint64_t min, std::uint64_t max) const {
    auto v = get(name);
    if (!v) return fallback;
    std::uint64_t n = 0;
    bool ok = !v->empty() && v->size() <= 19;
    for (char c : *v) {
        if (c < '0' || c > '9') ok = false;
    }
    if (ok) n = std::stoull(*v);
    if (!ok || n < min || n > max) {
        return Error(Errc::usage, name + " must be a whole number from " + std::to_string(min) +
                                      " to " + std::to_string(max) + ", not \"" + *v + "\"");
    }
    return n;
}

Result<std::int64_t> parse_duration(const std::string& text, const char* option) {
    const auto seconds = parse_duration_seconds(text);
    if (!seconds) {
        return Error(Errc::usage, std::string(option) + " takes a duration such as 3600, 90s, " +
                                      "15m, 24h or 30d, not \"" + escape_controls(text) + "\"");
    }
    if (*seconds == 0) return Error(Errc::usage, std::string(option) + " must be positive");
    return static_cast<std::int64_t>(*seconds);
}

}  // namespace keyward::cli
