// SPDX-License-Identifier: Apache-2.0
// KEK findings output (see kek_findings_output.hpp).
#include "kek_findings_output.hpp"

#include "terminal_text.hpp"

namespace keyward::cli {

void kek_findings_json(Json& j, const std::vector<KekFinding>& findings) {
    j.begin_array();
    for (const auto& f : findings) {
        j.begin_object()
            .field("keyring", f.keyring)
            .field("version", f.version)
            .field("code", f.code)
            .field("refused", f.refused)
            .field("message", f.message)
            .end_object();
    }
    j.end_array();
}

std::string kek_findings_text(const std::vector<KekFinding>& findings) {
    std::string out;
    // A message quotes labels and names from the database: one line each, whatever they hold.
    for (const auto& f : findings) out += "finding: " + escape_controls(f.message) + "\n";
    return out;
}

std::optional<Error> first_refusal(const std::vector<KekFinding>& findings) {
    for (const auto& f : findings) {
        if (f.refused) return Error(Errc::token_mismatch, f.message);
    }
    return std::nullopt;
}

}  // namespace keyward::cli
