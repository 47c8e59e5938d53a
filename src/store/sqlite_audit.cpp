// SPDX-License-Identifier: Apache-2.0
// SQLite implementation of the audit and access part of core::Store (core/audit_store.hpp).
#include "store/sqlite_store.hpp"

namespace keyward::store {

namespace {

constexpr std::string_view kAuditColumns =
    "SELECT seq, at, principal, actor, operation, target, outcome, error, detail, "
    "client_address, user_agent, request_id, reason, prev_hash, hash, mac, key_version "
    "FROM audit_log ";
constexpr std::string_view kGrantColumns =
    "SELECT id, principal, role, scope, created_at, created_by, expires_at, break_glass, "
    "reason, key_version, mac FROM grants ";
constexpr std::string_view kProposalColumns =
    "SELECT id, operation, target, reason, proposed_by, proposed_at, expires_at, state, "
    "approved_by, approved_at, key_version, mac FROM proposals ";

core::AuditRow read_audit_row(const Statement& s) {
    core::AuditRow r;
    auto& e = r.entry;
    e.seq = s.column_u64(0);
    e.at = s.column_text(1);
    e.principal = s.column_text(2);
    e.actor = s.column_text(3);
    e.operation = s.column_text(4);
    e.target = s.column_text(5);
    e.outcome = s.column_text(6);
    e.error = s.column_text(7);
    e.detail = s.column_text(8);
    e.client_address = s.column_text(9);
    e.user_agent = s.column_text(10);
    e.request_id = s.column_text(11);
    e.reason = s.column_text(12);
    r.prev_hash = s.column_blob(13);
    r.hash = s.column_blob(14);
    if (!s.column_is_null(15)) r.mac = s.column_blob(15);
    r.key_version = s.column_u32(16);
    return r;
}

// A row whose role is not a role keyward knows reads as a reader grant whose MAC cannot
// verify (the MAC covers the role's name): it is listed as invalid, never honoured.
core::GrantRow read_grant_row(const Statement& s) {
    core::GrantRow r;
    auto& g = r.grant;
    g.id = s.column_text(0);
    g.principal = s.column_text(1);
    const std::string role = s.column_text(2);
    g.role = parse_role(role).value_or(Role::reader);
    g.scope = s.column_text(3);
    g.created_at = s.column_text(4);
    g.created_by = s.column_text(5);
    g.expires_at = s.column_text(6);
    g.break_glass = s.column_int(7) != 0;
    g.reason = s.column_text(8);
    r.key_version = s.column_u32(9);
    r.mac = s.column_blob(10);
    if (!parse_role(role)) r.mac.clear();
    return r;
}

core::ProposalRow read_proposal_row(const Statement& s) {
    core::ProposalRow r;
    auto& p = r.proposal;
    p.id = s.column_text(0);
    const std::string op = s.column_text(1);
    p.operation = parse_guarded_operation(op).value_or(GuardedOperation::retire);
    p.target = s.column_text(2);
    p.reason = s.column_text(3);
    p.proposed_by = s.column_text(4);
    p.proposed_at = s.column_text(5);
    p.expires_at = s.column_text(6);
    p.state = s.column_text(7);
    p.approved_by = s.column_text(8);
    p.approved_at = s.column_text(9);
    r.key_version = s.column_u32(10);
    r.mac = s.column_blob(11);
    if (!parse_guarded_operation(op)) r.mac.clear();
    return r;
}

std::string anchor_text(const core::AuditAnchor& a) {
    return std::to_string(a.seq) + ":" + to_hex(a.hash) + ":" + to_hex(a.mac) + ":" +
           std::to_string(a.key_version);
}

std::optional<core::AuditAnchor> parse_anchor(const std::string& text) {
    core::AuditAnchor a;
    auto c1 = text.find(':');
    auto c2 = text.find(':', c1 == std::string::npos ? c1 : c1 + 1);
    auto c3 = text.find(':', c2 == std::string::npos ? c2 : c2 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos || c3 == std::string::npos) {
        return std::nullopt;
    }
    try {
        a.seq = std::stoull(text.substr(0, c1));
        a.key_version = static_cast<std::uint32_t>(std::stoul(text.substr(c3 + 1)));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    auto h = parse_hex(std::string_view(text).substr(c1 + 1, c2 - c1 - 1));
    auto m = parse_hex(std::string_view(text).substr(c2 + 1, c3 - c2 - 1));
    if (!h || !m) return std::nullopt;
    a.hash = std::move(*h);
    a.mac = std::move(*m);
    return a;
}

}  // namespace

Status SqliteStore::insert_audit_row(const core::AuditRow& r) {
    KW_TRY(auto s, cached("INSERT INTO audit_log(seq, at, principal, actor, operation, target, "
                          "outcome, error, detail, client_address, user_agent, request_id, reason, "
                          "prev_hash, hash, mac, key_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"));
    const auto& e = r.entry;
    s->bind(1, static_cast<std::int64_t>(e.seq))
        .bind(2, e.at)
        .bind(3, e.principal)
        .bind(4, e.actor)
        .bind(5, e.operation)
        .bind(6, e.target)
        .bind(7, e.outcome)
        .bind(8, e.error)
        .bind(9, e.detail)
        .bind(10, e.client_address)
        .bind(11, e.user_agent)
        .bind(12, e.request_id)
        .bind(13, e.reason)
        .bind(14, ByteView(r.prev_hash))
        .bind(15, ByteView(r.hash));
    if (r.mac.empty()) {
        s->bind_null(16);
    } else {
        s->bind(16, ByteView(r.mac));
    }
    s->bind(17, static_cast<std::int64_t>(r.key_version));
    return s->run();
}

Status SqliteStore::insert_grant_row(const core::GrantRow& r) {
    const auto& g = r.grant;
    KW_TRY(auto del,
           cached("DELETE FROM grants WHERE principal = ?1 AND role = ?2 AND scope = ?3"));
    del->bind(1, g.principal).bind(2, role_name(g.role)).bind(3, g.scope);
    KW_TRY_STATUS(del->run());
    KW_TRY(auto s, cached("INSERT INTO grants(id, principal, role, scope, created_at, created_by, "
                          "expires_at, break_glass, reason, key_version, mac) VALUES (?1, ?2, ?3, "
                          "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    s->bind(1, g.id)
        .bind(2, g.principal)
        .bind(3, role_name(g.role))
        .bind(4, g.scope)
        .bind(5, g.created_at)
        .bind(6, g.created_by)
        .bind(7, g.expires_at)
        .bind(8, static_cast<std::int64_t>(g.break_glass ? 1 : 0))
        .bind(9, g.reason)
        .bind(10, static_cast<std::int64_t>(r.key_version))
        .bind(11, ByteView(r.mac));
    return s->run();
}

Result<std::optional<core::AuditAnchor>> SqliteStore::anchor_locked() {
    KW_TRY(auto s, cached("SELECT value FROM meta WHERE key = 'audit_anchor'"));
    KW_TRY(bool row, s->step());
    if (!row) return std::optional<core::AuditAnchor>{};
    auto a = parse_anchor(s->column_text(0));
    if (!a) {
        // Unreadable: a verify must fail rather than start the chain afresh.
        core::AuditAnchor bad;
        bad.seq = 0;
        return std::optional<core::AuditAnchor>{bad};
    }
    return a;
}

Result<core::AuditHead> SqliteStore::head_locked() {
    core::AuditHead head;
    KW_TRY(auto s, cached("SELECT seq, hash, mac, key_version FROM audit_log ORDER BY seq DESC "
                          "LIMIT 1"));
    KW_TRY(bool row, s->step());
    if (row) {
        head.from = core::AuditHead::From::row;
        head.seq = s->column_u64(0);
        head.hash = s->column_blob(1);
        if (!s->column_is_null(2)) head.mac = s->column_blob(2);
        head.key_version = s->column_u32(3);
        return head;
    }
    KW_TRY(auto anchor, anchor_locked());
    if (anchor) {
        head.from = core::AuditHead::From::anchor;
        head.seq = anchor->seq;
        head.hash = anchor->hash;
        head.mac = anchor->mac;
        head.key_version = anchor->key_version;
        return head;
    }
    head.hash = Bytes(32, 0);
    return head;
}

Result<std::pair<std::string, bool>> SqliteStore::setup_audit(
    const std::function<Result<core::AuditSetup>()>& make) {
    std::lock_guard lock(mutex_);
    auto existing = [&]() -> Result<std::optional<std::string>> {
        KW_TRY(auto s, cached("SELECT value FROM meta WHERE key = 'audit_chain_id'"));
        KW_TRY(bool row, s->step());
        if (!row) return std::optional<std::string>{};
        return std::optional<std::string>{s->column_text(0)};
    };
    {
        KW_TRY(auto id, existing());
        if (id) return std::pair<std::string, bool>(*id, false);
    }
    KW_TRY(auto tx, Transaction::begin(db_));
    // Another process may have set it up while this one waited for the lock.
    KW_TRY(auto id, existing());
    if (id) return std::pair<std::string, bool>(*id, false);
    // Rows without a chain id: the id was deleted behind keyward's back. Starting a new chain
    // here would throw the log away; refuse instead.
    {
        KW_TRY(auto count, db_.prepare("SELECT (SELECT count(*) FROM audit_log) + "
                                       "(SELECT count(*) FROM grants)"));
        KW_TRY(bool row, count.step());
        if (row && count.column_int(0) > 0) {
            return Error(Errc::token_mismatch,
                         "the database holds audit entries or grants but no audit chain id: it "
                         "was edited behind keyward's back; restore a backup (keyward restore)");
        }
    }
    KW_TRY(auto setup, make());
    KW_TRY(auto meta, db_.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    KW_TRY_STATUS(meta.bind(1, std::string_view("audit_chain_id")).bind(2, setup.chain_id).run());
    meta.reset();
    KW_TRY_STATUS(meta.bind(1, std::string_view("audit_key_version"))
                      .bind(2, std::to_string(setup.key_version))
                      .run());
    KW_TRY_STATUS(db_.exec("DELETE FROM meta WHERE key = 'audit_anchor'"));
    for (const auto& g : setup.grants) KW_TRY_STATUS(insert_grant_row(g));
    for (const auto& r : setup.rows) KW_TRY_STATUS(insert_audit_row(r));
    KW_TRY_STATUS(tx.commit());
    return std::pair<std::string, bool>(setup.chain_id, true);
}

Status SqliteStore::append_audit(
    const std::function<Result<std::vector<core::AuditRow>>(const core::AuditHead&)>& build) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto head, head_locked());
    KW_TRY(auto rows, build(head));
    for (const auto& r : rows) KW_TRY_STATUS(insert_audit_row(r));
    return tx.commit();
}

Result<core::AuditHead> SqliteStore::audit_head() {
    std::lock_guard lock(mutex_);
    return head_locked();
}

Result<std::vector<core::AuditRow>> SqliteStore::audit_rows(std::uint64_t from_seq,
                                                            std::size_t limit) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kAuditColumns) + "WHERE seq >= ?1 ORDER BY seq LIMIT ?2"));
    s->bind(1, static_cast<std::int64_t>(from_seq)).bind(2, static_cast<std::int64_t>(limit));
    std::vector<core::AuditRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(read_audit_row(*s));
    }
    return out;
}

Result<std::vector<core::AuditRow>> SqliteStore::query_audit(const AuditQuery& q) {
    std::lock_guard lock(mutex_);
    // Each filter is "?N = '' OR column matches", so one statement serves every combination.
    KW_TRY(auto s, cached(std::string(kAuditColumns) +
                          "WHERE (?1 = '' OR at >= ?1) AND (?2 = '' OR at <= ?2) "
                          "AND (?3 = '' OR principal = ?3) AND (?4 = '' OR operation = ?4) "
                          "AND (?5 = '' OR target = ?5 OR substr(target, 1, length(?5) + 1) "
                          "     IN (?5 || '#', ?5 || '/')) "
                          "AND (?6 = '' OR outcome = ?6) ORDER BY seq LIMIT ?7"));
    s->bind(1, q.since)
        .bind(2, q.until)
        .bind(3, q.principal)
        .bind(4, q.operation)
        .bind(5, q.target)
        .bind(6, q.outcome)
        .bind(7, q.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(q.limit));
    std::vector<core::AuditRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(read_audit_row(*s));
    }
    return out;
}

Result<std::optional<core::AuditAnchor>> SqliteStore::audit_anchor() {
    std::lock_guard lock(mutex_);
    return anchor_locked();
}

Status SqliteStore::archive_audit(const core::AuditAnchor& anchor) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("SELECT hash FROM audit_log WHERE seq = ?1"));
    s.bind(1, static_cast<std::int64_t>(anchor.seq));
    KW_TRY(bool row, s.step());
    if (!row || s.column_blob(0) != anchor.hash) {
        return Error(Errc::conflict, "the audit log changed while it was being archived; retry");
    }
    KW_TRY(auto del, db_.prepare("DELETE FROM audit_log WHERE seq <= ?1"));
    KW_TRY_STATUS(del.bind(1, static_cast<std::int64_t>(anchor.seq)).run());
    KW_TRY(auto meta, db_.prepare("INSERT INTO meta(key, value) VALUES ('audit_anchor', ?1) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    KW_TRY_STATUS(meta.bind(1, anchor_text(anchor)).run());
    return tx.commit();
}

Status SqliteStore::put_grant(const core::GrantRow& row) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY_STATUS(insert_grant_row(row));
    return tx.commit();
}

Result<std::size_t> SqliteStore::delete_grants(const std::string& principal, Role role,
                                               const std::string& scope) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto s, db_.prepare("DELETE FROM grants WHERE principal = ?1 AND role = ?2 AND "
                               "scope = ?3"));
    KW_TRY_STATUS(s.bind(1, principal).bind(2, role_name(role)).bind(3, scope).run());
    const auto n = static_cast<std::size_t>(db_.changes());
    KW_TRY_STATUS(tx.commit());
    return n;
}

Result<std::vector<core::GrantRow>> SqliteStore::grants(const std::string& principal) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, cached(std::string(kGrantColumns) +
                          "WHERE ?1 = '' OR principal = ?1 ORDER BY principal, scope, role"));
    s->bind(1, principal);
    std::vector<core::GrantRow> out;
    for (;;) {
        KW_TRY(bool row, s->step());
        if (!row) break;
        out.push_back(read_grant_row(*s));
    }
    return out;
}

Status SqliteStore::remac_access_rows(const std::vector<core::GrantRow>& grants,
                                      const std::vector<core::ProposalRow>& proposals,
                                      const std::vector<core::ServiceTokenRow>& tokens,
                                      std::uint32_t key_version) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    KW_TRY(auto g, db_.prepare("UPDATE grants SET mac = ?2, key_version = ?3 WHERE id = ?1"));
    for (const auto& r : grants) {
        KW_TRY_STATUS(g.bind(1, r.grant.id)
                          .bind(2, ByteView(r.mac))
                          .bind(3, static_cast<std::int64_t>(key_version))
                          .run());
        g.reset();
    }
    KW_TRY(auto p, db_.prepare("UPDATE proposals SET mac = ?2, key_version = ?3 WHERE id = ?1"));
    for (const auto& r : proposals) {
        KW_TRY_STATUS(p.bind(1, r.proposal.id)
                          .bind(2, ByteView(r.mac))
                          .bind(3, static_cast<std::int64_t>(key_version))
                          .run());
        p.reset();
    }
    KW_TRY(auto t,
           db_.prepare("UPDATE service_tokens SET mac = ?2, key_version = ?3 WHERE id = ?1"));
    for (const auto& r : tokens) {
        KW_TRY_STATUS(t.bind(1, r.info.id)
                          .bind(2, ByteView(r.mac))
                          .bind(3, static_cast<std::int64_t>(key_version))
                          .run());
        t.reset();
    }
    KW_TRY(auto m, db_.prepare("UPDATE meta SET value = ?1 WHERE key = 'audit_key_version'"));
    KW_TRY_STATUS(m.bind(1, std::to_string(key_version)).run());
    return tx.commit();
}

Status SqliteStore::insert_proposal(const core::ProposalRow& r) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    const auto& p = r.proposal;
    KW_TRY(auto s, db_.prepare("INSERT INTO proposals(id, operation, target, reason, proposed_by, "
                               "proposed_at, expires_at, state, approved_by, approved_at, "
                               "key_version, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                               "?10, ?11, ?12)"));
    s.bind(1, p.id)
        .bind(2, guarded_operation_name(p.operation))
        .bind(3, p.target)
        .bind(4, p.reason)
        .bind(5, p.proposed_by)
        .bind(6, p.proposed_at)
        .bind(7, p.expires_at)
        .bind(8, p.state)
        .bind(9, p.approved_by)
        .bind(10, p.approved_at)
        .bind(11, static_cast<std::int64_t>(r.key_version))
        .bind(12, ByteView(r.mac));
    KW_TRY_STATUS(s.run());
    return tx.commit();
}

Result<std::optional<core::ProposalRow>> SqliteStore::find_proposal(const std::string& id) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kProposalColumns) + "WHERE id = ?1"));
    s.bind(1, id);
    KW_TRY(bool row, s.step());
    if (!row) return std::optional<core::ProposalRow>{};
    return std::optional<core::ProposalRow>{read_proposal_row(s)};
}

Result<std::vector<core::ProposalRow>> SqliteStore::proposals() {
    std::lock_guard lock(mutex_);
    KW_TRY(auto s, db_.prepare(std::string(kProposalColumns) + "ORDER BY proposed_at, id"));
    std::vector<core::ProposalRow> out;
    for (;;) {
        KW_TRY(bool row, s.step());
        if (!row) break;
        out.push_back(read_proposal_row(s));
    }
    return out;
}

Status SqliteStore::update_proposal(const core::ProposalRow& r, const std::string& from_state) {
    std::lock_guard lock(mutex_);
    KW_TRY(auto tx, Transaction::begin(db_));
    const auto& p = r.proposal;
    KW_TRY(auto s, db_.prepare("UPDATE proposals SET state = ?2, approved_by = ?3, "
                               "approved_at = ?4, key_version = ?5, mac = ?6 "
                               "WHERE id = ?1 AND state = ?7"));
    s.bind(1, p.id)
        .bind(2, p.state)
        .bind(3, p.approved_by)
        .bind(4, p.approved_at)
        .bind(5, static_cast<std::int64_t>(r.key_version))
        .bind(6, ByteView(r.mac))
        .bind(7, from_state);
    KW_TRY_STATUS(s.run());
    if (db_.changes() != 1) {
        return Error(Errc::conflict, "proposal " + p.id + " is no longer " + from_state);
    }
    return tx.commit();
}

}  // namespace keyward::store
