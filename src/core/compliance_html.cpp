// SPDX-License-Identifier: Apache-2.0
// A compliance report as one self-contained HTML page (no script, no outside resource): the
// summary, then a table of checks with clause, objects and evidence. Every text is escaped.
#include <string>

#include "keyward/compliance.hpp"

namespace keyward {

namespace {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += ch;
        }
    }
    return out;
}

}  // namespace

std::string compliance_report_html(const ComplianceReport& r) {
    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'\">\n";
    h += "<title>keyward compliance report " + escape(r.generated_at) + "</title>\n";
    h += "<style>body{font-family:sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4em;"
         "vertical-align:top;text-align:left}th{background:#f3f3f3}"
         ".pass{background:#e6f4ea}.info{background:#e8f0fe}.warn{background:#fef7e0}"
         ".fail{background:#fce8e6;font-weight:bold}ul{margin:0;padding-left:1.2em}</style>\n";
    h += "</head><body>\n<h1>keyward compliance report</h1>\n";
    h += "<p>" + std::string(r.passed() ? "No check failed." : "At least one check failed.") + " " +
         std::to_string(r.count(CheckStatus::pass)) + " pass, " +
         std::to_string(r.count(CheckStatus::info)) + " info, " +
         std::to_string(r.count(CheckStatus::warn)) + " warn, " +
         std::to_string(r.count(CheckStatus::fail)) + " fail.</p>\n";
    h += "<table><tr><th>generated</th><td>" + escape(r.generated_at) + "</td></tr>";
    h += "<tr><th>by</th><td>" + escape(r.principal) + " with keyward " + escape(r.tool_version) +
         (r.deep ? " (deep: every record opened)" : "") + "</td></tr>";
    h += "<tr><th>token</th><td>" + escape(r.token_label) + ": " + escape(r.token_manufacturer) +
         " " + escape(r.token_model) + ", serial " + escape(r.token_serial) + ", firmware " +
         escape(r.token_firmware) + "</td></tr></table>\n";
    h += "<p>The JSON report beside this page carries the token's MAC; this page does not. "
         "Check the JSON with <code>keyward compliance verify-report FILE</code>.</p>\n";
    h += "<table>\n<tr><th>status</th><th>check</th><th>clause</th><th>objects</th>"
         "<th>evidence</th></tr>\n";
    for (const auto& c : r.checks) {
        const std::string status(check_status_name(c.status));
        h += "<tr class=\"" + status + "\"><td>" + status + "</td><td><b>" + escape(c.id) +
             "</b><br>" + escape(c.title) + "</td><td>" + escape(c.clause) + "</td><td>";
        if (!c.objects.empty()) {
            h += "<ul>";
            for (const auto& o : c.objects) h += "<li>" + escape(o) + "</li>";
            h += "</ul>";
        }
        h += "</td><td>" + escape(c.evidence) + "</td></tr>\n";
    }
    h += "</table>\n</body></html>\n";
    return h;
}

}  // namespace keyward
