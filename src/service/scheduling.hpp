// SPDX-License-Identifier: Apache-2.0
// keywardd's CPU scheduling policy (docs/SERVICE.md, "CPU scheduling").
#pragma once

#include <optional>
#include <string>

namespace keyward::service {

/// Puts the calling thread under Linux's SCHED_BATCH policy; threads it starts afterwards
/// inherit it. Call before any other thread exists. nullopt on success, else why not (the
/// caller warns and goes on under the policy it has).
std::optional<std::string> use_batch_scheduling();

}  // namespace keyward::service
