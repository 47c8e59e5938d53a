// SPDX-License-Identifier: Apache-2.0
// keyring rotate | rollback | history | compromise | retire: KEK rotation for administrators.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <sstream>

#include "command.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

// Set by SIGINT/SIGTERM: the job starts no new batch, lets the one being committed land, and
// can be resumed. A lock-free atomic is what a signal handler may touch.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void request_stop(int) {
    g_stop.store(true);
}

void stop_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

std::string rate_of(const RotationReport& r) {
    if (r.seconds <= 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f/s", static_cast<double>(r.done) / r.seconds);
    return buf;
}

// "\rrotate ring v1->v2: 12000/100000 (12%), 7100/s, ETA 12 s" on a terminal's stderr.
std::function<void(const RotationReport&)> progress_printer() {
    if (::isatty(STDERR_FILENO) != 1) return nullptr;
    return [](const RotationReport& r) {
        const std::uint64_t moved = r.done + r.skipped + r.failed;
        const double rate = r.seconds > 0 ? static_cast<double>(moved) / r.seconds : 0;
        const double eta =
            rate > 0 ? static_cast<double>(r.total - std::min(r.total, moved)) / rate : 0;
        std::fprintf(
            stderr, "\r%s %s v%u->v%u: %llu/%llu (%llu%%), %.0f/s, ETA %.0f s   ",
            std::string(rotation_kind_name(r.kind)).c_str(), escape_controls(r.keyring).c_str(),
            r.from_version, r.to_version, static_cast<unsigned long long>(moved),
            static_cast<unsigned long long>(r.total),
            static_cast<unsigned long long>(r.total ? moved * 100 / r.total : 100), rate, eta);
        std::fflush(stderr);
    };
}

void report_json(Json& j, const RotationReport& r) {
    j.begin_object()
        .field("id", static_cast<std::int64_t>(r.id))
        .field("keyring", r.keyring)
        .field("kind", rotation_kind_name(r.kind))
        .field("state", rotation_state_name(r.state))
        .field("from_version", r.from_version)
        .field("to_version", r.to_version)
        .field("started_at", r.started_at)
        .field("started_by", r.started_by);
    j.field_or_null("finished_at", r.finished_at);
    j.field("total", r.total)
        .field("done", r.done)
        .field("skipped", r.skipped)
        .field("failed", r.failed)
        .field("hsm_rewraps", r.hsm_rewraps)
        .field("seconds", r.seconds)
        .field("max_commit_ms", r.max_commit_ms)
        .field("runs", r.runs)
        .field("resumed", r.resumed);
    j.key("failures").begin_array();
    for (const auto& f : r.failures) j.value(f);
    j.end_array();
    j.end_object();
}

Result<RotateOptions> options_from(const Args& args) {
    RotateOptions o;
    KW_TRY(auto batch, args.number("--batch", 500, 1, 100000));
    KW_TRY(auto threads, args.number("--threads", 2, 1, 64));
    o.batch = batch;
    o.threads = static_cast<unsigned>(threads);
    o.reencrypt = args.has("--reencrypt");
    o.progress = progress_printer();
    o.stop = &g_stop;
    return o;
}

Status finish(const Invocation& inv, const RotationReport& r) {
    if (::isatty(STDERR_FILENO) == 1) std::fputs("\n", stderr);
    if (inv.json) {
        Json j;
        report_json(j, r);
        inv.print_json(j);
    } else {
        std::ostringstream out;
        out << rotation_kind_name(r.kind) << " of keyring " << escape_controls(r.keyring) << " v"
            << r.from_version << " -> v" << r.to_version << (r.resumed ? " (resumed)" : "") << ": "
            << r.done << " moved, " << r.skipped << " skipped, " << r.failed << " failed of "
            << r.total << " in " << r.seconds << " s (" << rate_of(r) << ")";
        if (r.kind == RotationKind::rollback) out << ", " << r.hsm_rewraps << " needed the token";
        out << "\n";
        for (const auto& f : r.failures) out << "  failed: " << escape_controls(f) << "\n";
        inv.print_text(out.str());
    }
    if (r.interrupted) {
        return Error(Errc::failed, "interrupted after " + std::to_string(r.done) +
                                       " records; run the same command again to resume");
    }
    if (r.failed != 0) {
        return Error(Errc::failed, std::to_string(r.failed) +
                                       " record versions could not be moved (named above); "
                                       "keyward validate --keyring " +
                                       r.keyring + " --failures 0 lists them all");
    }
    return {};
}

Status run_rotate(const Invocation& inv, const Args& args) {
    KW_TRY(auto options, options_from(args));
    KW_TRY(auto kw, inv.open_keyward());
    if (auto out = args.get("--backup")) {
        // The runbook's backup, taken before anything changes; no backup, no rotation.
        KW_TRY(auto info, kw->backup(*out));
        (void)info;
        if (!inv.json) inv.print_text("backup written to " + *out + "\n");
    }
    stop_on_signals();
    KW_TRY(auto report, kw->rotate_keyring(args.positional()[0], options));
    return finish(inv, report);
}

Status run_rollback(const Invocation& inv, const Args& args) {
    KW_TRY(auto options, options_from(args));
    KW_TRY(auto kw, inv.open_keyward());
    stop_on_signals();
    KW_TRY(auto report, kw->rollback_keyring(args.positional()[0], options));
    return finish(inv, report);
}

Status run_history(const Invocation& inv, const Args& args) {
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto jobs, kw->keyring_history(args.positional()[0]));
    if (inv.json) {
        Json j;
        j.begin_object().field("keyring", args.positional()[0]).key("jobs").begin_array();
        for (const auto& r : jobs) report_json(j, r);
        j.end_array().end_object();
        inv.print_json(j);
        return {};
    }
    std::ostringstream out;
    out << "ID  KIND       VERSIONS  STATE        STARTED               BY        DONE     "
           "SKIPPED  FAILED  SECONDS  RATE\n";
    for (const auto& r : jobs) {
        char line[320];
        std::snprintf(
            line, sizeof line,
            "%-3lld %-10s v%u->v%-5u %-12s %-21s %-9s %-8llu %-8llu "
            "%-7llu %-8.2f %s\n",
            static_cast<long long>(r.id), std::string(rotation_kind_name(r.kind)).c_str(),
            r.from_version, r.to_version, std::string(rotation_state_name(r.state)).c_str(),
            escape_controls(r.started_at).c_str(), escape_controls(r.started_by).c_str(),
            static_cast<unsigned long long>(r.done), static_cast<unsigned long long>(r.skipped),
            static_cast<unsigned long long>(r.failed), r.seconds, rate_of(r).c_str());
        out << line;
    }
    if (jobs.empty()) out << "no rotations yet\n";
    inv.print_text(out.str());
    return {};
}

Result<std::uint32_t> version_from(const Args& args, const char* command) {
    if (!args.has("--version")) {
        return Error(Errc::usage, std::string(command) + " needs --version N");
    }
    KW_TRY(auto n, args.number("--version", 0, 1, 0xffffffffu));
    return static_cast<std::uint32_t>(n);
}

// {"keyring", "version", "state"}: what compromise and retire leave behind, for scripts.
Status print_kek_state(const Invocation& inv, const std::string& keyring, std::uint32_t version,
                       KekState state) {
    Json j;
    j.begin_object()
        .field("keyring", keyring)
        .field("version", version)
        .field("state", kek_state_name(state))
        .end_object();
    inv.print_json(j);
    return {};
}

Status run_compromise(const Invocation& inv, const Args& args) {
    KW_TRY(auto version, version_from(args, "keyring compromise"));
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& name = args.positional()[0];
    KW_TRY_STATUS(kw->compromise_kek(name, version));
    if (inv.json) return print_kek_state(inv, name, version, KekState::compromised);
    inv.print_text("keyring " + name + " version " + std::to_string(version) +
                   " is marked compromised and its kept copies are dropped. Next: keyward "
                   "keyring rotate " +
                   name + " --reencrypt, then keyward keyring retire " + name + " --version " +
                   std::to_string(version) + "\n");
    return {};
}

Status run_retire(const Invocation& inv, const Args& args) {
    KW_TRY(auto version, version_from(args, "keyring retire"));
    KW_TRY(auto kw, inv.open_keyward());
    const std::string& name = args.positional()[0];
    KW_TRY_STATUS(kw->retire_kek(name, version));
    if (inv.json) return print_kek_state(inv, name, version, KekState::destroyed);
    inv.print_text("keyring " + name + " version " + std::to_string(version) +
                   " is destroyed in the token; its rollback copies are gone\n");
    return {};
}

const std::vector<OptionSpec> kJobOptions = {{"--batch", true}, {"--threads", true}};

}  // namespace

const Command kKeyringRotateCommand = {
    "keyring rotate",
    "new active KEK version, then re-wrap every record under it",
    "usage: keyward keyring rotate NAME [--batch N] [--threads N] [--reencrypt]\n"
    "                              [--backup FILE]\n\n"
    "Makes KEK version v+1 in the token and active (new seals use it at once), then moves\n"
    "every stored record version still under an older version to it, N per transaction\n"
    "(default 500): the token re-wraps each DEK (the DEK is never written anywhere) and only\n"
    "the envelope's header changes. The previous wrapped DEK is kept for a rollback.\n"
    "Run again after a crash or kill: it finds the unfinished rotation and completes it\n"
    "without making another version. Ctrl-C starts no new batch and lets the one being\n"
    "committed land (resumable).\n"
    "--reencrypt  a new DEK and nonce for every record (after a compromise); nothing kept.\n"
    "--threads    token operations in parallel (default 2).\n"
    "--backup F   first a consistent snapshot of the database to F (as keyward backup).\n"
    "Progress on stderr when it is a terminal; exit 1 if any record could not be moved.\n",
    {{"--batch", true}, {"--threads", true}, {"--reencrypt", false}, {"--backup", true}},
    1,
    1,
    run_rotate};

const Command kKeyringRollbackCommand = {
    "keyring rollback",
    "undo the last rotation",
    "usage: keyward keyring rollback NAME [--batch N] [--threads N]\n\n"
    "Makes the version the last rotation left active again (the newer one decrypt-only) and\n"
    "brings every record back under it: records the rotation moved get their kept wrapped\n"
    "DEK back without the token; records sealed under the newer version meanwhile are\n"
    "re-wrapped by the token. Works on a finished and on an interrupted rotation, and\n"
    "resumes an interrupted rollback.\n",
    kJobOptions,
    1,
    1,
    run_rollback};

const Command kKeyringHistoryCommand = {
    "keyring history",
    "rotations and rollbacks of a keyring",
    "usage: keyward keyring history NAME [--json]\n\n"
    "Every rotation, re-encryption and rollback: when and by whom, the versions, records\n"
    "moved, skipped and failed, working time, rate, and the longest batch transaction.\n",
    {},
    1,
    1,
    run_history};

const Command kKeyringCompromiseCommand = {
    "keyring compromise",
    "mark a KEK version compromised",
    "usage: keyward keyring compromise NAME --version N\n\n"
    "For a KEK that may have leaked. Opens under it keep working (and health flags them);\n"
    "the wrapped DEKs kept under it for rollbacks are dropped. Then run keyward keyring\n"
    "rotate NAME --reencrypt and keyward keyring retire NAME --version N.\n",
    {{"--version", true}},
    1,
    1,
    run_compromise};

const Command kKeyringRetireCommand = {
    "keyring retire",
    "destroy a KEK version nothing uses any more",
    "usage: keyward keyring retire NAME --version N\n\n"
    "Ends the rollback window of version N: drops the wrapped DEKs kept under it and\n"
    "destroys its KEK in the token. Refused, with the count, while any record version is\n"
    "still under N, and for the active version.\n",
    {{"--version", true}},
    1,
    1,
    run_retire};

}  // namespace keyward::cli
