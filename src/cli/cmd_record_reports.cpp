// SPDX-License-Identifier: Apache-2.0
// rotate-secret, stats and health: generated secrets on schedule and the state of the store.
#include <sstream>

#include "command.hpp"
#include "kek_findings_output.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

Status run_rotate_secret(const Invocation& inv, const Args& args) {
    const bool due = args.has("--due");
    if (due && args.has("--bytes"))
        return Error(Errc::usage, "--bytes goes with NS/NAME, not --due");
    KW_TRY(auto bytes, args.number("--bytes", 0, 16, 4096));
    const std::string target = args.positional().empty() ? std::string() : args.positional()[0];
    if (!due && target.empty()) {
        return Error(Errc::usage, "rotate-secret needs NS/NAME, or --due [NS]");
    }
    if (due && target.find('/') != std::string::npos) {
        return Error(Errc::usage, "rotate-secret --due takes a namespace, not a record");
    }
    KW_TRY(auto kw, inv.open_keyward());
    if (!due) {
        KW_TRY(auto version, kw->rotate_secret(target, bytes));
        if (inv.json) {
            Json j;
            j.begin_object().field("record", target).field("version", version).end_object();
            inv.print_json(j);
        } else {
            inv.print_text("rotated " + target + ": new version " + std::to_string(version) + "\n");
        }
        return {};
    }
    KW_TRY(auto done, kw->rotate_due_secrets(target));
    std::size_t failed = 0;
    Json j;
    j.begin_object().key("rotated").begin_array();
    std::ostringstream text;
    for (const auto& r : done) {
        j.begin_object().field("record", r.record);
        if (r.version != 0) {
            j.field("version", r.version);
            text << "rotated " << r.record << ": new version " << r.version << "\n";
        } else {
            ++failed;
            j.field("error", r.error);
            print_error_line(r.error);
        }
        j.end_object();
    }
    j.end_array().field("failed", static_cast<std::uint64_t>(failed)).end_object();
    if (inv.json) {
        inv.print_json(j);
    } else {
        text << done.size() - failed << " rotated, " << failed << " failed\n";
        inv.print_text(text.str());
    }
    if (failed != 0) {
        return Error(Errc::failed, std::to_string(failed) + " of " + std::to_string(done.size()) +
                                       " due secrets were not rotated (see above)");
    }
    return {};
}

void counts_json(Json& j, std::string_view key,
                 const std::vector<std::pair<std::string, std::uint64_t>>& counts) {
    j.key(key).begin_object();
    for (const auto& [name, n] : counts) j.field(name, n);
    j.end_object();
}

void counts_text(std::ostringstream& out, const char* title,
                 const std::vector<std::pair<std::string, std::uint64_t>>& counts) {
    out << title << ":\n";
    for (const auto& [name, n] : counts) out << "  " << escape_controls(name) << ": " << n << "\n";
}

Status run_stats(const Invocation& inv, const Args&) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto s, kw->record_stats());
    if (inv.json) {
        Json j;
        j.begin_object().field("records", s.records);
        counts_json(j, "by_kind", s.by_kind);
        counts_json(j, "by_namespace", s.by_namespace);
        counts_json(j, "by_state", s.by_state);
        j.field("expiring_7_days", s.expiring_7_days)
            .field("expiring_30_days", s.expiring_30_days)
            .field("without_rotation_policy", s.without_rotation_policy)
            .field("due_for_rotation", s.due_for_rotation)
            .end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    out << "records: " << s.records << "\n";
    counts_text(out, "by kind", s.by_kind);
    counts_text(out, "by namespace", s.by_namespace);
    counts_text(out, "by state", s.by_state);
    out << "expiring within 7 days: " << s.expiring_7_days << "\n"
        << "expiring within 30 days: " << s.expiring_30_days << "\n"
        << "without a rotation policy: " << s.without_rotation_policy << "\n"
        << "due for rotation: " << s.due_for_rotation << "\n";
    inv.print_text(out.str());
    return {};
}

// "login-guard, reconnect-after=10000", or "none" for a token keyward takes as it is.
std::string quirk_list(const std::vector<std::string>& quirks) {
    std::string out;
    for (const auto& q : quirks) out += (out.empty() ? "" : ", ") + q;
    return out.empty() ? "none" : out;
}

Status run_health(const Invocation& inv, const Args&) {
    // Opens even when KEK versions fail their checks, to name every one.
    OpenOptions diagnose;
    diagnose.diagnose = true;
    KW_TRY(auto kw, inv.open_keyward(diagnose));
    KW_TRY(auto h, kw->health());
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("healthy", h.healthy())
            .key("token")
            .begin_object()
            .field("label", h.token_label)
            .field("serial", h.token_serial)
            .key("quirks")
            .begin_array();
        for (const auto& q : kw->token().quirks) j.value(q);
        j.end_array()
            .field("reachable", h.token_reachable)
            .field("logged_in", h.logged_in)
            .end_object()
            .key("database")
            .begin_object()
            .field("path", h.database_path)
            .field("integrity", h.database_integrity)
            .field("bytes", h.database_bytes)
            .field("wal_bytes", h.wal_bytes)
            .end_object()
            .key("records")
            .begin_object()
            .field("total", h.records)
            .field("due_for_rotation", h.due_for_rotation)
            .field("rotation_warning", h.rotation_warning)
            .field("expired", h.expired)
            .field("expiring_30_days", h.expiring_30_days)
            .field("revoked", h.revoked)
            .field("deleted", h.deleted)
            .end_object()
            .key("kek_findings");
        kek_findings_json(j, h.kek_findings);
        j.key("access").begin_object().key("invalid_grants").begin_array();
        for (const auto& g : h.invalid_grants) j.value(g);
        j.end_array().key("invalid_proposals").begin_array();
        for (const auto& p : h.invalid_proposals) j.value(p);
        j.end_array().key("break_glass").begin_array();
        for (const auto& b : h.break_glass) j.value(b);
        j.end_array().end_object();
        j.field("audit", h.audit);
        j.key("recommendations").begin_array();
        for (const auto& r : h.recommendations) j.value(r);
        j.end_array().end_object();
        inv.print_json(j);
    } else {
        std::ostringstream out;
        out << "token:    \"" << escape_controls(h.token_label) << "\" serial "
            << escape_controls(h.token_serial) << ", "
            << (h.token_reachable ? "reachable" : "NOT reachable") << ", "
            << (h.logged_in ? "logged in" : "NOT logged in") << "\n"
            << "quirks:   " << quirk_list(kw->token().quirks) << "\n"
            << "database: " << escape_controls(h.database_path) << ", integrity "
            << escape_controls(h.database_integrity) << ", " << h.database_bytes << " bytes (+"
            << h.wal_bytes << " in the WAL)\n"
            << "records:  " << h.records << " (" << h.due_for_rotation << " due for rotation, "
            << h.expired << " expired, " << h.expiring_30_days << " expiring within 30 days)\n"
            << "audit:    " << escape_controls(h.audit) << "\n"
            << "access:   " << h.invalid_grants.size() << " invalid grant rows, "
            << h.break_glass.size() << " break-glass grants in force\n";
        for (const auto& g : h.invalid_grants) {
            out << "          invalid grant " << escape_controls(g) << "\n";
        }
        for (const auto& p : h.invalid_proposals) {
            out << "          invalid proposal " << escape_controls(p) << "\n";
        }
        if (h.recommendations.empty()) out << "nothing to do\n";
        for (const auto& r : h.recommendations) out << "- " << escape_controls(r) << "\n";
        inv.print_text(out.str());
    }
    if (auto refused = first_refusal(h.kek_findings)) return *refused;
    if (!h.healthy()) {
        return Error(Errc::failed, "unhealthy: " + (h.recommendations.empty()
                                                        ? std::string("see the report above")
                                                        : h.recommendations.front()));
    }
    return {};
}

}  // namespace

const Command kRotateSecretCommand = {
    "rotate-secret",
    "replace a generated secret with a new one",
    "usage: keyward rotate-secret NS/NAME [--bytes N]\n"
    "       keyward rotate-secret --due [NS]\n\n"
    "Stores a new version of random bytes from the token's RNG (N bytes, else the length\n"
    "the record was generated with, else 32), for api_key, basic_auth_password,\n"
    "webhook_secret, jwt_signing_key and custom_secret records. --due does it for every\n"
    "auto-rotate record (of NS) past its rotation date: run it from cron. Exit 1 when any\n"
    "due record failed, each failure named on stderr.\n",
    {{"--bytes", true}, {"--due", false}},
    0,
    1,
    run_rotate_secret};

const Command kStatsCommand = {
    "stats",
    "record counts by kind, namespace and state; expiry and rotation",
    "usage: keyward stats [--json]\n\n"
    "Counts records by kind, namespace and state (purged tombstones only under state),\n"
    "and live records expiring within 7 and 30 days, without a rotation policy, and past\n"
    "their rotation date.\n",
    {},
    0,
    0,
    run_stats};

const Command kHealthCommand = {
    "health",
    "token, database and records: what needs attention",
    "usage: keyward health [--json]\n\n"
    "Asks the token whether it is reachable and logged in, runs SQLite's quick_check,\n"
    "reports the database and WAL sizes, counts records due for rotation, expired or\n"
    "expiring, checks every KEK version against the token (present once as a private object\n"
    "with keyward's attributes, CKA_ID and check value; its state against the token's record\n"
    "of compromised and destroyed versions), and says in sentences what to do. Exit 0 when\n"
    "token, database and KEKs are sound (recommendations are advice), 1 when not; 6 when the\n"
    "token cannot be opened at all or a KEK version fails its checks.\n",
    {},
    0,
    0,
    run_health};

}  // namespace keyward::cli
