// SPDX-License-Identifier: Apache-2.0
// The rotation part of the Store port: jobs with cursors, kept wrapped DEKs, leases. Every
// method that changes more than one row does it in one transaction: a crash leaves either the
// state before the call or the state after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store_rows.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
#include "keyward/rotation.hpp"

namespace keyward::core {

/// Where a job is: the last record version its committed batches covered.
struct RotationCursor {
    std::string ns, name;
    std::uint32_t version = 0;
};

struct RotationJob {
    std::int64_t id = 0;
    std::string keyring;
    RotationKind kind = RotationKind::rotate;
    RotationState state = RotationState::running;
    std::uint32_t from_version = 0, to_version = 0;
    std::string started_at, started_by, finished_at;
    RotationCursor cursor;
    std::uint64_t total = 0, done = 0, skipped = 0, failed = 0, hsm_rewraps = 0;
    double seconds = 0, max_commit_ms = 0;
    std::uint32_t runs = 1;
};

/// A wrapped DEK a record version had before a rotation.
struct KeptWrap {
    std::uint32_t kek_version = 0;
    Bytes wrapped_dek;
};

/// A record version a job still has to move.
struct RewrapCandidate {
    std::string ns, name;
    std::uint32_t version = 0;
    Bytes envelope;
    std::optional<KeptWrap> kept;  ///< rollback: the copy to put back
};

/// One record version's new envelope, written only if the stored envelope is still `before`.
struct RewrapUpdate {
    std::string ns, name;
    std::uint32_t version = 0;
    Bytes before, after;
    std::uint32_t after_kek_version = 0;
    std::optional<KeptWrap> keep;  ///< rotate: the wrapped DEK to keep for a rollback
    bool drop_kept = false;        ///< rollback: the kept copy has been used
};

/// What a batch did besides its updates, folded into the job's counters.
struct BatchTally {
    RotationCursor cursor;
    std::uint64_t failed = 0, hsm_rewraps = 0;
    double seconds = 0;
};

struct Lease {
    std::string host;
    std::int64_t pid = 0;
    std::string acquired_at, heartbeat_at;
};

class RotationStore {
  public:
    virtual ~RotationStore() = default;

    /// Takes the keyring's lease for `me` unless a live holder has it; returns the holder
    /// that keeps it (nullopt when taken). `is_dead` judges a holder found in the table.
    virtual Result<std::optional<Lease>> take_lease(const std::string& keyring, const Lease& me,
                                                    bool (*is_dead)(const Lease&,
                                                                    const std::string& now)) = 0;
    virtual Status release_lease(const std::string& keyring, const Lease& me) = 0;

    virtual Result<std::optional<RotationJob>> running_job(const std::string& keyring) = 0;
    /// The newest rotate or reencrypt job that has not been rolled back.
    virtual Result<std::optional<RotationJob>> last_rotation(const std::string& keyring) = 0;
    virtual Result<std::vector<RotationJob>> jobs(const std::string& keyring) = 0;

    /// One transaction: the active version (if any) becomes decrypt-only, `next` is recorded
    /// as active, and a running job from `from_version` to next.version is created.
    virtual Result<RotationJob> begin_rotation(const std::string& keyring, RotationKind kind,
                                               std::uint32_t from_version,
                                               const KekVersionRow& next,
                                               const std::string& actor) = 0;
    /// One transaction: the rotation's target becomes decrypt-only, its source active again,
    /// the rotation is marked rolled-back, and a running rollback job is created.
    virtual Result<RotationJob> begin_rollback(const RotationJob& rotation,
                                               const std::string& actor) = 0;

    /// Which rows next_batch reads.
    enum class Selection {
        /// Every record version of the job's keyring: the caller decides by each envelope's
        /// header, the truth, not by the kek_version column a database writer could change.
        every_version,
        /// Only those whose kek_version column says the job still has to move them (rotate:
        /// any version but the target; rollback: the rolled-back version): for the final sweep,
        /// which looks for writers' races, not for edits.
        by_column,
    };
    /// Up to `limit` record versions of the job's keyring after its cursor, in key order.
    virtual Result<std::vector<RewrapCandidate>> next_batch(const RotationJob& job,
                                                            std::size_t limit,
                                                            Selection selection) = 0;
    /// Record versions left to move (for totals and progress).
    virtual Result<std::uint64_t> count_remaining(const RotationJob& job) = 0;

    /// One transaction: each update applied only where the envelope is unchanged (else counted
    /// skipped), kept copies written or dropped, the job's cursor and counters advanced, and
    /// the lease's heartbeat renewed. Returns the job as committed.
    virtual Result<RotationJob> commit_batch(const RotationJob& job,
                                             const std::vector<RewrapUpdate>& updates,
                                             const BatchTally& tally, const Lease& lease) = 0;
    /// Marks the job finished, adds `seconds`, and releases the lease, in one transaction.
    virtual Status finish_job(const RotationJob& job, double seconds, const Lease& lease) = 0;
    /// A resumed job counts one more run.
    virtual Status resume_job(const RotationJob& job) = 0;

    virtual Result<std::uint64_t> kept_under(const std::string& keyring, std::uint32_t version) = 0;
    /// One transaction: state compromised, kept copies under the version dropped.
    virtual Status mark_compromised(const std::string& keyring, std::uint32_t version) = 0;
    /// One transaction, refused with Errc::state_refused while any record version is under it:
    /// kept copies dropped, state destroyed.
    virtual Status retire_version(const std::string& keyring, std::uint32_t version) = 0;
    /// Writes back a state the token recorded (compromised or destroyed) over a milder one
    /// (after a restore or an edit): one transaction, state set, kept copies under the version
    /// dropped. Records the version still protects stay as they are (validate names them).
    virtual Status apply_token_state(const std::string& keyring, std::uint32_t version,
                                     KekState state) = 0;
};

}  // namespace keyward::core
