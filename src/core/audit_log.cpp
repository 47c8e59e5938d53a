// SPDX-License-Identifier: Apache-2.0
// Appending to the audit chain, checkpoints in the token, and group commits (see audit_log.hpp).
#include "core/audit_log.hpp"

#include <unistd.h>

#include <syslog.h>
#include <algorithm>

#include <cstdio>

#include "core/clock.hpp"

namespace keyward::core {

namespace {

constexpr std::uint64_t kCheckpointEveryEntries = 1000;
constexpr std::int64_t kCheckpointEverySeconds = 60;
constexpr auto kGroupWindow = std::chrono::milliseconds(50);
constexpr std::string_view kCheckpointMagic = "keyward-audit-checkpoint/1";

std::optional<std::uint64_t> to_u64(std::string_view s) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    return std::stoull(std::string(s));
}

}  // namespace

MacMessage checkpoint_message(const AuditCheckpoint& c) {
    MacMessage m("keyward-audit-checkpoint/1");
    m.field(c.chain_id)
        .number(c.generation)
        .number(c.seq)
        .field(c.hash)
        .field(c.at)
        .field(c.reason);
    return m;
}

Bytes encode_checkpoint(const AuditCheckpoint& c) {
    const std::string text =
        std::string(kCheckpointMagic) + "\nchain=" + c.chain_id +
        "\ngeneration=" + std::to_string(c.generation) + "\nseq=" + std::to_string(c.seq) +
        "\nhash=" + to_hex(c.hash) + "\nat=" + c.at + "\nreason=" + c.reason +
        "\nkey=" + std::to_string(c.key_version) + "\nmac=" + to_hex(c.mac) + "\n";
    return Bytes(text.begin(), text.end());
}

std::optional<AuditCheckpoint> decode_checkpoint(ByteView value) {
    std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
    static constexpr std::string_view kKeys[] = {"chain", "generation", "seq", "hash",
                                                 "at",    "reason",     "key", "mac"};
    auto line = [&]() -> std::optional<std::string_view> {
        auto nl = text.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;
        auto l = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        return l;
    };
    auto magic = line();
    if (!magic || *magic != kCheckpointMagic) return std::nullopt;
    std::string_view v[8];
    for (std::size_t i = 0; i < 8; ++i) {
        auto l = line();
        if (!l || l->size() <= kKeys[i].size() || l->substr(0, kKeys[i].size()) != kKeys[i] ||
            (*l)[kKeys[i].size()] != '=') {
            return std::nullopt;
        }
        v[i] = l->substr(kKeys[i].size() + 1);
    }
    if (!text.empty()) return std::nullopt;
    AuditCheckpoint c;
    c.chain_id = std::string(v[0]);
    auto gen = to_u64(v[1]), seq = to_u64(v[2]), key = to_u64(v[6]);
    auto hash = parse_hex(v[3]), mac = parse_hex(v[7]);
    if (!gen || !seq || !key || !hash || hash->size() != 32 || !mac || *key > 0xffffffffu) {
        return std::nullopt;
    }
    c.generation = *gen;
    c.seq = *seq;
    c.hash = std::move(*hash);
    c.at = std::string(v[4]);
    c.reason = std::string(v[5]);
    c.key_version = static_cast<std::uint32_t>(*key);
    c.mac = std::move(*mac);
    return c;
}

AuditLog::AuditLog(Hsm& hsm, Store& store, AuditKey& key) : hsm_(hsm), store_(store), key_(key) {}

AuditLog::~AuditLog() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    if (committer_.joinable()) committer_.join();
    // What the committer had not taken yet. A failure here can only be reported where the
    // operator looks: the log cannot take it.
    if (auto s = flush(); !s.ok()) {
        syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: audit entries could not be committed: %s",
               s.error().message().c_str());
    }
}

Status AuditLog::record(AuditEntry entry, Durability durability, bool administrative,
                        const char* checkpoint_reason) {
    if (entry.at.empty()) entry.at = utc_now_iso8601();
    if (durability == Durability::grouped) {
        bool first = false;
        {
            std::lock_guard lock(queue_mutex_);
            first = queue_.empty();
            queue_.push_back(std::move(entry));
            if (!committer_.joinable() && !stopping_) {
                committer_ = std::thread([this] { run_group_commits(); });
            }
        }
        // Only the first entry of a group wakes the committer: it then waits out the window
        // on its own, and a wake-up per call would cost every caller a futex call and the
        // committer a pointless context switch.
        if (first) queue_cv_.notify_one();
        return ok_status();
    }
    // Entries queued before this one go first, in the same commit: the chain keeps call order.
    std::vector<AuditEntry> batch;
    {
        std::lock_guard lock(queue_mutex_);
        batch.swap(queue_);
    }
    batch.push_back(std::move(entry));
    std::lock_guard lock(commit_mutex_);
    if (auto s = append_locked(batch); !s.ok()) {
        batch.pop_back();  // ours is the caller's to report; the others go back in front
        requeue(std::move(batch));
        return s;
    }
    // The entry is in the log. A checkpoint that fails after it is reported for
    // administrative operations (they promise one), logged otherwise.
    auto c = checkpoint_after_commit_locked(administrative, checkpoint_reason);
    if (!c.ok()) {
        if (administrative) return c;
        syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: audit checkpoint not written: %s",
               c.error().message().c_str());
    }
    return ok_status();
}

Status AuditLog::flush() {
    std::vector<AuditEntry> batch;
    {
        std::lock_guard lock(queue_mutex_);
        batch.swap(queue_);
    }
    if (batch.empty()) return ok_status();
    std::lock_guard lock(commit_mutex_);
    if (auto s = append_locked(batch); !s.ok()) {
        requeue(std::move(batch));
        return s;
    }
    if (auto c = checkpoint_after_commit_locked(false, "periodic"); !c.ok()) {
        syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: audit checkpoint not written: %s",
               c.error().message().c_str());
    }
    return ok_status();
}

void AuditLog::requeue(std::vector<AuditEntry> batch) {
    if (batch.empty()) return;
    std::lock_guard lock(queue_mutex_);
    queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
}

void AuditLog::run_group_commits() {
    std::unique_lock lock(queue_mutex_);
    while (true) {
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        // Let a group gather, unless the log is closing.
        queue_cv_.wait_for(lock, kGroupWindow, [&] { return stopping_; });
        lock.unlock();
        auto s = flush();
        lock.lock();
        if (!s.ok()) {
            // flush() put the group back in front. Never busy-loop; the destructor's flush
            // tries once more when closing.
            syslog(LOG_AUTHPRIV | LOG_ERR, "keyward: audit group commit failed, will retry: %s",
                   s.error().message().c_str());
            if (stopping_) return;
            queue_cv_.wait_for(lock, kGroupWindow * 4, [&] { return stopping_; });
        }
    }
}

Result<bool> AuditLog::reaches(const AuditCheckpoint& c) {
    if (c.seq == 0) return true;
    KW_TRY(auto rows, store_.audit_rows(c.seq, 1));
    if (!rows.empty() && rows.front().entry.seq == c.seq) return rows.front().hash == c.hash;
    // Archived past it: the anchor vouches for what was moved out, if the token says so.
    KW_TRY(auto anchor, store_.audit_anchor());
    if (!anchor || anchor->seq < c.seq) return false;
    return key_.verify(key_.anchor_message(anchor->seq, anchor->hash), anchor->mac,
                       anchor->key_version);
}

Result<bool> AuditLog::vouched(const AuditHead& head) {
    if (head.from == AuditHead::From::empty) return true;
    if (head.mac.empty()) return false;
    const MacMessage message = head.from == AuditHead::From::row
                                   ? key_.head_message(head.seq, head.hash)
                                   : key_.anchor_message(head.seq, head.hash);
    return key_.verify(message, head.mac, head.key_version);
}

Result<std::optional<std::string>> AuditLog::check_head() {
    std::lock_guard lock(commit_mutex_);
    KW_TRY(auto head, store_.audit_head());
    {
        KW_TRY(bool good, vouched(head));
        if (!good) {
            return std::optional<std::string>(
                "the audit log's last entry (" + std::to_string(head.seq) +
                ") carries no valid MAC from the token: entries were added or changed behind "
                "keyward's back (run keyward audit verify)");
        }
    }
    KW_TRY(auto latest, latest_checkpoint());
    if (latest) {
        KW_TRY(bool good, reaches(*latest));
        if (!good) {
            return std::optional<std::string>(
                "the audit log does not reach the token's checkpoint of " + latest->at +
                " (entry " + std::to_string(latest->seq) +
                "): an older or altered copy of the database (run keyward audit verify)");
        }
    }
    last_checkpoint_seq_ = latest ? latest->seq : 0;
    last_checkpoint_unix_ = latest ? unix_from_iso8601(latest->at).value_or(0) : 0;
    return std::optional<std::string>();
}

Status AuditLog::append_locked(const std::vector<AuditEntry>& batch) {
    if (batch.empty()) return ok_status();
    if (!last_checkpoint_seq_) {
        // The first append of this process: the chain must still reach the token's checkpoint,
        // or entries would be appended onto an older or cut database and a later checkpoint
        // would vouch for it.
        KW_TRY(auto latest, latest_checkpoint());
        if (latest) {
            KW_TRY(bool good, reaches(*latest));
            if (!good) {
                return Error(Errc::token_mismatch,
                             "the audit log does not reach the token's checkpoint of " +
                                 latest->at + " (entry " + std::to_string(latest->seq) +
                                 "): an older or altered copy of the database; nothing is "
                                 "appended to it (run keyward audit verify)");
            }
            last_checkpoint_seq_ = latest->seq;
            last_checkpoint_unix_ = unix_from_iso8601(latest->at).value_or(0);
        } else {
            last_checkpoint_seq_ = 0;
            last_checkpoint_unix_ = 0;
        }
    }
    std::uint64_t reached = 0;
    auto s = store_.append_audit([&](const AuditHead& head) -> Result<std::vector<AuditRow>> {
        // Only ever chain onto a head the token vouches for: entries added behind keyward's
        // back would otherwise be covered by this commit's MAC.
        {
            KW_TRY(bool good, vouched(head));
            if (!good) {
                return Error(Errc::token_mismatch,
                             "the audit log's last entry (" + std::to_string(head.seq) +
                                 ") carries no valid MAC from the token: entries were added or "
                                 "changed behind keyward's back; nothing is appended to it (run "
                                 "keyward audit verify)");
            }
        }
        std::vector<AuditRow> rows;
        rows.reserve(batch.size());
        Bytes prev = head.hash;
        std::uint64_t seq = head.seq;
        for (const auto& e : batch) {
            AuditRow row;
            row.entry = e;
            row.entry.seq = ++seq;
            row.prev_hash = prev;
            row.hash = chain_hash(seq, e, prev);
            prev = row.hash;
            rows.push_back(std::move(row));
        }
        KW_TRY(auto tag, key_.mac(key_.head_message(seq, rows.back().hash)));
        rows.back().mac = std::move(tag.first);
        rows.back().key_version = tag.second;
        reached = seq;
        return rows;
    });
    if (!s.ok()) return s.error().context("writing the audit log");
    last_committed_seq_ = reached;
    return ok_status();
}

Status AuditLog::checkpoint_after_commit_locked(bool administrative, const char* reason) {
    const auto now = unix_from_iso8601(utc_now_iso8601()).value_or(0);
    const bool due = administrative || !last_checkpoint_seq_ ||
                     last_committed_seq_ >= *last_checkpoint_seq_ + kCheckpointEveryEntries ||
                     now - last_checkpoint_unix_ >= kCheckpointEverySeconds;
    if (!due) return ok_status();
    auto c = checkpoint_locked(administrative ? reason : "periodic", true);
    if (!c.ok()) return c.error().context("writing the audit checkpoint into the token");
    return ok_status();
}

Result<std::optional<AuditCheckpoint>> AuditLog::latest_checkpoint() {
    KW_TRY(auto objects, hsm_.find_data_objects(kCheckpointApplication));
    std::optional<AuditCheckpoint> best;
    for (const auto& o : objects) {
        auto c = o.readable ? decode_checkpoint(o.value) : std::nullopt;
        if (!c || c->chain_id != key_.chain_id()) continue;
        if (!best || c->generation > best->generation ||
            (c->generation == best->generation && c->seq > best->seq)) {
            best = std::move(c);
        }
    }
    return best;
}

Status AuditLog::checkpoint(const std::string& reason) {
    std::lock_guard lock(commit_mutex_);
    // A new chain ("init") has nothing to follow; a restore replaces the database the last
    // checkpoint vouched for, on purpose, and says so.
    return checkpoint_locked(reason, reason != "init" && reason != "restore");
}

Status AuditLog::checkpoint_locked(const std::string& reason, bool must_follow) {
    KW_TRY(auto objects, hsm_.find_data_objects(kCheckpointApplication));
    std::uint64_t generation = 0;
    std::vector<std::pair<std::string, std::uint64_t>> ours;  // label, generation
    std::optional<AuditCheckpoint> latest;
    for (const auto& o : objects) {
        auto c = o.readable ? decode_checkpoint(o.value) : std::nullopt;
        if (!c || c->chain_id != key_.chain_id()) continue;
        generation = std::max(generation, c->generation);
        ours.emplace_back(o.label, c->generation);
        if (!latest || c->generation > latest->generation ||
            (c->generation == latest->generation && c->seq > latest->seq)) {
            latest = c;
        }
    }
    if (must_follow && latest) {
        KW_TRY(bool good, reaches(*latest));
        if (!good) {
            return Error(Errc::token_mismatch,
                         "the audit log no longer reaches the token's checkpoint of " + latest->at +
                             " (entry " + std::to_string(latest->seq) +
                             "): an older or altered copy of the database; no new checkpoint "
                             "is written over it (run keyward audit verify)");
        }
    }
    KW_TRY(auto head, store_.audit_head());
    AuditCheckpoint c;
    c.chain_id = key_.chain_id();
    c.generation = generation + 1;
    c.seq = head.seq;
    c.hash = std::move(head.hash);
    c.at = utc_now_iso8601();
    c.reason = reason;
    KW_TRY(auto tag, key_.mac(checkpoint_message(c)));
    c.mac = std::move(tag.first);
    c.key_version = tag.second;
    DataObject object;
    object.application = kCheckpointApplication;
    object.label = "keyward-audit:" + c.chain_id + ":" + std::to_string(c.generation);
    object.value = encode_checkpoint(c);
    KW_TRY_STATUS(hsm_.create_data_object(object));
    // The new one reads back (create_data_object found it again): the older ones can go.
    for (const auto& [label, gen] : ours) {
        if (gen < c.generation && label != object.label) {
            KW_TRY_STATUS(hsm_.destroy_data_object(kCheckpointApplication, label));
        }
    }
    last_checkpoint_seq_ = c.seq;
    last_checkpoint_unix_ = unix_from_iso8601(c.at).value_or(0);
    return ok_status();
}

Result<std::vector<AuditEntry>> AuditLog::list(const AuditQuery& query) {
    KW_TRY_STATUS(flush());
    KW_TRY(auto rows, store_.query_audit(query));
    std::vector<AuditEntry> out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        r.entry.prev_hash = to_hex(r.prev_hash);
        r.entry.hash = to_hex(r.hash);
        r.entry.head = !r.mac.empty();
        out.push_back(std::move(r.entry));
    }
    return out;
}

}  // namespace keyward::core
