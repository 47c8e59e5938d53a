// SPDX-License-Identifier: Apache-2.0
// validate: opens every stored record version (or a keyring's, or a random sample) and reports
// what opened; the pre-flight and post-flight check around rotations and restores.
#include "command.hpp"
#include "kek_findings_output.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

void report_json(Json& j, const ValidationReport& r) {
    j.begin_object()
        .field("checked", r.checked)
        .field("opened", r.opened)
        .field("failed", r.failed)
        .key("failed_by_error")
        .begin_object();
    for (const auto& [code, n] : r.failed_by_code) j.field(code, n);
    j.end_object().key("by_kek_version").begin_array();
    for (const auto& k : r.by_kek_version) {
        j.begin_object()
            .field("keyring", k.keyring)
            .field("version", k.version)
            .field("records", k.records)
            .field("failed", k.failed)
            .end_object();
    }
    j.end_array().key("kek_findings");
    kek_findings_json(j, r.kek_findings);
    j.key("failures").begin_array();
    for (const auto& f : r.failures) {
        j.begin_object()
            .field("record", f.record)
            .field("version", f.version)
            .field("code", f.code)
            .field("error", f.error)
            .end_object();
    }
    j.end_array().end_object();
}

std::string report_text(const ValidationReport& r) {
    std::string out = "validated " + plural(r.checked, "record version", "record versions") + ": " +
                      std::to_string(r.opened) + " opened, " + std::to_string(r.failed) +
                      " failed\n" + kek_findings_text(r.kek_findings);
    for (const auto& k : r.by_kek_version) {
        out += "  " + escape_controls(k.keyring) + " v" + std::to_string(k.version) + ": " +
               plural(k.records, "record version", "record versions");
        if (k.failed > 0) out += ", " + std::to_string(k.failed) + " failed";
        out += "\n";
    }
    for (const auto& f : r.failures) {
        out += "failed: " + escape_controls(f.record) + " version " + std::to_string(f.version) +
               ": " + escape_controls(f.error) + " (" + f.code + ")\n";
    }
    if (r.failed > r.failures.size()) {
        out += "... and " + std::to_string(r.failed - r.failures.size()) +
               " more (--failures 0 lists them all)\n";
    }
    return out;
}

Status run_validate(const Invocation& inv, const Args& args) {
    KW_TRY(auto sample, args.number("--sample", 0, 1, 1000000000));
    KW_TRY(auto max_failures, args.number("--failures", kMaxValidationFailures, 0, 1000000000));
    const std::string keyring = args.get("--keyring").value_or("");
    // Opens even when KEK versions fail their checks: their records are counted as failed
    // and the versions named, rather than the run refused.
    OpenOptions diagnose;
    diagnose.diagnose = true;
    KW_TRY(auto kw, inv.open_keyward(diagnose));
    KW_TRY(auto report, kw->validate(keyring, static_cast<std::size_t>(sample),
                                     static_cast<std::size_t>(max_failures)));
    if (inv.json) {
        Json j;
        report_json(j, report);
        inv.print_json(j);
    } else {
        inv.print_text(report_text(report));
    }
    if (auto refused = first_refusal(report.kek_findings)) return *refused;
    if (report.all_opened() && report.kek_findings.empty()) return {};
    if (report.all_opened()) {
        return Error(Errc::failed,
                     "every record version opened, but " + report.kek_findings.front().message);
    }
    const auto& first = report.failures.front();
    return Error(Errc::failed,
                 plural(report.failed, "record version", "record versions") + " of " +
                     std::to_string(report.checked) + " did not open (first: " + first.record +
                     " version " + std::to_string(first.version) + ", " + first.code +
                     "); restore them from a backup taken before the damage, or check that the "
                     "token is the one the database was made with");
}

}  // namespace

const Command kValidateCommand = {
    "validate",
    "open every stored record version; exit 0 only if all open",
    "usage: keyward validate [--keyring NAME] [--sample N] [--failures N] [--json]\n\n"
    "Opens every stored version of every record (in any state), or only those sealed under\n"
    "keyring NAME, with its record:NS/NAME#V context, and wipes each plaintext at once.\n"
    "--sample N opens N versions chosen at random instead. Prints how many opened and failed,\n"
    "per KEK version, and the first 20 failures (--failures N: the first N; 0: all). Run it\n"
    "before and after a rotation or a restore. Every KEK version is checked against the token\n"
    "first, and every row's keyring and version columns against its envelope's header.\n"
    "Exit 0 only if every version opened and nothing disagreed; 1 if any did not open, a row\n"
    "disagrees with its envelope, or the token recorded a graver KEK state than the database;\n"
    "4 if NAME does not exist; 6 if the token cannot be used or a KEK version fails its checks.\n",
    {{"--keyring", true}, {"--sample", true}, {"--failures", true}},
    0,
    0,
    run_validate};

}  // namespace keyward::cli
