// SPDX-License-Identifier: Apache-2.0
// keywardd's CPU scheduling policy (docs/SERVICE.md, "CPU scheduling").
#pragma once

#include <optional>
#include <string>

namespace keyward::service {

/// Puts the calling thread under Linux's SCHED_BATCH policy when it runs under the normal one;
/// threads it starts afterwards inherit it. Call before any other thread exists. nullopt when
/// it runs under SCHED_BATCH now, else what it runs under and why, in a sentence for the log
/// (keywardd goes on either way).
std::optional<std::string> use_batch_scheduling();

}  // namespace keyward::service
