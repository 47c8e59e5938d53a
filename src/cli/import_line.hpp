// SPDX-License-Identifier: Apache-2.0
// One line of `keyward import NS --jsonl F` (docs/CLI.md): a strict RFC 8259 reader for exactly
// the record object {"name", "kind", "value" | "value_b64", "expires"?, "description"?,
// "tags"?}, not a general JSON parser. What the value decodes to only ever lives in
// SecretBytes, and no error message carries any part of it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::cli {

struct ImportLine {
    std::string name;                        // as given (address validity is checked by the caller)
    std::string kind;                        // as given (checked by the caller)
    SecretBytes value;                       // "value" as UTF-8 bytes, or decoded "value_b64"
    std::optional<std::string> expires;      // raw text as given; nullopt when absent or null
    std::optional<std::string> description;  // nullopt when absent or null
    std::vector<std::pair<std::string, std::string>> tags;  // in document order
};

/// One JSONL line (without its '\n'; a trailing '\r' is tolerated). Errors: Errc::bad_input with
/// a one-line message naming what is wrong and, for syntax, the byte offset in the line (never
/// echoing the value or any part of it); Errc::input_too_large when the value exceeds 64 MiB.
/// Strings may hold any valid Unicode, \u0000 included: names, kinds and tags are the
/// caller's to validate.
Result<ImportLine> parse_import_line(std::string_view line);

}  // namespace keyward::cli
