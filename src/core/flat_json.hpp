// SPDX-License-Identifier: Apache-2.0
// Reads one flat JSON object whose values are strings, whole numbers, null or flat objects of
// those (audit archive lines, which keyward writes itself). Anything else is refused: this is
// not a general JSON parser, and an archive line it cannot read is a damaged archive.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace keyward::core {

struct FlatJson {
    std::map<std::string, std::string> values;  ///< strings and numbers as text; null as ""
    std::map<std::string, std::map<std::string, std::string>> objects;  ///< one level deep
};

/// nullopt for anything that is not such an object (with a duplicate key, trailing text...).
std::optional<FlatJson> parse_flat_json(std::string_view text);

}  // namespace keyward::core
