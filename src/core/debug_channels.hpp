// SPDX-License-Identifier: Apache-2.0
// Which traces for HSM administrators are on: KEYWARD_DEBUG, and keyward.conf's `debug =`
// (docs/OPERATIONS.md, "Reporting an HSM problem"). Header-only, so that the adapters that
// trace (src/p11, src/store) and the config reader share one reading of the words.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/error.hpp"

namespace keyward::core {

/// The words of a list separated by commas and/or blanks ("p11,sql", "auto, -login-guard").
inline std::vector<std::string_view> list_words(std::string_view list) {
    constexpr std::string_view kSeparators = ", \t";
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while ((pos = list.find_first_not_of(kSeparators, pos)) != std::string_view::npos) {
        const std::size_t end = std::min(list.find_first_of(kSeparators, pos), list.size());
        words.push_back(list.substr(pos, end - pos));
        pos = end;
    }
    return words;
}

struct DebugChannels {
    bool p11 = false;  ///< every C_* call: its slot or session, CK_RV name and duration
    bool sql = false;  ///< every SQL statement's text (parameters unexpanded) and duration
};

/// "p11", "sql", "p11,sql". Errc::bad_config naming an unknown word.
inline Result<DebugChannels> parse_debug_channels(std::string_view list) {
    DebugChannels channels;
    for (auto word : list_words(list)) {
        if (word == "p11") {
            channels.p11 = true;
        } else if (word == "sql") {
            channels.sql = true;
        } else {
            return Error(Errc::bad_config,
                         "unknown debug channel \"" + std::string(word) + "\" (known: p11, sql)");
        }
    }
    return channels;
}

/// KEYWARD_DEBUG, read once per process. An unknown word is named once on stderr and ignored:
/// a misspelt trace must not stop a command.
inline DebugChannels debug_channels_from_env() {
    static const DebugChannels channels = [] {
        DebugChannels from_env;
        const char* env = std::getenv("KEYWARD_DEBUG");
        if (env == nullptr) return from_env;
        for (auto word : list_words(env)) {
            auto one = parse_debug_channels(word);
            if (!one.ok()) {
                const std::string line =
                    "keyward: KEYWARD_DEBUG: " + one.error().message() + "; ignored\n";
                std::fputs(line.c_str(), stderr);
                continue;
            }
            from_env.p11 = from_env.p11 || one->p11;
            from_env.sql = from_env.sql || one->sql;
        }
        return from_env;
    }();
    return channels;
}

}  // namespace keyward::core
