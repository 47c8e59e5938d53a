// SPDX-License-Identifier: Apache-2.0
// keyward health: asks the token and the database how they are now, and turns the record
// and keyring metadata into advice a person can act on.
#include "core/clock.hpp"
#include "core/keyward_impl.hpp"
#include "core/record_rules.hpp"

namespace keyward {

namespace {

std::string count(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

void record_counts(HealthReport& report, const std::vector<core::RecordRow>& rows,
                   const std::string& now) {
    for (const auto& row : rows) {
        const RecordState state = core::effective_state(row, now);
        if (state == RecordState::purged) continue;
        ++report.records;
        if (state == RecordState::revoked) ++report.revoked;
        if (state == RecordState::deleted) ++report.deleted;
        if (state == RecordState::expired) ++report.expired;
        if (!core::is_live(row)) continue;
        if (core::rotation_due(row, now)) ++report.due_for_rotation;
        if (core::rotation_warning(row, now)) ++report.rotation_warning;
        if (state == RecordState::active && row.expires_at &&
            *row.expires_at <= core::add_days(now, 30)) {
            ++report.expiring_30_days;
        }
    }
}

void record_advice(HealthReport& report) {
    auto& advice = report.recommendations;
    if (report.due_for_rotation > 0) {
        advice.push_back(count(report.due_for_rotation, "record is", "records are") +
                         " past the rotation date set by the rotation policy: store new values "
                         "(keyward put), or run keyward rotate-secret --due for those keyward "
                         "generates.");
    }
    if (report.rotation_warning > 0) {
        advice.push_back(count(report.rotation_warning, "record is", "records are") +
                         " within the warning period before the rotation date: plan the rotation "
                         "(keyward list --json shows rotation.due_at).");
    }
    if (report.expired > 0) {
        advice.push_back(count(report.expired, "record has", "records have") +
                         " expired: store a new value, or revoke and delete it (keyward list "
                         "--state expired).");
    }
    if (report.expiring_30_days > 0) {
        advice.push_back(count(report.expiring_30_days, "record expires", "records expire") +
                         " within 30 days (keyward list --expiring 30).");
    }
    if (report.deleted > 0) {
        advice.push_back(count(report.deleted, "deleted record still holds its",
                               "deleted records still hold their") +
                         " sealed values: purge what will not be recovered (keyward purge "
                         "NS/NAME --yes).");
    }
}

}  // namespace

Result<HealthReport> Keyward::health() {
    return impl_->audited(core::ops::health, core::Resource::all(), "*",
                          [&](AuditNote&) { return health_unaudited(); });
}

Result<HealthReport> Keyward::health_unaudited() {
    HealthReport report;
    const std::string now = core::utc_now_iso8601();
    report.token_label = impl_->hsm->identity().label;
    report.token_serial = impl_->hsm->identity().serial;
    auto logged_in = impl_->hsm->logged_in();
    report.token_reachable = logged_in.ok();
    report.logged_in = logged_in.ok() && *logged_in;
    if (!report.token_reachable) {
        report.recommendations.push_back("The token does not answer (" +
                                         logged_in.error().message() +
                                         "): check the HSM and its PKCS#11 module.");
    } else if (!report.logged_in) {
        report.recommendations.push_back(
            "The token session is no longer logged in: restart the service so it logs in "
            "again, and check that the PIN was not changed or locked.");
    }
    report.database_path = impl_->config.database.string();
    KW_TRY(auto db, impl_->store->check_database());
    report.database_integrity = db.integrity;
    report.database_bytes = db.bytes;
    report.wal_bytes = db.wal_bytes;
    if (db.integrity != "ok") {
        report.recommendations.push_back("The database fails SQLite's integrity check (" +
                                         db.integrity +
                                         "): stop writers and restore the last backup taken "
                                         "together with its token.");
    }
    KW_TRY(auto rows, impl_->store->list_records("", "", true));
    record_counts(report, rows, now);
    record_advice(report);
    KW_TRY(report.kek_findings, kek_findings());
    for (const auto& f : report.kek_findings) report.recommendations.push_back(f.message);
    KW_TRY(auto grants, impl_->access.checked_grants(""));
    for (const auto& g : grants) {
        const auto& gi = g.row.grant;
        const std::string what =
            gi.principal + " " + std::string(role_name(gi.role)) + " on " + gi.scope;
        if (!g.mac_ok) {
            report.invalid_grants.push_back(gi.id + " (" + what + ")");
        } else if (gi.break_glass && !gi.expired) {
            report.break_glass.push_back(what + " until " + gi.expires_at + ": " + gi.reason);
        }
    }
    if (!report.invalid_grants.empty()) {
        report.recommendations.push_back(
            std::to_string(report.invalid_grants.size()) +
            " grant rows carry no valid token MAC and are ignored: someone wrote the database "
            "behind keyward's back. Remove them (keyward access revoke) and find out who.");
    }
    for (const auto& b : report.break_glass) {
        report.recommendations.push_back("Break-glass grant in force: " + b + ".");
    }
    KW_TRY(auto proposal_rows, impl_->store->proposals());
    for (const auto& p : proposal_rows) {
        KW_TRY(bool ok, impl_->audit_key.verify(impl_->audit_key.proposal_message(p.proposal),
                                                p.mac, p.key_version));
        if (!ok) report.invalid_proposals.push_back(p.proposal.id);
    }
    KW_TRY(report.audit, impl_->audit.quick_check());
    if (report.audit != "ok") report.recommendations.push_back("Audit log: " + report.audit + ".");
    KW_TRY(auto rings, impl_->keyrings.list());  // at the states the token allows
    for (const auto& ring : rings) {
        for (const auto& v : ring.versions) {
            if (v.state == KekState::compromised) {
                KW_TRY(auto under, impl_->store->records_under(ring.name, v.version));
                if (under > 0) {
                    report.recommendations.push_back(
                        "Keyring " + ring.name + "'s KEK version " + std::to_string(v.version) +
                        " is compromised and still protects " + std::to_string(under) +
                        " record versions: run keyward keyring rotate " + ring.name +
                        " --reencrypt, then keyward keyring retire " + ring.name + " --version " +
                        std::to_string(v.version) + ".");
                }
            }
            if (v.state != KekState::active) continue;
            if (core::add_days(v.created_at, ring.cryptoperiod_days) <= now) {
                report.recommendations.push_back(
                    "Keyring " + ring.name + "'s active KEK version " + std::to_string(v.version) +
                    " is past its cryptoperiod of " + std::to_string(ring.cryptoperiod_days) +
                    " days: rotate it (keyward keyring rotate " + ring.name + ").");
            }
        }
    }
    return report;
}

}  // namespace keyward
