// SPDX-License-Identifier: Apache-2.0
// How records look on the command line: their metadata as JSON or text (never a value), and
// the record options that several commands share (--tag, rotation policy).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "args.hpp"
#include "keyward/json.hpp"
#include "keyward/records.hpp"

namespace keyward::cli {

/// "NS/NAME  kind  state  vN  expires ...", one line.
std::string record_line(const RecordInfo& r);
/// The record's metadata, one "key: value" per line.
std::string record_details(const RecordInfo& r);

/// Every --tag K=V.
Result<std::vector<Tag>> tags_from(const Args& args);

/// --rotate-after DAYS|none, --warn-before DAYS, --auto-rotate / --no-auto-rotate applied to
/// `base`; nullopt when none of them was given.
Result<std::optional<RotationPolicy>> policy_from(const Args& args, const RotationPolicy& base);

/// The option table entries policy_from reads.
std::vector<OptionSpec> policy_options();

}  // namespace keyward::cli
