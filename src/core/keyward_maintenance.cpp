// SPDX-License-Identifier: Apache-2.0
// The maintenance part of the public facade: validation of every stored envelope, and backup
// snapshots of the database with the token binding they need.
#include <map>
#include <utility>

#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "core/record_address.hpp"
#include "crypto/envelope_codec.hpp"

namespace keyward {

namespace {

// A page holds at most this many envelopes, or this many bytes of them (records may be up to
// 64 MiB each): validate never holds the whole table.
constexpr std::size_t kPageRows = 500;
constexpr std::size_t kPageBytes = std::size_t{32} << 20;

// The token cannot be used at all: counting every version as failed would hide it. A version
// refused by its own checks (token_mismatch) is that version's failure, counted.
bool token_unusable(Errc code) {
    return exit_code(code) == 6 && code != Errc::token_mismatch;
}

std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
}

/// Counts what validation saw, keeping the first failures.
class Tally {
  public:
    Tally(core::Envelopes& envelopes, std::size_t max_failures)
        : envelopes_(envelopes), max_failures_(max_failures) {}

    /// Opens one version and wipes its plaintext at once. An error that means the token
    /// cannot be used at all stops the run: counting every version as failed would hide it.
    Status check(const core::RecordVersionRow& row) {
        const std::string context =
            core::record_context(core::RecordAddress{row.ns, row.name}, row.version);
        auto& kek = by_kek_[{row.keyring, row.kek_version}];
        ++kek.records;
        ++report_.checked;
        Status outcome = check_columns(row);
        if (outcome.ok()) {
            auto opened = envelopes_.open(row.envelope, as_bytes(context));
            if (!opened.ok()) outcome = std::move(opened).error();
        }  // the plaintext, if any, is wiped here
        if (outcome.ok()) {
            ++report_.opened;
            return {};
        }
        const Error& e = outcome.error();
        if (token_unusable(e.code())) return e;
        ++report_.failed;
        ++kek.failed;
        ++failed_by_code_[std::string(errc_name(e.code()))];
        if (max_failures_ == 0 || report_.failures.size() < max_failures_) {
            report_.failures.push_back({row.ns + "/" + row.name, row.version,
                                        std::string(errc_name(e.code())), one_line(e.message())});
        }
        return {};
    }

    ValidationReport finish() && {
        for (auto& [key, count] : by_kek_) {
            count.keyring = key.first;
            count.version = key.second;
            report_.by_kek_version.push_back(std::move(count));
        }
        for (auto& [code, n] : failed_by_code_) report_.failed_by_code.emplace_back(code, n);
        return std::move(report_);
    }

  private:
    // The keyring and kek_version columns say which KEK protects a version (rotation, retire
    // and keyring show count by them); the envelope's header is the truth. A disagreement is
    // the database's fault, whether the envelope opens or not.
    static Status check_columns(const core::RecordVersionRow& row) {
        auto env = crypto::parse_envelope(row.envelope);
        if (!env.ok()) return {};  // opening names the broken rule
        const auto& h = env->header;
        if (h.keyring == row.keyring && h.kek_version == row.kek_version) return {};
        return Error(Errc::database_error,
                     "the database row says keyring " + row.keyring + " version " +
                         std::to_string(row.kek_version) + " but its envelope names keyring " +
                         h.keyring + " version " + std::to_string(h.kek_version) +
                         " (the row was edited); keyward follows the envelope");
    }

    core::Envelopes& envelopes_;
    std::size_t max_failures_;
    ValidationReport report_;
    std::map<std::pair<std::string, std::uint32_t>, KekVersionCount> by_kek_;
    std::map<std::string, std::uint64_t> failed_by_code_;
};

BackupInfo to_backup_info(const std::string& path, core::SnapshotContents&& c) {
    BackupInfo info;
    info.path = path;
    info.created_at = std::move(c.created_at);
    if (c.binding) {
        info.token_serial = std::move(c.binding->serial);
        info.token_label = std::move(c.binding->label);
    }
    info.schema_version = c.schema_version;
    info.records = c.records;
    info.record_versions = c.record_versions;
    for (const auto& ring : c.keyrings) {
        for (const auto& v : ring.versions) {
            if (v.state == KekState::destroyed) continue;
            info.kek_versions.push_back(
                {ring.name, v.version, std::string(kek_state_name(v.state)), v.label});
        }
    }
    return info;
}

std::string state_disagreement_message(const core::StateDisagreement& d) {
    const std::string v = std::to_string(d.version);
    const std::string fix =
        d.token == KekState::compromised
            ? "keyward keyring compromise " + d.keyring + " --version " + v +
                  " writes it back; then rotate with --reencrypt"
            : "keyward keyring retire " + d.keyring + " --version " + v + " writes it back";
    return "keyring " + d.keyring + " version " + v + ": the database says " +
           std::string(kek_state_name(d.database)) + " but the token recorded it " +
           std::string(kek_state_name(d.token)) + (d.since.empty() ? "" : " on " + d.since) +
           " (a restore or an edit of the database); keyward treats it as " +
           std::string(kek_state_name(d.token)) + ": " + fix;
}

}  // namespace

Result<std::vector<KekFinding>> Keyward::kek_findings() {
    std::vector<KekFinding> out;
    for (auto& f : impl_->keyrings.faults()) {
        out.push_back({f.keyring, f.version, std::string(errc_name(f.error.code())),
                       one_line(f.error.message()), true});
    }
    KW_TRY(auto rings, impl_->store->list_keyrings());  // as the database says them
    for (const auto& d : impl_->keyrings.ledger().disagreements(rings)) {
        out.push_back(
            {d.keyring, d.version, "state_disagreement", state_disagreement_message(d), false});
    }
    for (const auto& label : impl_->keyrings.ledger().unreadable()) {
        out.push_back({"", 0, "unreadable_ledger_object",
                       "the token holds a ledger object that cannot be read (" + one_line(label) +
                           "), most likely left half written by a killed process; it records "
                           "nothing and keyward ignores it",
                       false});
    }
    return out;
}

Result<ValidationReport> Keyward::validate(const std::string& keyring, std::size_t sample,
                                           std::size_t max_failures) {
    return impl_->audited(
        core::ops::validate,
        keyring.empty() ? core::Resource::all() : core::Resource::of_keyring(keyring),
        keyring.empty() ? "*" : "keyring:" + keyring,
        [&](AuditNote& note) -> Result<ValidationReport> {
            KW_TRY(auto r, validate_unaudited(keyring, sample, max_failures));
            note.detail =
                std::to_string(r.opened) + " opened, " + std::to_string(r.failed) + " failed";
            return r;
        });
}

Result<ValidationReport> Keyward::validate_unaudited(const std::string& keyring, std::size_t sample,
                                                     std::size_t max_failures) {
    if (!keyring.empty()) {
        KW_TRY(auto ring, impl_->keyrings.show(keyring));  // not_found names the fix
        (void)ring;
    }
    auto& store = *impl_->store;
    KW_TRY(auto findings, kek_findings());
    Tally tally(impl_->envelopes, max_failures);
    if (sample > 0) {
        KW_TRY(auto keys, store.sample_record_versions(keyring, sample));
        for (const auto& k : keys) {
            KW_TRY(auto row, store.record_version(k.ns, k.name, k.version));
            if (row) KW_TRY_STATUS(tally.check(*row));  // else purged meanwhile: gone
        }
        auto report = std::move(tally).finish();
        report.kek_findings = std::move(findings);
        return report;
    }
    std::optional<core::RecordVersionKey> after;
    for (;;) {
        KW_TRY(auto page, store.record_versions_page(keyring, after, kPageRows, kPageBytes));
        if (page.empty()) break;
        for (const auto& row : page) KW_TRY_STATUS(tally.check(row));
        const auto& last = page.back();
        after = core::RecordVersionKey{last.ns, last.name, last.version};
    }
    auto report = std::move(tally).finish();
    report.kek_findings = std::move(findings);
    return report;
}

Result<BackupInfo> Keyward::backup(const std::string& out_path) {
    return impl_->audited(core::ops::backup, core::Resource::all(), "*",
                          [&](AuditNote& note) -> Result<BackupInfo> {
                              note.detail = "to " + out_path;
                              return backup_unaudited(out_path);
                          });
}

Result<BackupInfo> Keyward::backup_unaudited(const std::string& out_path) {
    if (out_path.empty()) return Error(Errc::usage, "backup needs a file name to write");
    const auto& id = impl_->hsm->identity();
    core::BackupManifest manifest{core::utc_now_iso8601(), core::TokenBinding{id.serial, id.label}};
    KW_TRY_STATUS(impl_->store->backup_to(out_path, manifest));
    // What the snapshot holds, read back from the file just written.
    KW_TRY(auto contents, impl_->store->inspect_snapshot(out_path));
    return to_backup_info(out_path, std::move(contents));
}

Result<BackupInfo> Keyward::restore_backup(const std::string& path) {
    const Caller c = impl_->caller();
    KW_TRY_STATUS(impl_->authorize(core::ops::restore, c, core::Resource::all(), "*"));
    // Entries still queued belong to the log being replaced: commit them first.
    KW_TRY_STATUS(impl_->audit.flush());
    KW_TRY(auto previous, impl_->audit.latest_checkpoint());
    auto result = restore_unaudited(path);
    if (!result.ok()) {
        (void)impl_->write_entry(core::ops::restore, c, "*", "failed",
                                 std::string(errc_name(result.error().code())), "from " + path);
        return result;
    }
    // The restored database brings its own audit chain (or none, from before audit existed:
    // then a new chain starts). A checkpoint saying "restore" first vouches for the restored
    // head (the older ones vouched for the database it replaced), then the entry follows with
    // another: an honest restore verifies; entries written after the backup are not in it.
    KW_TRY(bool made, impl_->audit_key.load_or_create(impl_->config.principal, "audit.upgrade"));
    (void)made;
    KW_TRY_STATUS(impl_->audit.checkpoint("restore"));
    std::string detail = "from " + path + " (backup of " + result->created_at + ")";
    if (previous) {
        detail += "; the log before the restore reached entry " + std::to_string(previous->seq);
    }
    KW_TRY_STATUS(impl_->write_entry(core::ops::restore, c, "*", "ok", "", detail, "restore"));
    return result;
}

Result<BackupInfo> Keyward::restore_unaudited(const std::string& path) {
    KW_TRY(auto contents, impl_->store->inspect_snapshot(path));
    if (!contents.binding) {
        return Error(Errc::failed, "backup " + path +
                                       " names no token (its database was never opened by "
                                       "keyward); nothing to restore");
    }
    // The same checks as at every start, against the snapshot's binding and KEK versions: a
    // restored database must open with this token.
    KW_TRY_STATUS(
        impl_->keyrings.verify_token_match(*contents.binding, contents.keyrings, "backup " + path));
    KW_TRY_STATUS(impl_->store->restore_from(path));
    auto info = to_backup_info(path, std::move(contents));
    // The token's record of compromised and destroyed versions outlives any backup: what the
    // backup still held as live is written back as the token says.
    KW_TRY(auto rings, impl_->store->list_keyrings());
    for (const auto& d : impl_->keyrings.ledger().disagreements(rings)) {
        KW_TRY_STATUS(impl_->store->apply_token_state(d.keyring, d.version, d.token));
        info.reapplied_states.push_back({d.keyring, d.version, std::string(kek_state_name(d.token)),
                                         kek_label(d.keyring, d.version)});
    }
    return info;
}

}  // namespace keyward
