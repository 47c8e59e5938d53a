// SPDX-License-Identifier: Apache-2.0
// Command-line parsing for one subcommand: declared options (with or without a value,
// repeatable or not) and positional arguments. Anything else is a usage error (exit 2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keyward/error.hpp"

namespace keyward::cli {

struct OptionSpec {
    std::string name;  // "--keyring"
    bool takes_value = false;
    bool repeatable = false;
};

class Args {
  public:
    /// Parses argv words after the command name. `--opt=value` and `--opt value` both work.
    static Result<Args> parse(const std::vector<std::string>& words,
                              const std::vector<OptionSpec>& specs, std::size_t min_positional,
                              std::size_t max_positional, const std::string& command);

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }

    /// A whole number option in [min, max], or fallback when absent.
    Result<std::uint64_t> number(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                                 std::uint64_t max) const;

  private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

/// "90", "90s", "15m", "24h", "30d" as seconds (positive); Errc::usage otherwise.
Result<std::int64_t> parse_duration(const std::string& text, const char* option);

}  // namespace keyward::cli
