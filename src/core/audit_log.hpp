// SPDX-License-Identifier: Apache-2.0
// The audit log (docs/AUDIT.md): appends entries to the SHA-256 chain with the head MAC'd in the
// token per commit, strictly (durable before the call returns) or grouped (committed by a
// background thread within 100 ms); writes checkpoints of the head into the token; verifies,
// lists and archives.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/audit_key.hpp"
#include "core/hsm.hpp"
#include "core/store.hpp"
#include "keyward/audit.hpp"

namespace keyward::core {

/// How an entry is written. strict: committed (and its head MAC'd) before record() returns;
/// an error means it is not in the log. grouped: queued and committed within 100 ms.
enum class Durability { strict, grouped };

/// A checkpoint of the chain head as kept in the token.
struct AuditCheckpoint {
    std::string chain_id;
    std::uint64_t generation = 0;  ///< grows by one per checkpoint; the largest is current
    std::uint64_t seq = 0;         ///< entries up to here are vouched for
    Bytes hash;                    ///< entry seq's hash (32 zero bytes when seq is 0)
    std::string at;
    std::string reason;  ///< periodic, admin, restore, archive, init
    std::uint32_t key_version = 0;
    Bytes mac;
};

/// CKA_APPLICATION of checkpoint objects.
inline constexpr const char* kCheckpointApplication = "keyward audit checkpoint";

Bytes encode_checkpoint(const AuditCheckpoint& c);
/// What a checkpoint's MAC covers: chain, generation, seq, hash, time and reason.
MacMessage checkpoint_message(const AuditCheckpoint& c);
std::optional<AuditCheckpoint> decode_checkpoint(ByteView value);

class AuditLog {
  public:
    AuditLog(Hsm& hsm, Store& store, AuditKey& key);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    /// Appends an entry. `administrative` entries are followed by a checkpoint in the token
    /// (with that reason). Nothing is appended onto a chain whose last entry the token does not
    /// vouch for, or that no longer reaches the token's checkpoint (Errc::token_mismatch).
    Status record(AuditEntry entry, Durability durability, bool administrative = false,
                  const char* checkpoint_reason = "admin");
    /// Commits every queued entry now.
    Status flush();
    /// Writes a checkpoint of the committed head into the token (and prunes older ones once
    /// it reads back). Refused when the chain no longer reaches the latest checkpoint, except
    /// for reason "init" (a new chain) and "restore" (a restore replaced the database).
    Status checkpoint(const std::string& reason);

    Result<AuditVerifyReport> verify();
    Result<std::vector<AuditEntry>> list(const AuditQuery& query);
    /// Moves entries dated before `before` (ISO 8601 UTC) to `out` (JSON lines, a new file of
    /// mode 0600) and leaves a MAC'd anchor where they were.
    Result<AuditArchiveReport> archive(const std::string& before, const std::filesystem::path& out);
    /// Checks an archive file: its chain, its MACs and its anchors, in the token.
    Result<AuditVerifyReport> verify_archive(const std::filesystem::path& path);

    /// What health can afford per call: the chain head's MAC and the latest checkpoint against
    /// the database (not the whole chain: `audit verify` does that). "ok" or the problem.
    Result<std::string> quick_check();

    /// What opening a handle checks (and Keyward::open refuses to work past): the chain's last
    /// entry carries a MAC the token vouches for, and the chain still reaches the token's
    /// latest checkpoint. nullopt when both hold; else the problem, in one sentence.
    Result<std::optional<std::string>> check_head();

    /// The token's current checkpoint of this chain (nullopt when none).
    Result<std::optional<AuditCheckpoint>> latest_checkpoint();

  private:
    // The *_locked members run under commit_mutex_.
    Status append_locked(const std::vector<AuditEntry>& batch);
    Status checkpoint_after_commit_locked(bool administrative, const char* reason);
    Status checkpoint_locked(const std::string& reason, bool must_follow);
    /// Whether the database still holds the entry the checkpoint vouches for (or archived it
    /// under an anchor the token vouches for).
    Result<bool> reaches(const AuditCheckpoint& checkpoint);
    /// Whether the token vouches for the chain's head: its MAC (or the anchor's) verifies.
    Result<bool> vouched(const AuditHead& head);
    void requeue(std::vector<AuditEntry> batch);
    void run_group_commits();

    Hsm& hsm_;
    Store& store_;
    AuditKey& key_;

    std::mutex commit_mutex_;  // one commit at a time in this process
    std::uint64_t last_committed_seq_ = 0;
    std::optional<std::uint64_t> last_checkpoint_seq_;  // unknown until read from the token
    std::int64_t last_checkpoint_unix_ = 0;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::vector<AuditEntry> queue_;
    bool stopping_ = false;
    std::thread committer_;  // started on the first grouped entry
};

}  // namespace keyward::core
