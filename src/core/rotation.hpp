// SPDX-License-Identifier: Apache-2.0
// Rotation service: KEK rotation with batched, resumable re-wrapping of every stored record's
// DEK, rollback, compromise and retirement (docs/ARCHITECTURE.md "Rotation"; docs/OPERATIONS.md).
//
// Crash safety rests on two facts: an envelope names the KEK version that wraps its DEK, and a
// batch changes envelopes, kept copies and the job's cursor in one transaction. Killed at any
// instant, every record opens under the version its envelope names, and the next run resumes
// after the last committed batch.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/envelopes.hpp"
#include "core/hsm.hpp"
#include "core/keyrings.hpp"
#include "core/store.hpp"
#include "core/wrap_budget.hpp"

namespace keyward::core {

struct RotationOptions {
    std::size_t batch = 500;  ///< record versions per transaction (docs/PERFORMANCE.md)
    unsigned threads = 2;     ///< token operations of a batch run on this many threads
    std::function<void(const RotationJob&)> progress;  ///< after every committed batch
    /// Once the job's target version is active, before its first batch.
    std::function<void(const RotationJob&)> activated;
    const std::atomic<bool>* stop = nullptr;  ///< checked between batches
};

struct RotationOutcome {
    RotationJob job;  ///< as committed at the end of this run
    bool resumed = false;
    bool interrupted = false;           ///< stopped by `stop` before the end
    std::vector<std::string> failures;  ///< the first few record versions that failed, and why
};

class Rotation {
  public:
    Rotation(Store& store, Hsm& hsm, Keyrings& keyrings, Envelopes& envelopes, WrapBudget& budget)
        : store_(store), hsm_(hsm), keyrings_(keyrings), envelopes_(envelopes), budget_(budget) {}

    /// Makes the next KEK version active and moves every record version to it; resumes an
    /// unfinished rotation of the keyring instead (making no version). reencrypt: every
    /// record gets a new DEK and nonce (after a compromise); no copies are kept.
    Result<RotationOutcome> rotate(const std::string& keyring, bool reencrypt,
                                   const RotationOptions& options, const std::string& actor);
    /// Undoes the last rotation (finished or interrupted), or resumes an unfinished rollback.
    Result<RotationOutcome> rollback(const std::string& keyring, const RotationOptions& options,
                                     const std::string& actor);
    Result<std::vector<RotationJob>> history(const std::string& keyring);
    /// Marks a version compromised in the token's ledger, then in the database, and drops the
    /// copies kept under it. Also writes the token's word back into a database that lost it.
    Status compromise(const std::string& keyring, std::uint32_t version);
    /// Drops the copies kept under a version that no envelope names any more (every stored
    /// envelope's header is read, not the columns), records the destruction in the token's
    /// ledger, then destroys its KEK in the token.
    Status retire(const std::string& keyring, std::uint32_t version);

  private:
    struct Plan;
    Result<Lease> take_lease(const std::string& keyring);
    /// The first record version (of every keyring) whose envelope names this KEK version,
    /// and how many do.
    Result<std::optional<std::string>> record_naming(const std::string& keyring,
                                                     std::uint32_t version, std::uint64_t& count);
    Result<RotationOutcome> run(RotationJob job, bool resumed, const RotationOptions& options,
                                const Lease& lease);
    /// The new envelope of one record version for the job (re-wrapped, re-encrypted, or its
    /// kept wrapped DEK put back); used_hsm says whether the token did work for it.
    Result<RewrapUpdate> update_for(const Plan& plan, const RewrapCandidate& c, bool& used_hsm);
    Result<Bytes> rewrap_header(const Plan& plan, ByteView envelope, std::uint32_t to,
                                const Bytes* replacement);

    Store& store_;
    Hsm& hsm_;
    Keyrings& keyrings_;
    Envelopes& envelopes_;
    WrapBudget& budget_;
};

}  // namespace keyward::core
