// SPDX-License-Identifier: Apache-2.0
// Compliance runs (docs/COMPLIANCE.md): checks of the token and the data against NIST SP 800-57,
// 800-38D and 800-38F, each with an id, the clause it comes from, a verdict and the objects it
// concerns; and the report, MAC'd by the token's audit key so that it cannot be edited after
// the fact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/export.hpp"

namespace keyward {

/// pass: the condition holds; info: worth knowing, not a finding; warn: holds now, will not
/// for long (or needs a person's judgement); fail: the condition is broken.
enum class CheckStatus : std::uint8_t { pass, info, warn, fail };

/// "pass", "info", "warn", "fail".
KEYWARD_API std::string_view check_status_name(CheckStatus s) noexcept;

struct ComplianceCheck {
    std::string id;      ///< stable, e.g. "kek.attributes"
    std::string clause;  ///< e.g. "SP 800-57 Part 1 Rev. 5, 6.1.2"
    std::string title;   ///< what it checks, one line
    CheckStatus status = CheckStatus::pass;
    std::vector<std::string> objects;  ///< what it concerns (labels, keyrings, records, files)
    std::string evidence;              ///< what was looked at and found, one paragraph
};

struct ComplianceReport {
    std::string tool_version;  ///< keyward's
    std::string generated_at;  ///< ISO 8601 UTC
    std::string principal;     ///< who ran it
    std::string token_label, token_manufacturer, token_model, token_serial, token_firmware;
    bool deep = false;  ///< every record version was opened
    std::vector<ComplianceCheck> checks;
    /// The report file's text: compliance_report_json's bytes, then the MAC the token's audit
    /// key made over them (with its key version) as the last member. Not part of the JSON.
    std::string sealed;

    std::size_t count(CheckStatus s) const {
        std::size_t n = 0;
        for (const auto& c : checks) n += c.status == s ? 1 : 0;
        return n;
    }
    /// No check failed: the run's exit code is 0.
    bool passed() const { return count(CheckStatus::fail) == 0; }
};

struct ComplianceOptions {
    bool deep = false;  ///< also open every record version (keyward validate's work)
};

/// What verify_compliance_report found in a report file.
struct ReportVerification {
    bool genuine = false;           ///< the MAC verifies in the token over the exact bytes
    std::string reason;             ///< why not, one line ("" when genuine)
    std::uint32_t key_version = 0;  ///< the audit key version that made the MAC
    std::string generated_at;       ///< from the report, when genuine
    std::size_t failed_checks = 0;  ///< from the report, when genuine
};

/// The report as a JSON object without its MAC (the bytes the MAC covers), one check a line.
KEYWARD_API std::string compliance_report_json(const ComplianceReport& report);

/// One self-contained HTML page: the summary, then a table of checks with clause and evidence.
KEYWARD_API std::string compliance_report_html(const ComplianceReport& report);

}  // namespace keyward
