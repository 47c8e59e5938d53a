// SPDX-License-Identifier: Apache-2.0
// Rotation in the public API: what a rotation, re-encryption or rollback of a keyring did.
// docs/OPERATIONS.md is the runbook.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

/// What a rotation job does (docs/OPERATIONS.md): rotate re-wraps every record's DEK under a
/// new KEK version, reencrypt gives every record a new DEK and nonce under it, rollback undoes
/// the last rotation.
enum class RotationKind : std::uint8_t { rotate, reencrypt, rollback };

/// Where a rotation job is: running (in progress, or interrupted and resumable), finished, or
/// rolled-back (a rotation that a rollback undid).
enum class RotationState : std::uint8_t { running, finished, rolled_back };

/// The kind's name in the database, JSON and the CLI: "rotate", "reencrypt", "rollback".
constexpr std::string_view rotation_kind_name(RotationKind k) noexcept {
    switch (k) {
        case RotationKind::rotate:
            return "rotate";
        case RotationKind::reencrypt:
            return "reencrypt";
        case RotationKind::rollback:
            return "rollback";
    }
    return "unknown";
}

/// The kind a name stands for; nullopt for any other text.
constexpr std::optional<RotationKind> parse_rotation_kind(std::string_view name) noexcept {
    for (auto k : {RotationKind::rotate, RotationKind::reencrypt, RotationKind::rollback}) {
        if (rotation_kind_name(k) == name) return k;
    }
    return std::nullopt;
}

/// The state's name in the database, JSON and the CLI: "running", "finished", "rolled-back".
constexpr std::string_view rotation_state_name(RotationState s) noexcept {
    switch (s) {
        case RotationState::running:
            return "running";
        case RotationState::finished:
            return "finished";
        case RotationState::rolled_back:
            return "rolled-back";
    }
    return "unknown";
}

/// The state a name stands for; nullopt for any other text.
constexpr std::optional<RotationState> parse_rotation_state(std::string_view name) noexcept {
    for (auto s : {RotationState::running, RotationState::finished, RotationState::rolled_back}) {
        if (rotation_state_name(s) == name) return s;
    }
    return std::nullopt;
}

/// One rotation job (rotate, reencrypt or rollback) as recorded in the database.
struct RotationReport {
    std::int64_t id = 0;
    std::string keyring;
    RotationKind kind = RotationKind::rotate;
    RotationState state = RotationState::running;
    std::uint32_t from_version = 0, to_version = 0;
    std::string started_at, started_by, finished_at;
    std::uint64_t total = 0;        ///< record versions it had to move
    std::uint64_t done = 0;         ///< moved
    std::uint64_t skipped = 0;      ///< changed by someone else meanwhile (left as they were)
    std::uint64_t failed = 0;       ///< could not be moved (see failures; keyward validate)
    std::uint64_t hsm_rewraps = 0;  ///< moved with token operations (a rollback uses kept copies)
    double seconds = 0;             ///< working time over all runs
    double max_commit_ms = 0;       ///< longest batch transaction: the most a writer waited
    std::uint32_t runs = 1;         ///< 1 + the times it was resumed
    // Of this call only:
    bool resumed = false;
    bool interrupted = false;
    std::vector<std::string> failures;  ///< the first few, "NS/NAME#V: why"
};

struct RotateOptions {
    std::size_t batch = 500;  ///< record versions per transaction
    unsigned threads = 2;     ///< token operations in parallel
    bool reencrypt = false;   ///< a new DEK and nonce for every record (after a compromise)
    std::function<void(const RotationReport&)> progress;  ///< after each committed batch
    /// Once the new version is active (new wraps use it), before the first batch: a caller
    /// can answer its own client there while the re-wrap goes on (keywardd's rotate).
    std::function<void(const RotationReport&)> activated;
    const std::atomic<bool>* stop = nullptr;  ///< set it to stop after the current batch
};

}  // namespace keyward
