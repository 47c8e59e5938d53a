// SPDX-License-Identifier: Apache-2.0
// Rotation, rollback, compromise and retirement of a keyring's KEK versions.
#include "core/rotation.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <map>
#include <system_error>
#include <thread>

#include "core/clock.hpp"
#include "core/record_address.hpp"
#include "crypto/envelope_codec.hpp"

namespace keyward::core {

namespace {

constexpr std::size_t kFailuresShown = 10;
// A holder on another host is presumed dead when its heartbeat is this old; one on this host
// when its process is gone, or (pid reuse) when its heartbeat is older than the second bound.
constexpr std::int64_t kRemoteLeaseSeconds = 120;
constexpr std::int64_t kLocalLeaseSeconds = 600;

std::string this_host() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
    return name;
}

std::int64_t age_seconds(const std::string& stamp, const std::string& now) {
    auto t = unix_from_iso8601(stamp);
    auto n = unix_from_iso8601(now);
    return t && n ? *n - *t : 0;
}

bool lease_holder_dead(const Lease& holder, const std::string& now) {
    const auto age = age_seconds(holder.heartbeat_at, now);
    if (holder.host != this_host()) return age > kRemoteLeaseSeconds;
    const bool gone = ::kill(static_cast<pid_t>(holder.pid), 0) != 0 && errno == ESRCH;
    return gone || age > kLocalLeaseSeconds;
}

// Whether a record version still has to move, by what its envelope's header names. A header
// that cannot be read, or that names another keyring, is kept: moving it fails and is counted.
bool still_to_move(const RotationJob& job, const RewrapCandidate& c) {
    auto env = crypto::parse_envelope(c.envelope);
    if (!env.ok() || env->header.keyring != job.keyring) return true;
    if (job.kind == RotationKind::rollback) return env->header.kek_version == job.from_version;
    return env->header.kek_version != job.to_version;
}

Bytes dek_aad(Suite suite, const std::string& keyring, std::uint32_t version) {
    if (suite == Suite::gcm) return crypto::gcm_dek_wrap_aad(keyring, version);
    return {};
}

// Runs f(i) for i in [0, n) on up to `threads` threads.
template <typename F>
void parallel_for(std::size_t n, unsigned threads, F&& f) {
    const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(threads, n));
    if (workers == 1) {
        for (std::size_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> pool;
    for (std::size_t w = 0; w < workers; ++w) {
        pool.emplace_back([&] {
            for (std::size_t i = next++; i < n; i = next++) f(i);
        });
    }
}

}  // namespace

/// What a run knows about its keyring, resolved once: the token objects of its versions.
struct Rotation::Plan {
    RotationJob job;
    KeyringRow ring;
    std::map<std::uint32_t, Result<KekRef>> keks;
    const Result<KekRef>& kek(std::uint32_t version) const {
        static const Result<KekRef> missing =
            Error(Errc::not_found, "the envelope names a KEK version this keyring does not have");
        auto it = keks.find(version);
        return it == keks.end() ? missing : it->second;
    }
};

Result<Lease> Rotation::take_lease(const std::string& keyring) {
    Lease me{this_host(), static_cast<std::int64_t>(::getpid()), {}, {}};
    KW_TRY(auto holder, store_.take_lease(keyring, me, &lease_holder_dead));
    if (holder) {
        return Error(Errc::conflict,
                     "keyring " + keyring + " is being rotated by pid " +
                         std::to_string(holder->pid) + " on host " + holder->host + " (since " +
                         holder->acquired_at + ", last heartbeat " + holder->heartbeat_at +
                         "); wait for it, or stop that process and run the command again");
    }
    return me;
}

Result<RotationOutcome> Rotation::rotate(const std::string& keyring, bool reencrypt,
                                         const RotationOptions& options, const std::string& actor) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    KW_TRY(auto lease, take_lease(keyring));
    auto result = [&]() -> Result<RotationOutcome> {
        // Read again under the lease: a rotation that finished between the first read and
        // the lease has made a version this one must not take for a crash leftover.
        KW_TRY(ring, keyrings_.show(keyring));
        KW_TRY(auto running, store_.running_job(keyring));
        if (running) {
            if (running->kind == RotationKind::rollback) {
                return Error(Errc::state_refused,
                             "keyring " + keyring +
                                 " has an unfinished rollback; run keyward keyring rollback " +
                                 keyring + " to finish it first");
            }
            KW_TRY_STATUS(store_.resume_job(*running));
            KW_TRY(auto again, store_.running_job(keyring));
            return run(std::move(*again), true, options, lease);
        }
        std::uint32_t from = 0, newest = 0;
        for (const auto& v : ring.versions) {
            newest = std::max(newest, v.version);
            if (v.state == KekState::active) from = v.version;
        }
        if (from == 0) from = newest;  // no active version (compromised): rotate away from it
        KW_TRY(auto next, keyrings_.prepare_version(ring, newest + 1));
        const RotationKind kind = reencrypt ? RotationKind::reencrypt : RotationKind::rotate;
        KW_TRY(auto job, store_.begin_rotation(keyring, kind, from, next, actor));
        return run(std::move(job), false, options, lease);
    }();
    (void)store_.release_lease(keyring, lease);
    return result;
}

Result<RotationOutcome> Rotation::rollback(const std::string& keyring,
                                           const RotationOptions& options,
                                           const std::string& actor) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    KW_TRY(auto lease, take_lease(keyring));
    auto result = [&]() -> Result<RotationOutcome> {
        KW_TRY(ring, keyrings_.show(keyring));  // as it is under the lease
        KW_TRY(auto running, store_.running_job(keyring));
        if (running && running->kind == RotationKind::rollback) {
            KW_TRY_STATUS(store_.resume_job(*running));
            KW_TRY(auto again, store_.running_job(keyring));
            return run(std::move(*again), true, options, lease);
        }
        KW_TRY(auto last, store_.last_rotation(keyring));
        if (!last) {
            return Error(Errc::not_found, "keyring " + keyring +
                                              " has no rotation to roll back (see keyward "
                                              "keyring history " +
                                              keyring + ")");
        }
        for (const auto& v : ring.versions) {
            if (v.version != last->from_version) continue;
            if (v.state == KekState::compromised || v.state == KekState::destroyed) {
                return Error(Errc::state_refused, "the rotation of keyring " + keyring +
                                                      " left version " + std::to_string(v.version) +
                                                      ", which is " +
                                                      std::string(kek_state_name(v.state)) +
                                                      "; rolling back to it is refused");
            }
        }
        KW_TRY(auto job, store_.begin_rollback(*last, actor));
        return run(std::move(job), false, options, lease);
    }();
    (void)store_.release_lease(keyring, lease);
    return result;
}

Result<RotationOutcome> Rotation::run(RotationJob job, bool resumed, const RotationOptions& options,
                                      const Lease& lease) {
    const auto started = std::chrono::steady_clock::now();
    Plan plan;
    KW_TRY(plan.ring, keyrings_.show(job.keyring));
    for (const auto& v : plan.ring.versions) {
        plan.keks.emplace(v.version, keyrings_.kek_for(plan.ring, v));
    }
    RotationOutcome outcome;
    outcome.resumed = resumed;
    // begin_rotation (or begin_rollback) committed the switch: new wraps use the target.
    if (options.activated) options.activated(job);
    const std::size_t batch_size = std::max<std::size_t>(1, options.batch);
    // A writer that read the old active version just before the job began can insert its
    // version behind the cursor; one sweep from the start after the pass catches those
    // (every seal since the job began uses the new version). Failures are counted once.
    bool sweeping = false;
    // Batch k commits (its fsync included) on another thread while the token re-wraps batch
    // k+1: the token is the limit, and it would otherwise sit idle during every commit. The
    // commits still land one at a time and in order, each in its own transaction, so a crash
    // leaves what it always left: every record under the version its envelope names, and the
    // cursor at the last committed batch. `fetch` is where the next batch starts: one batch
    // ahead of `job`, whose cursor and counters are the committed ones.
    RotationCursor fetch = job.cursor;
    std::future<Result<RotationJob>> committing;
    auto settle = [&]() -> Status {
        if (!committing.valid()) return {};
        KW_TRY(job, committing.get());
        if (options.progress) options.progress(job);
        return {};
    };
    // Reads on from `fetch` until it finds record versions the job has to move, or the
    // keyring's end; `fetch` then stands after the last row read, moved or not. The pass reads
    // every version of the keyring and decides by each envelope's header, which a database
    // writer cannot change without breaking the envelope; the sweep only looks for writers'
    // races, so the kek_version column serves it.
    auto next_batch = [&]() -> Result<std::vector<RewrapCandidate>> {
        const auto selection = sweeping ? RotationStore::Selection::by_column
                                        : RotationStore::Selection::every_version;
        for (;;) {
            RotationJob from = job;
            from.cursor = fetch;
            KW_TRY(auto rows, store_.next_batch(from, batch_size, selection));
            if (rows.empty()) return rows;
            fetch = {rows.back().ns, rows.back().name, rows.back().version};
            std::erase_if(rows, [&](const RewrapCandidate& c) { return !still_to_move(job, c); });
            if (!rows.empty()) return rows;
        }
    };
    double batch_seconds = 0;
    auto mark = std::chrono::steady_clock::now();
    KW_TRY(auto candidates, next_batch());
    for (;;) {
        if (candidates.empty()) {
            // The pass is over once its last commit has landed: the sweep from the start must
            // not take that batch's records for ones still to do.
            KW_TRY_STATUS(settle());
            if (sweeping || (fetch.ns.empty() && fetch.name.empty())) break;
            sweeping = true;
            fetch = {};
            KW_TRY(candidates, next_batch());
            continue;
        }
        if (options.stop && options.stop->load()) {
            outcome.interrupted = true;
            break;
        }
        plan.job = job;
        std::vector<std::optional<Result<RewrapUpdate>>> moved(candidates.size());
        std::vector<char> used_hsm(candidates.size(), 0);
        parallel_for(candidates.size(), options.threads, [&](std::size_t i) {
            bool hsm = false;
            moved[i] = update_for(plan, candidates[i], hsm);
            used_hsm[i] = hsm ? 1 : 0;
        });
        std::vector<RewrapUpdate> updates;
        BatchTally tally;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            if (moved[i]->ok()) {
                updates.push_back(std::move(**moved[i]));
                tally.hsm_rewraps += used_hsm[i] != 0 ? 1 : 0;
                continue;
            }
            if (sweeping) continue;
            ++tally.failed;
            if (outcome.failures.size() < kFailuresShown) {
                const auto& c = candidates[i];
                outcome.failures.push_back(c.ns + "/" + c.name + "#" + std::to_string(c.version) +
                                           ": " + moved[i]->error().message());
            }
        }
        // Everything read so far is moved or needs no move.
        tally.cursor = fetch;
        // The previous batch's commit lands first: this one's counters build on it. The next
        // batch is read before this one's commit starts, so that the read does not wait for
        // the commit (they share the store's connection).
        KW_TRY_STATUS(settle());
        KW_TRY(candidates, next_batch());
        // A batch's time runs from the end of the previous one, so that the batches add up to
        // the run's wall time (the commits overlap the next batch's token work).
        const auto now = std::chrono::steady_clock::now();
        tally.seconds = std::chrono::duration<double>(now - mark).count();
        mark = now;
        batch_seconds += tally.seconds;
        auto commit = [this, &lease, base = job, updates = std::move(updates), tally] {
            return store_.commit_batch(base, updates, tally, lease);
        };
        try {
            committing = std::async(std::launch::async, std::move(commit));
        } catch (const std::system_error& e) {
            // No thread to be had: nothing of this batch is written; the job stays resumable.
            return Error(Errc::failed, std::string("cannot start the commit thread: ") + e.what());
        }
    }
    KW_TRY_STATUS(settle());
    if (!outcome.interrupted) {
        // Batches counted their own time; the rest of this run (loading the plan, the final
        // empty queries) is added once here, so `seconds` is the whole working time.
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double tail = std::max(0.0, elapsed - batch_seconds);
        KW_TRY_STATUS(store_.finish_job(job, tail, lease));
        job.seconds += tail;
        job.state = RotationState::finished;
        job.finished_at = utc_now_iso8601();
    }
    outcome.job = std::move(job);
    return outcome;
}

// The header of `envelope` with its DEK wrapped under version `to` (by the token, or, with a
// replacement, that wrapped DEK as kept). Nonce, ciphertext and tag are copied unchanged.
Result<Bytes> Rotation::rewrap_header(const Plan& plan, ByteView envelope, std::uint32_t to,
                                      const Bytes* replacement) {
    KW_TRY(auto env, crypto::parse_envelope(envelope));
    if (env.header.keyring != plan.ring.name || env.header.suite != plan.ring.suite) {
        return Error(Errc::auth_failed, "the stored envelope names keyring " + env.header.keyring +
                                            ", not " + plan.ring.name);
    }
    crypto::KeyHeader header = env.header;
    if (replacement != nullptr) {
        header.wrapped_dek = *replacement;
    } else {
        const auto& from = plan.kek(env.header.kek_version);
        if (!from.ok()) return from.error();
        const auto& target = plan.kek(to);
        if (!target.ok()) return target.error();
        if (plan.ring.suite == Suite::gcm) KW_TRY_STATUS(budget_.take(plan.ring.name, to));
        KW_TRY(header.wrapped_dek,
               hsm_.rewrap_dek(*from, env.header.wrapped_dek,
                               dek_aad(plan.ring.suite, plan.ring.name, env.header.kek_version),
                               *target, dek_aad(plan.ring.suite, plan.ring.name, to), kDekSize));
    }
    header.kek_version = to;
    return crypto::serialize_envelope(header, env.nonce, env.ciphertext, env.tag);
}

Result<RewrapUpdate> Rotation::update_for(const Plan& plan, const RewrapCandidate& c,
                                          bool& used_hsm) {
    const auto& job = plan.job;
    RewrapUpdate u{c.ns, c.name, c.version, c.envelope, {}, job.to_version, std::nullopt, false};
    if (job.kind == RotationKind::reencrypt) {
        // A new DEK and nonce: open under whatever version wraps it, seal under the active one
        // (the job's target) with the same context.
        const RecordAddress address{c.ns, c.name};
        const std::string context = record_context(address, c.version);
        KW_TRY(auto plain, envelopes_.open(c.envelope, as_bytes(context)));
        KW_TRY(u.after, envelopes_.seal(plan.ring.name, plain, as_bytes(context)));
        used_hsm = true;
        return u;
    }
    if (job.kind == RotationKind::rollback) {
        // The copy kept by the rotation puts the record back exactly as it was, without the
        // token, as long as the version it names may still be used.
        if (c.kept) {
            const auto& kept_kek = plan.kek(c.kept->kek_version);
            if (kept_kek.ok()) {
                KW_TRY(u.after,
                       rewrap_header(plan, c.envelope, c.kept->kek_version, &c.kept->wrapped_dek));
                u.after_kek_version = c.kept->kek_version;
                u.drop_kept = true;
                return u;
            }
        }
        KW_TRY(u.after, rewrap_header(plan, c.envelope, job.to_version, nullptr));
        u.drop_kept = c.kept.has_value();
        used_hsm = true;
        return u;
    }
    KW_TRY(auto env, crypto::parse_envelope(c.envelope));
    u.keep = KeptWrap{env.header.kek_version, env.header.wrapped_dek};
    KW_TRY(u.after, rewrap_header(plan, c.envelope, job.to_version, nullptr));
    used_hsm = true;
    return u;
}

Result<std::vector<RotationJob>> Rotation::history(const std::string& keyring) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    (void)ring;
    return store_.jobs(keyring);
}

Status Rotation::compromise(const std::string& keyring, std::uint32_t version) {
    KW_TRY(auto ring, keyrings_.show(keyring));  // states as the token allows them
    KW_TRY(auto row, store_.find_version(keyring, version));
    if (!row) {
        return Error(Errc::not_found,
                     "keyring " + keyring + " has no version " + std::to_string(version));
    }
    KekState effective = row->state;
    for (const auto& v : ring.versions) {
        if (v.version == version) effective = v.state;
    }
    if (effective == KekState::destroyed || row->state == KekState::compromised) {
        return Error(Errc::state_refused, "keyring " + keyring + " version " +
                                              std::to_string(version) + " is already " +
                                              std::string(kek_state_name(effective)));
    }
    // The token first, where a database writer cannot undo it; then the database. A crash in
    // between leaves the token's word, which keyward follows and health reports; running the
    // command again writes it into the database (as it does after a restore or an edit).
    KW_TRY_STATUS(keyrings_.ledger().record(*row, KekState::compromised));
    return store_.mark_compromised(keyring, version);
}

Result<std::optional<std::string>> Rotation::record_naming(const std::string& keyring,
                                                           std::uint32_t version,
                                                           std::uint64_t& count) {
    // Every stored version of every keyring, by its envelope's header: the keyring and
    // kek_version columns are claims a database writer could change.
    constexpr std::size_t kPageRows = 500;
    constexpr std::size_t kPageBytes = std::size_t{32} << 20;
    std::optional<std::string> first;
    std::optional<RecordVersionKey> after;
    count = 0;
    for (;;) {
        KW_TRY(auto page, store_.record_versions_page("", after, kPageRows, kPageBytes));
        if (page.empty()) break;
        for (const auto& row : page) {
            auto env = crypto::parse_envelope(row.envelope);
            if (!env.ok() || env->header.keyring != keyring || env->header.kek_version != version) {
                continue;
            }
            ++count;
            if (!first) first = row.ns + "/" + row.name + " version " + std::to_string(row.version);
        }
        after = RecordVersionKey{page.back().ns, page.back().name, page.back().version};
    }
    return first;
}

Status Rotation::retire(const std::string& keyring, std::uint32_t version) {
    KW_TRY(auto ring, keyrings_.show(keyring));
    const KekVersionRow* found = nullptr;
    for (const auto& v : ring.versions) {
        if (v.version == version) found = &v;
    }
    if (found == nullptr) {
        return Error(Errc::not_found,
                     "keyring " + keyring + " has no version " + std::to_string(version));
    }
    if (found->state == KekState::active || found->state == KekState::pre_active) {
        return Error(Errc::state_refused,
                     "keyring " + keyring + " version " + std::to_string(version) + " is " +
                         std::string(kek_state_name(found->state)) +
                         "; only a decrypt-only or compromised version can be retired");
    }
    // No rotation or rollback may move records under the version while its headers are read.
    KW_TRY(auto lease, take_lease(keyring));
    auto result = [&]() -> Status {
        KW_TRY(auto running, store_.running_job(keyring));
        if (running) {
            // An interrupted job usually leaves records under the version: say how many, as
            // the refusal without a job does.
            KW_TRY(auto under, store_.records_under(keyring, version));
            // The command that finishes it: keyring rotate also finishes a reencrypt.
            const char* finish = running->kind == RotationKind::rollback ? "rollback" : "rotate";
            return Error(Errc::state_refused,
                         "keyring " + keyring + " version " + std::to_string(version) +
                             " still protects " + std::to_string(under) +
                             " record versions and the keyring has an unfinished " +
                             std::string(rotation_kind_name(running->kind)) + " (job " +
                             std::to_string(running->id) + "); run keyward keyring " + finish +
                             " " + keyring + " to finish it first");
        }
        std::uint64_t named = 0;
        KW_TRY(auto first, record_naming(keyring, version, named));
        if (first) {
            return Error(Errc::state_refused,
                         "keyring " + keyring + " version " + std::to_string(version) +
                             " still protects " + std::to_string(named) +
                             " record versions by their envelopes (first: " + *first +
                             "); run keyward keyring rotate " + keyring +
                             " first (keyward validate names rows whose columns disagree)");
        }
        KW_TRY(auto row, store_.find_version(keyring, version));
        if (row && row->state != KekState::destroyed) {
            KW_TRY_STATUS(store_.retire_version(keyring, version));
        }
        // Then the token's ledger, where a restore cannot revive it, then the object itself: a
        // crash in between leaves an orphan object that nothing uses (and a second retire
        // removes), never a database that needs a key the token no longer has.
        if (row) KW_TRY_STATUS(keyrings_.ledger().record(*row, KekState::destroyed));
        auto destroyed = hsm_.destroy_kek(kek_label(keyring, version));
        if (!destroyed.ok() && destroyed.error().code() != Errc::not_found) return destroyed;
        return {};
    }();
    (void)store_.release_lease(keyring, lease);
    return result;
}

}  // namespace keyward::core
