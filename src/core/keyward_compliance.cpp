// SPDX-License-Identifier: Apache-2.0
// Compliance runs in the public facade (docs/COMPLIANCE.md): each check looks at the token and
// the database as they are now, with the token as the authority, and says pass, info, warn or
// fail with the objects concerned. The report is MAC'd by the audit key in the token.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>

#include "core/clock.hpp"
#include "core/kek_spec.hpp"
#include "core/keyward_impl.hpp"
#include "core/record_rules.hpp"
#include "crypto/envelope_codec.hpp"
#include "crypto/sha256.hpp"
#include "keyward/compliance.hpp"
#include "keyward/json.hpp"
#include "keyward_build_config.h"

namespace keyward {

namespace {

constexpr std::string_view kReportDomain = "keyward-compliance-report/1";
constexpr std::string_view kMacMarker = ",\"mac\":{\"key_version\":";

// Days before a cryptoperiod's end when the check warns.
constexpr std::int64_t kWarnDays = 30;
// Share of the suite 2 wrap limit past which the check warns.
constexpr double kWarnShare = 0.9;

ComplianceCheck check(std::string id, std::string clause, std::string title) {
    ComplianceCheck c;
    c.id = std::move(id);
    c.clause = std::move(clause);
    c.title = std::move(title);
    return c;
}

void fail(ComplianceCheck& c, std::string object) {
    c.status = CheckStatus::fail;
    c.objects.push_back(std::move(object));
}

void worse(ComplianceCheck& c, CheckStatus s) {
    if (static_cast<int>(s) > static_cast<int>(c.status)) c.status = s;
}

// The token directory SoftHSM's configuration names ("directories.tokendir = PATH").
std::string softhsm_token_dir(const std::filesystem::path& conf) {
    std::ifstream in(conf);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        auto trim = [](std::string& s) {
            s.erase(0, s.find_first_not_of(" \t"));
            s.erase(s.find_last_not_of(" \t\r") + 1);
        };
        trim(key);
        trim(value);
        if (key == "directories.tokendir") return value;
    }
    return {};
}

}  // namespace

std::string_view check_status_name(CheckStatus s) noexcept {
    switch (s) {
        case CheckStatus::pass:
            return "pass";
        case CheckStatus::info:
            return "info";
        case CheckStatus::warn:
            return "warn";
        case CheckStatus::fail:
            return "fail";
    }
    return "?";
}

Result<std::vector<ComplianceCheck>> Keyward::compliance_checks(const ComplianceOptions& options) {
    std::vector<ComplianceCheck> out;
    const std::string now = core::utc_now_iso8601();
    KW_TRY(auto db_rings, impl_->store->list_keyrings());  // as the database says them
    // The token's ledger read now: a failed read stops the run rather than judge stale data.
    KW_TRY_STATUS(impl_->keyrings.ledger().load());

    // 1. Every live KEK version is in the token, once, with keyward's attributes and the
    //    CKA_ID and check value recorded when it was made.
    {
        auto c =
            check("kek.attributes", "SP 800-57 Part 1 Rev. 5, 6.1.2 and 8.2.2; PKCS#11 3.0, 4.4",
                  "every KEK version the database knows is in the token (unless destroyed), "
                  "private, sensitive, never extractable, local, its usage its suite's pair, "
                  "AES-256, labelled as specified, with its recorded CKA_ID and check value");
        std::vector<core::KekFault> faults;
        KW_TRY_STATUS(impl_->keyrings.check_live_versions(db_rings, faults));
        std::size_t live = 0;
        for (const auto& ring : db_rings) {
            for (const auto& v : ring.versions) {
                const KekState s = impl_->keyrings.ledger().effective_state(v);
                live += s == KekState::destroyed || s == KekState::pre_active ? 0 : 1;
            }
        }
        for (const auto& f : faults)
            fail(c, kek_label(f.keyring, f.version) + ": " + f.error.message());
        c.evidence = std::to_string(live) + " live KEK versions looked up in the token by label; " +
                     std::to_string(faults.size()) + " refused";
        out.push_back(std::move(c));
    }

    // 1b. Objects under keyward's labels that this database does not account for.
    {
        auto c = check("kek.orphans", "SP 800-57 Part 1 Rev. 5, 8.3.4 (key destruction) and 6.1.2",
                       "every private token object labelled keyward:KEYRING:vN is a version this "
                       "database knows; objects of keyrings it does not know are listed; a public "
                       "object with a keyward label fails (someone without the PIN made it)");
        KW_TRY(auto objects, impl_->hsm->objects_labelled("keyward:"));
        std::map<std::string, std::map<std::uint32_t, KekState>> known;
        for (const auto& ring : db_rings) {
            auto& versions = known[ring.name];
            for (const auto& v : ring.versions) {
                versions[v.version] = impl_->keyrings.ledger().effective_state(v);
            }
        }
        std::size_t foreign = 0;
        for (const auto& o : objects) {
            if (o.private_ != true) {
                fail(c, o.label + ": a public " + o.object_class.value_or("object") +
                            " (made without the PIN; keyward never uses it)");
                continue;
            }
            // keyward:<keyring>:v<version>, exactly as kek_label writes it.
            std::string ring;
            std::uint32_t version = 0;
            const auto colon = o.label.rfind(":v");
            if (colon != std::string::npos && colon > 8) {
                ring = o.label.substr(8, colon - 8);
                const std::string digits = o.label.substr(colon + 2);
                auto [end, ec] =
                    std::from_chars(digits.data(), digits.data() + digits.size(), version);
                if (ec != std::errc() || end != digits.data() + digits.size()) version = 0;
            }
            if (version == 0 || !is_valid_keyring_name(ring) ||
                o.label != kek_label(ring, version)) {
                fail(c, o.label + ": not a label keyward makes (keyward:KEYRING:vN)");
                continue;
            }
            if (o.object_class != std::optional<std::string>("CKO_SECRET_KEY")) {
                fail(c, o.label + ": a " + o.object_class.value_or("object") +
                            ", not a secret key, under a KEK's label");
                continue;
            }
            // A KEK the token's ledger condemned that still exists: a destruction that did not
            // finish, or a deleted keyring's leftover.
            if (impl_->keyrings.destroyed_in_ledger(o.label, o)) {
                fail(c, o.label +
                            ": recorded destroyed in the token's ledger, but still in "
                            "the token (retire the version again, or destroy the object)");
                continue;
            }
            auto it = known.find(ring);
            if (it == known.end()) {
                ++foreign;
                worse(c, CheckStatus::info);
                c.objects.push_back(o.label +
                                    ": a keyring this database does not know "
                                    "(another installation may share the token)");
                continue;
            }
            auto v = it->second.find(version);
            if (v == it->second.end()) {
                fail(c, o.label + ": keyring " + ring +
                            " is this database's, but it has no such version (planted, or "
                            "left over)" +
                            (o.key_type ? ", " + *o.key_type : std::string()) +
                            (o.value_len ? ", " + std::to_string(*o.value_len * 8) + " bits"
                                         : std::string()));
            } else if (v->second == KekState::destroyed) {
                fail(c, o.label +
                            ": the database says destroyed, but the object is still in "
                            "the token");
            }
        }
        c.evidence = std::to_string(objects.size()) + " token objects carry a keyward: label; " +
                     std::to_string(foreign) + " belong to keyrings this database does not know";
        out.push_back(std::move(c));
    }

    // 2. The token's ledger of compromised and destroyed versions agrees with the database.
    {
        auto c =
            check("kek.ledger", "SP 800-57 Part 1 Rev. 5, 7.3 (compromised and destroyed states)",
                  "the token's record of compromised and destroyed KEK versions agrees with "
                  "the database");
        const auto disagreements = impl_->keyrings.ledger().disagreements(db_rings);
        for (const auto& d : disagreements) {
            fail(c, kek_label(d.keyring, d.version) + ": the database says " +
                        std::string(kek_state_name(d.database)) + ", the token recorded " +
                        std::string(kek_state_name(d.token)) + " on " + d.since);
        }
        for (const auto& label : impl_->keyrings.ledger().unreadable()) {
            worse(c, CheckStatus::warn);
            c.objects.push_back("unreadable ledger object " + label);
        }
        c.evidence = std::to_string(disagreements.size()) + " disagreements";
        out.push_back(std::move(c));
    }

    // 3. Exactly one active version per keyring; the states are SP 800-57's.
    KW_TRY(auto rings, impl_->keyrings.list());  // at the states the token allows
    {
        auto c =
            check("keyring.states", "SP 800-57 Part 1 Rev. 5, 7.1 and 7.2",
                  "exactly one active KEK version per keyring, at the states the token allows; "
                  "no version left pre-active; versions numbered 1, 2, ... without gaps");
        for (const auto& ring : rings) {
            std::size_t active = 0;
            std::uint32_t expected = 1;
            for (const auto& v : ring.versions) {
                active += v.state == KekState::active ? 1 : 0;
                // keyward records a version once its KEK exists, as active (SP 800-57's
                // pre-activation lasts no longer than that); one left pre-active is an edit.
                if (v.state == KekState::pre_active) {
                    fail(c, ring.name + " v" + std::to_string(v.version) +
                                ": pre-active, a state keyward never leaves a version in");
                }
                if (v.version != expected) {
                    fail(c, ring.name + ": version " + std::to_string(expected) +
                                " is missing (the next is " + std::to_string(v.version) + ")");
                }
                expected = v.version + 1;
            }
            if (active != 1) {
                fail(c, ring.name + ": " + std::to_string(active) + " active versions");
            }
        }
        c.evidence = std::to_string(rings.size()) + " keyrings";
        out.push_back(std::move(c));
    }

    // 4. Cryptoperiods and the suite 2 invocation limit.
    {
        auto c = check("keyring.cryptoperiod", "SP 800-57 Part 1 Rev. 5, 5.3.6 (table 1)",
                       "each keyring's active version is younger than the keyring's "
                       "cryptoperiod (warn within 30 days of its end)");
        auto g = check("gcm.invocations", "SP 800-38D, 8.3",
                       "suite 2 KEK versions stay below the configured GCM invocation limit "
                       "(warn past 90%)");
        for (const auto& ring : rings) {
            for (const auto& v : ring.versions) {
                if (v.state == KekState::active && !core::unix_from_iso8601(v.created_at)) {
                    fail(c, ring.name + " v" + std::to_string(v.version) +
                                ": its creation time is not a timestamp (\"" + v.created_at +
                                "\"): the database was edited");
                } else if (v.state == KekState::active) {
                    const std::string due = core::add_days(v.created_at, ring.cryptoperiod_days);
                    const std::string soon =
                        core::add_days(now.substr(0, 10) + now.substr(10), kWarnDays);
                    if (due <= now) {
                        fail(c, ring.name + " v" + std::to_string(v.version) + ": active since " +
                                    v.created_at + ", cryptoperiod " +
                                    std::to_string(ring.cryptoperiod_days) + " days ended " + due);
                    } else if (due <= soon) {
                        worse(c, CheckStatus::warn);
                        c.objects.push_back(ring.name + " v" + std::to_string(v.version) +
                                            ": cryptoperiod ends " + due);
                    }
                }
                if (ring.suite != Suite::gcm) continue;
                // The wrap budget lets a version reach the limit exactly, never pass it; a
                // version near it matters only while it still wraps (the active one).
                const double limit = static_cast<double>(impl_->config.gcm_wrap_limit);
                const double used = static_cast<double>(v.wrap_count);
                const std::string what = ring.name + " v" + std::to_string(v.version) + ": " +
                                         std::to_string(v.wrap_count) + " of " +
                                         std::to_string(impl_->config.gcm_wrap_limit) + " wraps";
                if (v.wrap_count > impl_->config.gcm_wrap_limit) {
                    fail(g, what + ", past the limit");
                } else if (v.state == KekState::active && used >= kWarnShare * limit) {
                    worse(g, CheckStatus::warn);
                    g.objects.push_back(what);
                }
            }
        }
        c.evidence = std::to_string(rings.size()) + " keyrings, checked at " + now;
        g.evidence = "limit " + std::to_string(impl_->config.gcm_wrap_limit) +
                     " wraps per suite 2 KEK version (config gcm_wrap_limit)";
        out.push_back(std::move(c));
        out.push_back(std::move(g));
    }

    // 5. Records: none under a destroyed version; headers agree with columns (validate).
    {
        auto c =
            check("records.kek", "SP 800-57 Part 1 Rev. 5, 7.3 (destroyed keys protect nothing)",
                  "no stored record version references a destroyed KEK version, and every "
                  "record's envelope header agrees with its columns");
        std::size_t destroyed = 0;
        for (const auto& ring : rings) {
            for (const auto& v : ring.versions) {
                if (v.state != KekState::destroyed) continue;
                ++destroyed;
                KW_TRY(auto n, impl_->store->records_under(ring.name, v.version));
                if (n > 0) {
                    fail(c, kek_label(ring.name, v.version) + ": " + std::to_string(n) +
                                " record versions still name it");
                }
            }
        }
        // Every stored version's header against its columns (the columns drive rotation and
        // retirement; the header decides which KEK opens it).
        constexpr std::size_t kMaxNamed = 50;
        std::uint64_t rows = 0, mismatched = 0;
        std::optional<core::RecordVersionKey> after;
        for (;;) {
            KW_TRY(auto page,
                   impl_->store->record_versions_page("", after, 500, std::size_t{32} << 20));
            if (page.empty()) break;
            for (const auto& row : page) {
                ++rows;
                auto env = crypto::parse_envelope(row.envelope);
                const bool agrees = env.ok() && env->header.keyring == row.keyring &&
                                    env->header.kek_version == row.kek_version;
                if (agrees) continue;
                ++mismatched;
                if (c.objects.size() >= kMaxNamed) continue;
                fail(c, row.ns + "/" + row.name + " version " + std::to_string(row.version) +
                            (env.ok()
                                 ? ": header names " + env->header.keyring + " v" +
                                       std::to_string(env->header.kek_version) + ", columns say " +
                                       row.keyring + " v" + std::to_string(row.kek_version)
                                 : ": envelope unreadable (" + env.error().message() + ")"));
            }
            after = core::RecordVersionKey{page.back().ns, page.back().name, page.back().version};
        }
        c.status = mismatched > 0 || c.status == CheckStatus::fail ? CheckStatus::fail : c.status;
        std::string deep;
        if (options.deep) {
            KW_TRY(auto v, validate_unaudited({}, 0, kMaxNamed));
            for (const auto& f : v.failures) {
                fail(c, f.record + " version " + std::to_string(f.version) + ": does not open (" +
                            f.error + ")");
            }
            deep = "; every record version opened: " + std::to_string(v.opened) + " opened, " +
                   std::to_string(v.failed) + " failed";
        }
        c.evidence = std::to_string(destroyed) + " destroyed KEK versions; " +
                     std::to_string(rows) + " record version headers read, " +
                     std::to_string(mismatched) + " disagree with their columns" + deep;
        out.push_back(std::move(c));
    }

    // 6. No rotation job left unfinished.
    {
        auto c = check("rotation.finished", "SP 800-57 Part 1 Rev. 5, 5.3.5 and 8.2.3",
                       "no rotation, re-encryption or rollback job is left unfinished");
        for (const auto& ring : rings) {
            KW_TRY(auto running, impl_->store->running_job(ring.name));
            if (running) {
                fail(c, ring.name + ": " + std::string(rotation_kind_name(running->kind)) +
                            " job " + std::to_string(running->id) + " started " +
                            running->started_at + ", " + std::to_string(running->done) + " of " +
                            std::to_string(running->total) + " done");
            }
        }
        c.evidence = std::to_string(rings.size()) + " keyrings";
        out.push_back(std::move(c));
    }

    // 6b. Rollback copies kept past the rollback window.
    {
        auto c =
            check("rotation.kept-copies", "SP 800-57 Part 1 Rev. 5, 8.3.4 (timely destruction)",
                  "wrapped data keys kept for a rollback are not older than the rollback "
                  "window (rollback_window_days, " +
                      std::to_string(impl_->config.rollback_window_days) + " days)");
        std::size_t kept_versions = 0;
        for (const auto& ring : rings) {
            KW_TRY(auto jobs, impl_->store->jobs(ring.name));
            std::set<std::uint32_t> seen;
            // Newest first: the copies under a version were kept by its latest rotation.
            std::reverse(jobs.begin(), jobs.end());
            for (const auto& j : jobs) {
                if (j.kind == RotationKind::rollback || j.state != RotationState::finished ||
                    j.finished_at.empty() || !seen.insert(j.from_version).second) {
                    continue;
                }
                KW_TRY(auto kept, impl_->store->kept_under(ring.name, j.from_version));
                if (kept == 0) continue;
                ++kept_versions;
                const std::string until =
                    core::add_days(j.finished_at, impl_->config.rollback_window_days);
                if (core::unix_from_iso8601(j.finished_at) && until > now) continue;
                worse(c, CheckStatus::warn);
                c.objects.push_back(ring.name + " v" + std::to_string(j.from_version) + ": " +
                                    std::to_string(kept) + " copies kept since " + j.finished_at +
                                    " (keyward keyring retire " + ring.name + " --version " +
                                    std::to_string(j.from_version) + ")");
            }
        }
        c.evidence = std::to_string(kept_versions) + " KEK versions still have kept copies";
        out.push_back(std::move(c));
    }

    // 6c. Record policies: rotation dates and expiry.
    {
        auto c = check("records.policies",
                       "SP 800-57 Part 1 Rev. 5, 5.3 (cryptoperiods of the data's secrets)",
                       "no live credential is past its rotate-after date or its expiry");
        KW_TRY(auto all, impl_->records.list(RecordFilter{}, now));
        std::size_t live = 0;
        for (const auto& r : all) {
            if (r.state != RecordState::active) continue;
            ++live;
            const std::string name = r.ns + "/" + r.name;
            if (r.expires_at && *r.expires_at <= now) {
                fail(c, name + ": expired " + *r.expires_at + " and still active (keyward revoke " +
                            name + ", or put a new value)");
            }
            if (auto due = core::rotation_due_at(r); due && *due <= now) {
                fail(c,
                     name + ": rotation was due " + *due + " (keyward rotate-secret " + name + ")");
            }
        }
        c.evidence = std::to_string(live) + " live records checked at " + now;
        out.push_back(std::move(c));
    }

    // 7. Files: owned by this user, not readable by others.
    {
        auto c = check("files.permissions",
                       "SP 800-57 Part 2 Rev. 1, 6.3 (protection of keying material metadata)",
                       "the database, the config, the PIN file and the token directory are owned "
                       "by this user and not readable by group or others");
        std::vector<std::string> paths = {impl_->config.database.string()};
        if (!impl_->config.source.empty()) paths.push_back(impl_->config.source.string());
        if (impl_->config.pin_source.rfind("file:", 0) == 0) {
            paths.push_back(impl_->config.pin_source.substr(5));
        }
        if (!impl_->config.softhsm2_conf.empty()) {
            const std::string dir = softhsm_token_dir(impl_->config.softhsm2_conf);
            if (!dir.empty()) paths.push_back(dir);
        }
        for (const auto& p : paths) {
            struct stat st {};
            if (::stat(p.c_str(), &st) != 0) {
                worse(c, CheckStatus::warn);
                c.objects.push_back(p + ": cannot be examined");
                continue;
            }
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            if (st.st_uid != ::geteuid())
                fail(c, p + ": owned by uid " + std::to_string(st.st_uid));
            if ((st.st_mode & 077) != 0) fail(c, p + ": mode " + mode + " (group or others)");
        }
        c.evidence = std::to_string(paths.size()) + " paths examined";
        out.push_back(std::move(c));
    }

    // 8. The audit chain verifies against the token's checkpoint.
    {
        auto c = check("audit.chain", "SP 800-57 Part 2 Rev. 1, 6.7 (audit)",
                       "the audit chain verifies entry by entry and against the token's latest "
                       "checkpoint");
        KW_TRY(auto a, impl_->audit.verify());
        if (!a.ok) fail(c, "audit log: " + a.problem);
        // The audit key has the KEKs' guarantees: every version of this chain's key checked
        // against the attributes keyward generates it with (sign/verify only, sensitive,
        // never extractable, local, not modifiable where the token allows).
        std::size_t key_versions = 0;
        for (std::uint32_t kv = 1; kv <= impl_->audit_key.version(); ++kv) {
            const std::string label = impl_->audit_key.label(kv);
            KW_TRY(auto found, impl_->hsm->find_keks(label));
            if (found.size() != 1) {
                fail(c, label + ": " + std::to_string(found.size()) +
                            " private objects carry the label (one expected)");
                continue;
            }
            ++key_versions;
            if (auto why =
                    core::mac_key_spec_mismatch(found[0], impl_->hsm->accepts_modifiable_keks())) {
                fail(c, label + ": " + *why);
            }
        }
        c.evidence = std::to_string(key_versions) + " audit key versions checked in the token; " +
                     std::to_string(a.entries) + " entries, " + std::to_string(a.macs_checked) +
                     " chain heads verified in the token, checkpoint at entry " +
                     std::to_string(a.checkpoint_seq);
        out.push_back(std::move(c));
    }

    // 9. Access: rows the token does not vouch for, break-glass, expired grants, admins.
    {
        auto c = check("access.rows", "SP 800-57 Part 2 Rev. 1, 6.2 (roles and responsibilities)",
                       "every grant, approval and service token row carries a valid token MAC; "
                       "break-glass grants in force, grants past expiry and the number of admins "
                       "are reported");
        KW_TRY(auto health, health_unaudited());
        for (const auto& g : health.invalid_grants) fail(c, "grant " + g + ": MAC does not verify");
        for (const auto& p : health.invalid_proposals) {
            fail(c, "proposal " + p + ": MAC does not verify");
        }
        KW_TRY(auto tokens, impl_->service_tokens.checked_rows());
        for (const auto& t : tokens) {
            if (!t.mac_ok) fail(c, "service token " + t.row.info.id + ": MAC does not verify");
        }
        for (const auto& b : health.break_glass) {
            worse(c, CheckStatus::warn);
            c.objects.push_back("break-glass grant in force: " + b);
        }
        KW_TRY(auto grants, impl_->access.checked_grants({}));
        std::set<std::string> admins;
        std::size_t expired = 0;
        const std::string now_stamp = core::utc_now_iso8601();
        for (const auto& g : grants) {
            if (!g.mac_ok) continue;  // named above, from health
            const GrantInfo& info = g.row.grant;
            if (!info.expires_at.empty() && info.expires_at <= now_stamp) {
                ++expired;
                worse(c, CheckStatus::info);
                c.objects.push_back("grant past expiry " + info.id + " (" + info.principal + ")");
            } else if (info.role == Role::admin && info.scope == "*" && !info.break_glass) {
                admins.insert(info.principal);
            }
        }
        if (admins.size() < 2) {
            worse(c, CheckStatus::info);
            c.objects.push_back(std::to_string(admins.size()) +
                                " admin(s) of everything: the two-person rule needs two");
        }
        c.evidence = std::to_string(grants.size()) + " grants (" + std::to_string(expired) +
                     " expired), " + std::to_string(admins.size()) + " admins of everything, " +
                     std::to_string(tokens.size()) + " service tokens";
        out.push_back(std::move(c));
    }
    // 10. Negative probes on every live KEK.
    {
        auto c = check("kek.probes", "SP 800-57 Part 1 Rev. 5, 6.1.2; SP 800-38F, 5.1",
                       "on every live KEK, reading CKA_VALUE is refused and wrapping the KEK out "
                       "of the token is refused");
        std::size_t probed = 0;
        for (const auto& ring : rings) {
            for (const auto& v : ring.versions) {
                if (v.state == KekState::destroyed || v.state == KekState::pre_active) continue;
                auto probe = impl_->hsm->probe_kek(
                    core::KekRef{kek_label(ring.name, v.version), ring.suite});
                if (!probe.ok()) {
                    // A KEK missing or refused is kek.attributes' finding; named here too.
                    worse(c, CheckStatus::warn);
                    c.objects.push_back(kek_label(ring.name, v.version) +
                                        ": not probed: " + probe.error().message());
                    continue;
                }
                ++probed;
                if (!probe->value_read.empty()) {
                    fail(c, kek_label(ring.name, v.version) + ": " + probe->value_read);
                }
                if (!probe->wrapped_out.empty()) {
                    fail(c, kek_label(ring.name, v.version) + ": " + probe->wrapped_out);
                }
                if (!probe->inconclusive.empty()) {
                    worse(c, CheckStatus::warn);
                    c.objects.push_back(kek_label(ring.name, v.version) +
                                        ": inconclusive: " + probe->inconclusive);
                }
            }
        }
        c.evidence = std::to_string(probed) +
                     " KEK versions probed: C_GetAttributeValue(CKA_VALUE) must answer "
                     "CKR_ATTRIBUTE_SENSITIVE, and C_WrapKey under an AES key the token "
                     "generated for the probe CKR_KEY_UNEXTRACTABLE";
        out.push_back(std::move(c));
    }

    // 11. The mechanisms' known-answer tests, in the token, now.
    {
        auto c = check("token.kat", "SP 800-38F, 6.3 (KWP); SP 800-38D, 7 (GCM)",
                       "the token's RFC 5649 key wrap and AES-GCM pass their known-answer tests "
                       "(a suite no keyring uses only informs)");
        bool uses[3] = {false, false, false};
        for (const auto& ring : rings) {
            const int suite = static_cast<int>(ring.suite);
            if (suite >= 1 && suite <= 2) uses[suite] = true;
        }
        KW_TRY(auto kats, impl_->hsm->known_answer_tests());
        std::string evidence;
        for (std::size_t i = 0; i < kats.size(); ++i) {
            const auto& k = kats[i];
            evidence += (evidence.empty() ? "" : "; ") + k.name + ": " + k.detail;
            if (k.passed) continue;
            const bool used = i < 2 && uses[i + 1];
            if (used) {
                fail(c, k.name + ": " + k.detail);
            } else {
                worse(c, CheckStatus::info);
                c.objects.push_back(k.name + " (no keyring uses it): " + k.detail);
            }
        }
        c.evidence = evidence;
        out.push_back(std::move(c));
    }

    return out;
}

std::string compliance_report_json(const ComplianceReport& r) {
    // One check a line: a person can read the file, and the MAC covers these exact bytes.
    Json head;
    head.begin_object()
        .field("format", "keyward-compliance-report/1")
        .field("tool_version", r.tool_version)
        .field("generated_at", r.generated_at)
        .field("principal", r.principal)
        .key("token")
        .begin_object()
        .field("label", r.token_label)
        .field("manufacturer", r.token_manufacturer)
        .field("model", r.token_model)
        .field("serial", r.token_serial)
        .field("firmware", r.token_firmware)
        .end_object()
        .field("deep", r.deep)
        .key("summary")
        .begin_object()
        .field("pass", r.count(CheckStatus::pass))
        .field("info", r.count(CheckStatus::info))
        .field("warn", r.count(CheckStatus::warn))
        .field("fail", r.count(CheckStatus::fail))
        .end_object()
        .end_object();
    std::string out(head.str());
    out.pop_back();  // the closing brace: the checks follow
    out += ",\n\"checks\":[";
    for (std::size_t i = 0; i < r.checks.size(); ++i) {
        const auto& c = r.checks[i];
        Json j;
        j.begin_object()
            .field("id", c.id)
            .field("clause", c.clause)
            .field("title", c.title)
            .field("status", check_status_name(c.status))
            .key("objects")
            .begin_array();
        for (const auto& o : c.objects) j.value(o);
        j.end_array().field("evidence", c.evidence).end_object();
        out += "\n";
        out += j.str();
        if (i + 1 < r.checks.size()) out += ",";
    }
    out += "\n]}";
    return out;
}

Result<ComplianceReport> Keyward::compliance(const ComplianceOptions& options) {
    return impl_->audited(
        core::ops::compliance, core::Resource::all(), "*",
        [&](AuditNote& note) -> Result<ComplianceReport> {
            ComplianceReport r;
            r.tool_version = KEYWARD_VERSION;
            r.generated_at = core::utc_now_iso8601();
            r.principal = impl_->caller().principal;
            const auto& id = impl_->hsm->identity();
            r.token_label = id.label;
            r.token_manufacturer = id.manufacturer;
            r.token_model = id.model;
            r.token_serial = id.serial;
            r.token_firmware = id.firmware;
            r.deep = options.deep;
            KW_TRY(r.checks, compliance_checks(options));
            // Sealed here, under this run's authorisation, and named in its audit entry: a
            // report that verifies came out of a run the log records.
            KW_TRY(r.sealed, seal_compliance_report(r));
            const auto digest = crypto::sha256(
                ByteView(reinterpret_cast<const std::uint8_t*>(r.sealed.data()), r.sealed.size()));
            note.detail = std::to_string(r.count(CheckStatus::pass)) + " pass, " +
                          std::to_string(r.count(CheckStatus::warn)) + " warn, " +
                          std::to_string(r.count(CheckStatus::fail)) + " fail" +
                          (options.deep ? " (deep)" : "") + "; report sha256 " +
                          to_hex(ByteView(digest.data(), digest.size()));
            return r;
        });
}

namespace {

// The MAC covers the key version that makes it, so that the number written beside it cannot
// be edited either.
core::MacMessage report_message(const std::string& chain_id, std::uint32_t key_version,
                                std::string_view body) {
    core::MacMessage m(kReportDomain);
    m.field(chain_id).number(key_version).field(body);
    return m;
}

}  // namespace

Result<std::string> Keyward::seal_compliance_report(const ComplianceReport& report) {
    std::string text = compliance_report_json(report);
    text.pop_back();  // the closing brace: the MAC is the last member
    const std::uint32_t version = impl_->audit_key.version();
    KW_TRY(auto tag, impl_->audit_key.mac_with(
                         report_message(impl_->audit_key.chain_id(), version, text), version));
    text += std::string(kMacMarker) + std::to_string(version) + ",\"hmac_sha256\":\"" +
            to_hex(tag) + "\"}}\n";
    return text;
}

Result<ReportVerification> Keyward::verify_compliance_report(std::string_view text) {
    return impl_->audited(
        core::ops::compliance_verify, core::Resource::all(), "report",
        [&](AuditNote& note) -> Result<ReportVerification> {
            ReportVerification v;
            auto refuse = [&](std::string why) {
                v.reason = std::move(why);
                note.detail = "not genuine: " + v.reason;
                return v;
            };
            const std::size_t at = text.rfind(kMacMarker);
            if (at == std::string_view::npos) {
                return refuse("no MAC: this is not a keyward compliance report file");
            }
            // The tail is exactly: ,"mac":{"key_version":N,"hmac_sha256":"64 HEX"}}\n
            std::string_view tail = text.substr(at + kMacMarker.size());
            std::size_t digits = 0;
            while (digits < tail.size() && digits < 10 && tail[digits] >= '0' &&
                   tail[digits] <= '9') {
                ++digits;
            }
            std::uint32_t key_version = 0;
            auto [parsed, ec] = std::from_chars(tail.data(), tail.data() + digits, key_version);
            if (ec != std::errc() || parsed != tail.data() + digits || key_version == 0 ||
                tail[0] == '0') {
                return refuse("the MAC's key version is malformed");
            }
            constexpr std::string_view kHmacField = ",\"hmac_sha256\":\"";
            constexpr std::string_view kEnd = "\"}}\n";
            if (digits == 0 || tail.substr(digits, kHmacField.size()) != kHmacField ||
                tail.size() != digits + kHmacField.size() + 64 + kEnd.size() ||
                tail.substr(tail.size() - kEnd.size()) != kEnd) {
                return refuse("the MAC at the end of the file is malformed");
            }
            auto tag = parse_hex(tail.substr(digits + kHmacField.size(), 64));
            if (!tag) return refuse("the MAC at the end of the file is not hex");
            v.key_version = key_version;
            const std::string_view body = text.substr(0, at);
            KW_TRY(bool ok, impl_->audit_key.verify(
                                report_message(impl_->audit_key.chain_id(), key_version, body),
                                *tag, key_version));
            if (!ok) {
                return refuse(
                    "the MAC does not verify: the report was edited after it was made, or made "
                    "by another installation");
            }
            v.genuine = true;
            // Read back two facts for the caller's line (the JSON is keyward's own).
            auto fact = [&](std::string_view key) -> std::string {
                const std::string k = "\"" + std::string(key) + "\":";
                const auto p = body.find(k);
                if (p == std::string_view::npos) return {};
                auto rest = body.substr(p + k.size());
                const auto end = rest.find_first_of(",}");
                std::string value(rest.substr(0, end));
                if (value.size() >= 2 && value.front() == '"')
                    value = value.substr(1, value.size() - 2);
                return value;
            };
            v.generated_at = fact("generated_at");
            const std::string fails = fact("fail");
            std::from_chars(fails.data(), fails.data() + fails.size(), v.failed_checks);
            note.detail = "genuine, made " + v.generated_at;
            return v;
        });
}

}  // namespace keyward
