// SPDX-License-Identifier: Apache-2.0
// compliance, compliance verify-report: the checks against NIST SP 800-57 / 800-38D / 800-38F,
// the MAC'd JSON report and its HTML rendering (docs/COMPLIANCE.md).
#include <sstream>

#include "command.hpp"
#include "io.hpp"
#include "private_file.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

// A report file is small; anything much larger is not one.
constexpr std::size_t kMaxReportBytes = std::size_t{16} << 20;

Status run_compliance(const Invocation& inv, const Args& args) {
    ComplianceOptions options;
    options.deep = args.has("--deep");
    // Diagnose mode: a KEK the token no longer vouches for is a finding to report, not a
    // reason to stop before the report.
    OpenOptions diagnose;
    diagnose.diagnose = true;
    KW_TRY(auto kw, inv.open_keyward(diagnose));
    KW_TRY(auto report, kw->compliance(options));
    if (auto path = args.get("--report")) {
        const std::string& text = report.sealed;
        KW_TRY_STATUS(write_private_file(
            *path, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            false));
    }
    if (auto path = args.get("--html")) {
        const std::string page = compliance_report_html(report);
        KW_TRY_STATUS(write_private_file(
            *path, ByteView(reinterpret_cast<const std::uint8_t*>(page.data()), page.size()),
            false));
    }
    if (inv.json) {
        // The report is the one JSON document, also when a check failed (exit 1 follows).
        inv.print_text(compliance_report_json(report) + "\n");
        inv.printed_document = true;
    } else {
        std::ostringstream out;
        out << "compliance of token \"" << escape_controls(report.token_label) << "\" ("
            << escape_controls(report.token_manufacturer) << " "
            << escape_controls(report.token_model) << ", serial "
            << escape_controls(report.token_serial) << ") at " << report.generated_at
            << (report.deep ? ", deep" : "") << "\n";
        for (const auto& c : report.checks) {
            std::string status(check_status_name(c.status));
            for (auto& ch : status) ch = static_cast<char>(std::toupper(ch));
            out << status << std::string(6 - status.size(), ' ') << escape_controls(c.id)
                << std::string(c.id.size() < 22 ? 22 - c.id.size() : 1, ' ')
                << escape_controls(c.clause) << "\n";
            for (const auto& o : c.objects) out << "      - " << escape_controls(o) << "\n";
        }
        out << report.count(CheckStatus::pass) << " pass, " << report.count(CheckStatus::info)
            << " info, " << report.count(CheckStatus::warn) << " warn, "
            << report.count(CheckStatus::fail) << " fail\n";
        inv.print_text(out.str());
    }
    if (!report.passed()) {
        return Error(Errc::failed, std::to_string(report.count(CheckStatus::fail)) +
                                       " compliance checks failed (listed above)");
    }
    return {};
}

Status run_verify_report(const Invocation& inv, const Args& args) {
    KW_TRY(auto bytes, read_input(args.positional()[0], kMaxReportBytes));
    OpenOptions diagnose;  // a failing installation's reports must still be checkable
    diagnose.diagnose = true;
    KW_TRY(auto kw, inv.open_keyward(diagnose));
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    KW_TRY(auto v, kw->verify_compliance_report(text));
    if (!v.genuine) {
        return Error(Errc::auth_failed, "the report is not genuine: " + v.reason);
    }
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("genuine", true)
            .field("key_version", v.key_version)
            .field("generated_at", v.generated_at)
            .field("failed_checks", v.failed_checks)
            .end_object();
        inv.print_json(j);
    } else {
        inv.print_text("genuine: made " + escape_controls(v.generated_at) +
                       " and MAC'd by audit key version " + std::to_string(v.key_version) +
                       " in this token; " + std::to_string(v.failed_checks) +
                       " checks failed in it\n");
    }
    return {};
}

}  // namespace

const Command kComplianceCommand = {
    "compliance",
    "check the token and the data against NIST SP 800-57 / 800-38D / 800-38F",
    "usage: keyward compliance [--report FILE] [--html FILE] [--deep] [--json]\n\n"
    "Runs every check of docs/COMPLIANCE.md against the token and the database as they are\n"
    "now (the token is the authority) and prints one line per check (PASS, INFO, WARN,\n"
    "FAIL) with the objects concerned. --report writes the JSON report, MAC'd by the\n"
    "token's audit key (keyward compliance verify-report checks it); --html a\n"
    "self-contained page of it; --deep also opens every record version. Needs the auditor\n"
    "or admin role. Exit 0 only if no check fails. The run is audited.\n",
    {{"--report", true}, {"--html", true}, {"--deep", false}},
    0,
    0,
    run_compliance};

const Command kComplianceVerifyCommand = {
    "compliance verify-report",
    "check that a compliance report was not edited",
    "usage: keyward compliance verify-report FILE [--json]\n\n"
    "Checks the MAC at the end of a report written by keyward compliance --report, in the\n"
    "token, over the file's exact bytes. Exit 0 when genuine; exit 3 when edited anywhere,\n"
    "truncated, or made by another installation.\n",
    {},
    1,
    1,
    run_verify_report};

}  // namespace keyward::cli
