// SPDX-License-Identifier: Apache-2.0
// Record addresses (NS/NAME, docs/CLI.md grammar) and the context that seals each version.
#pragma once

#include <cstdint>
#include <string>

#include "keyward/error.hpp"
#include "keyward/records.hpp"

namespace keyward::core {

struct RecordAddress {
    std::string ns;
    std::string name;
    std::string text() const { return ns + "/" + name; }
};

/// NS/NAME per docs/CLI.md: NS is [a-z0-9][a-z0-9._-]* (at most 64, as it names a keyring),
/// NAME one or more such segments joined by '/'. Errc::usage naming the rule otherwise.
Result<RecordAddress> parse_record_address(const std::string& text);

// A namespace on its own: check_namespace, public in keyward/records.hpp.

/// "record:NS/NAME#V".
std::string record_context(const RecordAddress& address, std::uint32_t version);

}  // namespace keyward::core
