// SPDX-License-Identifier: Apache-2.0
// A strict RFC 8259 JSON reader for keywardd's request bodies. String values may be secrets (a
// plaintext in base64, a context): they live in SecretString, wiped when freed. Depth, member
// and item counts are bounded so that a hostile body costs little before it is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::service {

struct JsonValue {
    enum class Type : std::uint8_t { null, boolean, number, string, array, object };
    Type type = Type::null;
    bool boolean = false;
    std::string number;  ///< the number's text as written (integers are read from it exactly)
    SecretString string;
    std::vector<JsonValue> items;
    std::vector<std::pair<std::string, JsonValue>> members;  ///< in order; keys unique

    /// The member named key of an object, or nullptr (also for a non-object).
    const JsonValue* find(std::string_view key) const;
    /// An integer number's value; nullopt for another type, a fraction, or out of range.
    std::optional<std::int64_t> integer() const;
    static const char* type_name(Type t) noexcept;
};

struct JsonLimits {
    std::size_t max_depth = 16;      ///< arrays and objects nested in each other
    std::size_t max_items = 100000;  ///< over all arrays and objects of one document
    /// Members of one object: Vault's bodies have a handful, and duplicate names are checked
    /// against every earlier one, so this bounds that work.
    std::size_t max_members = 256;
};

/// The document in text; Errc::bad_input naming the byte offset of the first error (never the
/// text around it: it may be a secret). Duplicate keys are refused.
Result<JsonValue> parse_json(std::string_view text, const JsonLimits& limits = {});

}  // namespace keyward::service
