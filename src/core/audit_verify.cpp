// SPDX-License-Identifier: Apache-2.0
// Verifying the audit chain against the token, and archiving its old entries (docs/AUDIT.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/audit_log.hpp"
#include "core/clock.hpp"
#include "core/flat_json.hpp"
#include "keyward/json.hpp"

namespace keyward::core {

namespace {

constexpr std::size_t kPage = 5000;

// Walks rows in seq order, checking links, hashes and head MACs. Shared by the live log and
// archive files.
class ChainWalker {
  public:
    ChainWalker(AuditKey& key, AuditVerifyReport& report, std::uint64_t start_seq, Bytes start_hash)
        : key_(key), report_(report), expected_(start_seq + 1), prev_(std::move(start_hash)) {
        report_.first_seq = expected_;
    }

    // false once a problem is found (report_.problem says which).
    Result<bool> step(const AuditRow& row) {
        const auto seq = row.entry.seq;
        if (seq != expected_) {
            return fail(seq < expected_ ? seq : expected_,
                        seq < expected_
                            ? "entry " + std::to_string(seq) + " is out of order or repeated"
                            : "entry " + std::to_string(expected_) +
                                  " is missing (deleted, or later entries renumbered)");
        }
        if (row.prev_hash != prev_) {
            return fail(seq, "entry " + std::to_string(seq) + " does not follow entry " +
                                 std::to_string(seq - 1) +
                                 " (an entry was inserted, deleted or reordered there)");
        }
        if (chain_hash(seq, row.entry, row.prev_hash) != row.hash) {
            return fail(seq, "entry " + std::to_string(seq) + " was altered after it was written");
        }
        if (!row.mac.empty()) {
            KW_TRY(bool good,
                   key_.verify(key_.head_message(seq, row.hash), row.mac, row.key_version));
            if (!good) {
                return fail(seq, "the token's MAC of entry " + std::to_string(seq) +
                                     " does not verify: entries " + std::to_string(last_mac_ + 1) +
                                     ".." + std::to_string(seq) +
                                     " were rewritten behind keyward's back");
            }
            ++report_.macs_checked;
            last_mac_ = seq;
        }
        hashes_at_checkpoint(row);
        prev_ = row.hash;
        report_.last_seq = seq;
        ++report_.entries;
        ++expected_;
        return true;
    }

    /// The last entry must be a MAC'd head: anything after the last MAC was not written by
    /// keyward.
    bool finish() {
        if (report_.entries > 0 && last_mac_ != report_.last_seq) {
            fail(last_mac_ + 1, "entries " + std::to_string(last_mac_ + 1) + ".." +
                                    std::to_string(report_.last_seq) +
                                    " carry no MAC from the token (added behind keyward's back)");
            return false;
        }
        return true;
    }

    void watch(std::uint64_t seq) { watched_ = seq; }
    const std::optional<Bytes>& watched_hash() const { return watched_hash_; }
    const Bytes& last_hash() const { return prev_; }
    std::uint64_t last_mac() const { return last_mac_; }

  private:
    bool fail(std::uint64_t seq, std::string why) {
        report_.bad_seq = seq;
        report_.problem = std::move(why);
        return false;
    }
    void hashes_at_checkpoint(const AuditRow& row) {
        if (watched_ && row.entry.seq == *watched_) watched_hash_ = row.hash;
    }

    AuditKey& key_;
    AuditVerifyReport& report_;
    std::uint64_t expected_;
    Bytes prev_;
    std::uint64_t last_mac_ = 0;
    std::optional<std::uint64_t> watched_;
    std::optional<Bytes> watched_hash_;
};

void write_row_json(Json& j, const AuditRow& r) {
    const auto& e = r.entry;
    j.begin_object()
        .field("seq", e.seq)
        .field("at", e.at)
        .field("principal", e.principal)
        .field("actor", e.actor)
        .field("operation", e.operation)
        .field("target", e.target)
        .field("outcome", e.outcome)
        .field("error", e.error)
        .field("detail", e.detail)
        .field("client_address", e.client_address)
        .field("user_agent", e.user_agent)
        .field("request_id", e.request_id)
        .field("reason", e.reason)
        .field("prev_hash", to_hex(r.prev_hash))
        .field("hash", to_hex(r.hash))
        .field("mac", to_hex(r.mac))
        .field("key_version", r.key_version)
        .end_object();
}

void write_anchor_json(Json& j, const AuditAnchor& a) {
    j.begin_object()
        .field("seq", a.seq)
        .field("hash", to_hex(a.hash))
        .field("mac", to_hex(a.mac))
        .field("key_version", a.key_version)
        .end_object();
}

std::optional<AuditAnchor> anchor_from(const std::map<std::string, std::string>& m) {
    auto get = [&](const char* k) -> std::optional<std::string> {
        auto it = m.find(k);
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
    auto seq = get("seq"), hash = get("hash"), mac = get("mac"), kv = get("key_version");
    if (!seq || !hash || !mac || !kv) return std::nullopt;
    AuditAnchor a;
    try {
        a.seq = std::stoull(*seq);
        a.key_version = static_cast<std::uint32_t>(std::stoul(*kv));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    auto h = parse_hex(*hash), t = parse_hex(*mac);
    if (!h || !t) return std::nullopt;
    a.hash = std::move(*h);
    a.mac = std::move(*t);
    return a;
}

std::optional<AuditRow> row_from(const FlatJson& j) {
    const auto& v = j.values;
    static constexpr const char* kKeys[] = {
        "seq",   "at",     "principal",      "actor",      "operation",  "target", "outcome",
        "error", "detail", "client_address", "user_agent", "request_id", "reason", "prev_hash",
        "hash",  "mac",    "key_version"};
    if (v.size() != std::size(kKeys) || !j.objects.empty()) return std::nullopt;
    for (const char* k : kKeys) {
        if (!v.count(k)) return std::nullopt;
    }
    AuditRow r;
    try {
        r.entry.seq = std::stoull(v.at("seq"));
        r.key_version = static_cast<std::uint32_t>(std::stoul(v.at("key_version")));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    r.entry.at = v.at("at");
    r.entry.principal = v.at("principal");
    r.entry.actor = v.at("actor");
    r.entry.operation = v.at("operation");
    r.entry.target = v.at("target");
    r.entry.outcome = v.at("outcome");
    r.entry.error = v.at("error");
    r.entry.detail = v.at("detail");
    r.entry.client_address = v.at("client_address");
    r.entry.user_agent = v.at("user_agent");
    r.entry.request_id = v.at("request_id");
    r.entry.reason = v.at("reason");
    auto p = parse_hex(v.at("prev_hash")), h = parse_hex(v.at("hash")), m = parse_hex(v.at("mac"));
    if (!p || !h || !m) return std::nullopt;
    r.prev_hash = std::move(*p);
    r.hash = std::move(*h);
    r.mac = std::move(*m);
    return r;
}

Status write_all(int fd, std::string_view text, const std::string& path) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return Error(Errc::io_error,
                         "cannot write " + path + ": " + std::strerror(n < 0 ? errno : EIO));
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_status();
}

}  // namespace

Result<AuditVerifyReport> AuditLog::verify() {
    KW_TRY_STATUS(flush());
    AuditVerifyReport report;
    KW_TRY(auto anchor, store_.audit_anchor());
    std::uint64_t start = 0;
    Bytes start_hash(32, 0);
    if (anchor) {
        KW_TRY(bool good, key_.verify(key_.anchor_message(anchor->seq, anchor->hash), anchor->mac,
                                      anchor->key_version));
        if (!good) {
            report.problem = "the archive anchor (entry " + std::to_string(anchor->seq) +
                             ") does not verify in the token: it was altered";
            report.bad_seq = anchor->seq;
            return report;
        }
        start = anchor->seq;
        start_hash = anchor->hash;
    }
    KW_TRY(auto checkpoint, latest_checkpoint());
    if (checkpoint) {
        report.checkpoint_seq = checkpoint->seq;
        report.checkpoint_at = checkpoint->at;
        report.checkpoint_reason = checkpoint->reason;
        KW_TRY(bool good, key_.verify(checkpoint_message(*checkpoint), checkpoint->mac,
                                      checkpoint->key_version));
        if (!good) {
            report.problem = "the token's checkpoint does not verify";
            return report;
        }
    }
    ChainWalker walker(key_, report, start, start_hash);
    if (checkpoint) walker.watch(checkpoint->seq);
    std::uint64_t from = start + 1;
    // The first kept row may be anywhere if rows before it were deleted: read from the lowest.
    from = 0;
    while (true) {
        KW_TRY(auto rows, store_.audit_rows(from, kPage));
        for (const auto& row : rows) {
            KW_TRY(bool good, walker.step(row));
            if (!good) return report;
        }
        if (rows.size() < kPage) break;
        from = rows.back().entry.seq + 1;
    }
    if (!walker.finish()) return report;
    if (!checkpoint) {
        report.problem = "the token holds no checkpoint of this audit chain (" + key_.chain_id() +
                         "): the chain cannot be vouched for";
        return report;
    }
    const std::uint64_t last = report.entries > 0 ? report.last_seq : start;
    if (checkpoint->seq > last) {
        report.bad_seq = last + 1;
        report.problem = "the log ends at entry " + std::to_string(last) +
                         " but the token's checkpoint of " + checkpoint->at + " vouches for " +
                         std::to_string(checkpoint->seq) + ": entries " + std::to_string(last + 1) +
                         ".." + std::to_string(checkpoint->seq) +
                         " were removed, or an older copy of the database was put back";
        return report;
    }
    if (checkpoint->seq > start) {
        if (!walker.watched_hash() || *walker.watched_hash() != checkpoint->hash) {
            report.bad_seq = checkpoint->seq;
            report.problem = "entry " + std::to_string(checkpoint->seq) +
                             " is not the one the token's checkpoint of " + checkpoint->at +
                             " vouches for: an older or altered copy of the database";
            return report;
        }
    } else if (checkpoint->seq == start && anchor && checkpoint->hash != start_hash) {
        report.problem = "the archive anchor is not the entry the token's checkpoint vouches for";
        return report;
    }
    report.ok = true;
    return report;
}

Result<AuditArchiveReport> AuditLog::archive(const std::string& before,
                                             const std::filesystem::path& out) {
    KW_TRY(auto check, verify());
    if (!check.ok) {
        return Error(Errc::failed,
                     "the audit log does not verify, so it is not archived: " + check.problem);
    }
    KW_TRY(auto anchor, store_.audit_anchor());
    std::vector<AuditRow> moving;
    std::uint64_t from = 0;
    bool stop = false;
    while (!stop) {
        KW_TRY(auto rows, store_.audit_rows(from, kPage));
        for (auto& r : rows) {
            if (r.entry.at >= before) {
                stop = true;
                break;
            }
            moving.push_back(std::move(r));
        }
        if (rows.size() < kPage) break;
        from = moving.empty() ? 0 : moving.back().entry.seq + 1;
    }
    AuditArchiveReport report;
    report.path = out.string();
    if (moving.empty()) return report;
    // Keep at least the chain's last entry: the checkpoint and the next commit link to it.
    KW_TRY(auto head, store_.audit_head());
    if (moving.back().entry.seq == head.seq) moving.pop_back();
    if (moving.empty()) return report;

    AuditAnchor next;
    next.seq = moving.back().entry.seq;
    next.hash = moving.back().hash;
    KW_TRY(auto tag, key_.mac(key_.anchor_message(next.seq, next.hash)));
    next.mac = std::move(tag.first);
    next.key_version = tag.second;

    Json header;
    header.begin_object().field("keyward_audit_archive", 1).field("chain", key_.chain_id());
    header.key("previous_anchor");
    if (anchor) {
        write_anchor_json(header, *anchor);
    } else {
        header.null();
    }
    header.end_object();
    std::string text(header.str());
    text += "\n";
    for (const auto& r : moving) {
        Json j;
        write_row_json(j, r);
        text.append(j.str());
        text += "\n";
    }
    Json footer;
    footer.begin_object().key("anchor");
    write_anchor_json(footer, next);
    footer.end_object();
    text.append(footer.str());
    text += "\n";

    // Written whole under a temporary name, then linked to `out` (never replacing a file), so
    // `out` is either absent or complete; only then do the entries leave the database.
    // Named per process, so a crash leaves nothing in the way of the next attempt.
    const std::string partial = out.string() + ".partial-" + std::to_string(::getpid());
    ::unlink(partial.c_str());
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Error(errno == EEXIST ? Errc::already_exists : Errc::io_error,
                     "cannot create " + partial + ": " + std::strerror(errno));
    }
    auto w = write_all(fd, text, partial);
    if (w.ok() && ::fsync(fd) != 0) w = Error(Errc::io_error, "cannot sync " + partial);
    ::close(fd);
    if (w.ok() && ::link(partial.c_str(), out.c_str()) != 0) {
        w = Error(errno == EEXIST ? Errc::already_exists : Errc::io_error,
                  "cannot create " + out.string() + ": " + std::strerror(errno));
    }
    ::unlink(partial.c_str());
    if (!w.ok()) return w.error();
    const auto dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    KW_TRY_STATUS(store_.archive_audit(next));
    report.entries = moving.size();
    report.first_seq = moving.front().entry.seq;
    report.last_seq = moving.back().entry.seq;
    return report;
}

Result<AuditVerifyReport> AuditLog::verify_archive(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return Error(Errc::not_found, "cannot read " + path.string());
    AuditVerifyReport report;
    std::string line;
    auto damaged = [&](const std::string& why) {
        report.problem = path.string() + ": " + why;
        return report;
    };
    if (!std::getline(in, line)) return damaged("empty file");
    auto header = parse_flat_json(line);
    if (!header || !header->values.count("keyward_audit_archive") ||
        header->values.at("keyward_audit_archive") != "1" || !header->values.count("chain")) {
        return damaged("line 1 is not a keyward audit archive header");
    }
    if (header->values.at("chain") != key_.chain_id()) {
        return damaged("the archive is of audit chain " + header->values.at("chain") +
                       ", not this database's (" + key_.chain_id() + ")");
    }
    std::uint64_t start = 0;
    Bytes start_hash(32, 0);
    if (auto it = header->objects.find("previous_anchor"); it != header->objects.end()) {
        auto a = anchor_from(it->second);
        if (!a) return damaged("line 1: unreadable previous anchor");
        KW_TRY(bool good,
               key_.verify(key_.anchor_message(a->seq, a->hash), a->mac, a->key_version));
        if (!good) return damaged("line 1: the previous anchor does not verify in the token");
        start = a->seq;
        start_hash = a->hash;
    }
    ChainWalker walker(key_, report, start, start_hash);
    std::optional<AuditAnchor> end;
    std::size_t n = 1;
    while (std::getline(in, line)) {
        ++n;
        if (end) return damaged("line " + std::to_string(n) + ": text after the closing anchor");
        auto j = parse_flat_json(line);
        if (!j) return damaged("line " + std::to_string(n) + " is not an archive line");
        if (auto it = j->objects.find("anchor"); it != j->objects.end() && j->values.empty()) {
            end = anchor_from(it->second);
            if (!end) return damaged("line " + std::to_string(n) + ": unreadable anchor");
            continue;
        }
        auto row = row_from(*j);
        if (!row) return damaged("line " + std::to_string(n) + " is not an audit entry");
        KW_TRY(bool good, walker.step(*row));
        if (!good) return report;
    }
    if (!end) return damaged("no closing anchor: the file was cut short");
    KW_TRY(bool good,
           key_.verify(key_.anchor_message(end->seq, end->hash), end->mac, end->key_version));
    if (!good || end->seq != report.last_seq || end->hash != walker.last_hash()) {
        return damaged("the closing anchor does not match the last entry or does not verify");
    }
    report.ok = true;
    return report;
}

Result<std::string> AuditLog::quick_check() {
    KW_TRY_STATUS(flush());
    KW_TRY(auto head, store_.audit_head());
    KW_TRY(auto checkpoint, latest_checkpoint());
    if (!checkpoint) return std::string("the token holds no checkpoint of this audit chain");
    if (checkpoint->seq > head.seq) {
        return "the log ends at entry " + std::to_string(head.seq) +
               " but the token's checkpoint vouches for " + std::to_string(checkpoint->seq) +
               " (entries removed, or an older database put back): run keyward audit verify";
    }
    KW_TRY(auto rows, store_.audit_rows(checkpoint->seq, 1));
    if (checkpoint->seq > 0 && (rows.empty() || rows.front().entry.seq != checkpoint->seq ||
                                rows.front().hash != checkpoint->hash)) {
        KW_TRY(auto anchor, store_.audit_anchor());
        if (!anchor || anchor->seq < checkpoint->seq) {
            return "entry " + std::to_string(checkpoint->seq) +
                   " is not the one the token's checkpoint vouches for: run keyward audit verify";
        }
    }
    KW_TRY(auto last, store_.audit_rows(head.seq, 1));
    if (!last.empty()) {
        const auto& r = last.front();
        bool good = false;
        if (!r.mac.empty()) {
            KW_TRY(good, key_.verify(key_.head_message(r.entry.seq, r.hash), r.mac, r.key_version));
        }
        if (!good) {
            return "the last entry (" + std::to_string(r.entry.seq) +
                   ") carries no valid MAC from the token: run keyward audit verify";
        }
    }
    return std::string("ok");
}

}  // namespace keyward::core
