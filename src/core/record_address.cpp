// SPDX-License-Identifier: Apache-2.0
// NS/NAME parsing. Names are plain lowercase ASCII so that they are safe in file names, logs,
// URIs and shell commands without quoting, and so that one record has one spelling.
#include "core/record_address.hpp"

#include <string_view>

#include "keyward/types.hpp"

namespace keyward {
namespace core {

namespace {

bool is_segment(std::string_view s) {
    auto first_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (s.empty() || !first_ok(s[0])) return false;
    for (char c : s.substr(1)) {
        if (!first_ok(c) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
}

constexpr std::size_t kMaxNameLength = 512;

const std::string kRule =
    "; use NS/NAME: NS is a lowercase letter or digit, then [a-z0-9._-] (at most 64), NAME one "
    "or more such segments joined by '/'";

}  // namespace

Result<RecordAddress> parse_record_address(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos) {
        return Error(Errc::usage, "record address \"" + text + "\" has no '/'" + kRule);
    }
    RecordAddress a{text.substr(0, slash), text.substr(slash + 1)};
    KW_TRY_STATUS(check_namespace(a.ns));
    const Error bad_name(Errc::usage, "invalid record name \"" + a.name + "\"" + kRule +
                                          " (at most " + std::to_string(kMaxNameLength) +
                                          " characters)");
    if (a.name.size() > kMaxNameLength) return bad_name;
    std::string_view rest = a.name;
    do {
        auto next = rest.find('/');
        if (!is_segment(rest.substr(0, next))) return bad_name;
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        if (next != std::string_view::npos && rest.empty()) return bad_name;
    } while (!rest.empty());
    return a;
}

std::string record_context(const RecordAddress& address, std::uint32_t version) {
    return "record:" + address.text() + "#" + std::to_string(version);
}

}  // namespace core

Status check_namespace(const std::string& ns) {
    if (!core::is_segment(ns) || ns.size() > kMaxKeyringName) {
        return Error(Errc::usage, "invalid namespace \"" + ns + "\"" + core::kRule);
    }
    return {};
}

}  // namespace keyward
