// SPDX-License-Identifier: Apache-2.0
// The audit key, its one-time setup, and the messages it MACs (see audit_key.hpp).
#include "core/audit_key.hpp"

#include "core/clock.hpp"
#include "core/kek_spec.hpp"
#include "crypto/random.hpp"
#include "crypto/sha256.hpp"

namespace keyward::core {

namespace {

constexpr std::size_t kZeroHashSize = 32;

void put_u32(Bytes& out, std::uint32_t n) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(n >> shift));
}

Result<std::string> random_hex(std::size_t bytes) {
    Bytes b(bytes);
    KW_TRY_STATUS(crypto::random_bytes(b));
    return to_hex(b);
}

}  // namespace

MacMessage::MacMessage(std::string_view domain) {
    field(domain);
}

MacMessage& MacMessage::field(std::string_view text) {
    return field(as_bytes(text));
}

MacMessage& MacMessage::field(ByteView bytes) {
    put_u32(bytes_, static_cast<std::uint32_t>(bytes.size()));
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return *this;
}

MacMessage& MacMessage::number(std::uint64_t v) {
    return field(std::to_string(v));
}

Bytes chain_hash(std::uint64_t seq, const AuditEntry& e, ByteView prev_hash) {
    crypto::Sha256 h;
    h.update_field("keyward-audit-entry/1").update_u64(seq);
    for (const std::string* f :
         {&e.at, &e.principal, &e.actor, &e.operation, &e.target, &e.outcome, &e.error, &e.detail,
          &e.client_address, &e.user_agent, &e.request_id, &e.reason}) {
        h.update_field(*f);
    }
    h.update(prev_hash);
    auto d = h.finish();
    return Bytes(d.begin(), d.end());
}

std::uint32_t AuditKey::version() const {
    std::lock_guard lock(mutex_);
    return version_;
}

std::string AuditKey::label(std::uint32_t version) const {
    return "keyward-audit-key:" + chain_id_ + ":k" + std::to_string(version);
}

Result<bool> AuditKey::load_or_create(const std::string& first_admin,
                                      const std::string& genesis_operation) {
    auto made = store_.setup_audit([&]() -> Result<AuditSetup> {
        AuditSetup setup;
        KW_TRY(setup.chain_id, random_hex(16));
        chain_id_ = setup.chain_id;
        Bytes id(16);
        KW_TRY_STATUS(crypto::random_bytes(id));
        KW_TRY(auto attrs, hsm_.generate_mac_key(label(1), id));
        if (auto why = mac_key_spec_mismatch(attrs, hsm_.accepts_modifiable_keks())) {
            return Error(Errc::token_mismatch,
                         "the token did not make the audit key as asked: " + *why);
        }
        {
            std::lock_guard lock(mutex_);
            version_ = 1;
        }
        const std::string now = utc_now_iso8601();
        GrantRow admin;
        KW_TRY(admin.grant.id, random_hex(16));
        admin.grant.principal = first_admin;
        admin.grant.role = Role::admin;
        admin.grant.scope = "*";
        admin.grant.created_at = now;
        admin.grant.created_by = first_admin;
        admin.grant.reason =
            genesis_operation == "audit.init" ? "initialised keyward" : "audit and access added";
        KW_TRY(auto grant_mac, mac(grant_message(admin.grant)));
        admin.mac = std::move(grant_mac.first);
        admin.key_version = grant_mac.second;
        setup.grants.push_back(std::move(admin));

        AuditRow genesis;
        genesis.entry.at = now;
        genesis.entry.principal = first_admin;
        genesis.entry.operation = genesis_operation;
        genesis.entry.target = "*";
        genesis.entry.outcome = "ok";
        genesis.entry.detail =
            "audit chain " + setup.chain_id + "; " + first_admin + " is admin of *";
        genesis.prev_hash = Bytes(kZeroHashSize, 0);
        genesis.hash = chain_hash(1, genesis.entry, genesis.prev_hash);
        KW_TRY(auto head_mac, mac(head_message(1, genesis.hash)));
        genesis.mac = std::move(head_mac.first);
        genesis.key_version = head_mac.second;
        genesis.entry.seq = 1;
        setup.rows.push_back(std::move(genesis));
        return setup;
    });
    if (!made.ok()) return made.error().context("setting up the audit log");
    chain_id_ = made->first;
    KW_TRY(auto stored_version, store_.meta_value("audit_key_version"));
    std::uint32_t v = 1;
    if (stored_version) {
        try {
            v = static_cast<std::uint32_t>(std::stoul(*stored_version));
        } catch (const std::exception&) {
            return Error(Errc::token_mismatch, "the database's audit_key_version is not a number");
        }
    }
    {
        std::lock_guard lock(mutex_);
        version_ = v;
    }
    // The key must be in the token and be the key keyward made, before anything relies on it.
    auto probe = hsm_.mac(label(v), as_bytes("keyward audit key probe"));
    if (!probe.ok()) return probe.error().context("checking the audit key");
    return made->second;
}

Result<std::pair<Bytes, std::uint32_t>> AuditKey::mac(const MacMessage& message) {
    const std::uint32_t v = version();
    KW_TRY(auto tag, hsm_.mac(label(v), message.bytes()));
    return std::pair<Bytes, std::uint32_t>(std::move(tag), v);
}

Result<bool> AuditKey::verify(const MacMessage& message, ByteView tag, std::uint32_t v) {
    if (v > version()) {
        // Another process rotated the key since this one loaded it: learn the new version.
        KW_TRY(auto stored, store_.meta_value("audit_key_version"));
        std::uint32_t now = 0;
        if (stored) {
            try {
                now = static_cast<std::uint32_t>(std::stoul(*stored));
            } catch (const std::exception&) {
                now = 0;
            }
        }
        std::lock_guard lock(mutex_);
        if (now > version_) version_ = now;
    }
    if (v == 0 || v > version()) return false;
    auto ok = hsm_.verify_mac(label(v), message.bytes(), tag);
    if (!ok.ok() && ok.error().code() == Errc::not_found) return false;
    return ok;
}

Result<Bytes> AuditKey::mac_with(const MacMessage& message, std::uint32_t v) {
    return hsm_.mac(label(v), message.bytes());
}

Result<std::uint32_t> AuditKey::generate_next() {
    const std::uint32_t next = version() + 1;
    KW_TRY(auto existing, hsm_.find_keks(label(next)));
    if (existing.size() == 1 &&
        !mac_key_spec_mismatch(existing.front(), hsm_.accepts_modifiable_keks())) {
        // Made by a rotation that died before it recorded the version: use it.
        return next;
    }
    if (!existing.empty()) {
        return Error(Errc::token_mismatch,
                     "the token already holds " + std::to_string(existing.size()) +
                         " objects labelled \"" + label(next) +
                         "\" that are not a key keyward made; inspect the token");
    }
    Bytes id(16);
    KW_TRY_STATUS(crypto::random_bytes(id));
    KW_TRY(auto attrs, hsm_.generate_mac_key(label(next), id));
    if (auto why = mac_key_spec_mismatch(attrs, hsm_.accepts_modifiable_keks())) {
        return Error(Errc::token_mismatch,
                     "the token did not make the audit key as asked: " + *why);
    }
    return next;
}

void AuditKey::use_version(std::uint32_t v) {
    std::lock_guard lock(mutex_);
    version_ = v;
}

MacMessage AuditKey::head_message(std::uint64_t seq, ByteView hash) const {
    MacMessage m("keyward-audit-head/1");
    m.field(chain_id_).number(seq).field(hash);
    return m;
}

MacMessage AuditKey::anchor_message(std::uint64_t seq, ByteView hash) const {
    MacMessage m("keyward-audit-anchor/1");
    m.field(chain_id_).number(seq).field(hash);
    return m;
}

MacMessage AuditKey::grant_message(const GrantInfo& g) const {
    MacMessage m("keyward-grant/1");
    m.field(chain_id_)
        .field(g.id)
        .field(g.principal)
        .field(role_name(g.role))
        .field(g.scope)
        .field(g.created_at)
        .field(g.created_by)
        .field(g.expires_at)
        .number(g.break_glass ? 1 : 0)
        .field(g.reason);
    return m;
}

MacMessage AuditKey::service_token_message(const ServiceTokenRow& r) const {
    MacMessage m("keyward-service-token/1");
    m.field(chain_id_)
        .field(r.info.id)
        .field(r.info.principal)
        .field(ByteView(r.lookup))
        .number(r.lookup_key_version)
        .field(r.info.created_at)
        .field(r.info.created_by)
        .field(r.info.expires_at)
        .number(static_cast<std::uint64_t>(r.info.ttl_seconds))
        .number(r.info.renewable ? 1 : 0)
        .field(r.info.max_expires_at)
        .field(r.info.revoked_at);
    return m;
}

MacMessage AuditKey::service_token_lookup_message(std::string_view token) const {
    MacMessage m("keyward-service-token-lookup/1");
    m.field(chain_id_).field(token);
    return m;
}

MacMessage AuditKey::proposal_message(const Proposal& p) const {
    MacMessage m("keyward-proposal/1");
    m.field(chain_id_)
        .field(p.id)
        .field(guarded_operation_name(p.operation))
        .field(p.target)
        .field(p.proposed_by)
        .field(p.proposed_at)
        .field(p.expires_at)
        .field(p.state)
        .field(p.approved_by)
        .field(p.approved_at)
        .field(p.reason);
    return m;
}

}  // namespace keyward::core
