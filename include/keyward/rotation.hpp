// Rotation in the public API: what a rotation, re-encryption or rollback of a keyring did.
// docs/OPERATIONS.md is the runbook.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace keyward {

/// One rotation job (rotate, reencrypt or rollback) as recorded in the database.
struct RotationReport {
    std::int64_t id = 0;
    std::string keyring;
    std::string kind;   ///< rotate, reencrypt, rollback
    std::string state;  ///< running (interrupted or in progress), finished, rolled-back
    std::uint32_t from_version = 0, to_version = 0;
    std::string started_at, started_by, finished_at;
    std::uint64_t total = 0;    ///< record versions it had to move
    std::uint64_t done = 0;     ///< moved
    std::uint64_t skipped = 0;  ///< changed by someone else meanwhile (left as they were)
    std::uint64_t failed = 0;   ///< could not be moved (see failures; keyward validate)
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
    const std::atomic<bool>* stop = nullptr;  ///< set it to stop after the current batch
};

}  // namespace keyward
