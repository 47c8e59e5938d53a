// SPDX-License-Identifier: Apache-2.0
// Error codes to CLI exit codes (docs/CLI.md) and to stable names; the io_error wording.
#include "keyward/error.hpp"

#include <cstring>

namespace keyward {

Error io_error(std::string_view what, std::string_view path, int errnum) {
    std::string message(what);
    message.append(" ").append(path).append(": ").append(std::strerror(errnum));
    return Error(Errc::io_error, std::move(message));
}

int exit_code(Errc code) noexcept {
    switch (code) {
        case Errc::ok:
            return 0;
        case Errc::usage:
        case Errc::bad_config:
            return 2;
        case Errc::auth_failed:
        case Errc::bad_magic:
        case Errc::unsupported_format_version:
        case Errc::unknown_suite:
        case Errc::bad_keyring_length:
        case Errc::bad_keyring_name:
        case Errc::bad_kek_version:
        case Errc::bad_wrapped_dek_length:
        case Errc::truncated:
        case Errc::too_short:
        case Errc::trailing_bytes:
        case Errc::bad_dek_length:
        case Errc::bad_text_form:
            return 3;
        case Errc::not_found:
            return 4;
        case Errc::access_denied:
        case Errc::policy_refused:
            return 5;
        case Errc::hsm_unavailable:
        case Errc::pin_incorrect:
        case Errc::pin_locked:
        case Errc::token_mismatch:
            return 6;
        default:
            return 1;
    }
}

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::ok:
            return "ok";
        case Errc::failed:
            return "failed";
        case Errc::io_error:
            return "io_error";
        case Errc::database_error:
            return "database_error";
        case Errc::database_locked:
            return "database_locked";
        case Errc::hsm_error:
            return "hsm_error";
        case Errc::already_exists:
            return "already_exists";
        case Errc::conflict:
            return "conflict";
        case Errc::state_refused:
            return "state_refused";
        case Errc::limit_reached:
            return "limit_reached";
        case Errc::input_too_large:
            return "input_too_large";
        case Errc::unsupported:
            return "unsupported";
        case Errc::bad_input:
            return "bad_input";
        case Errc::usage:
            return "usage";
        case Errc::bad_config:
            return "bad_config";
        case Errc::auth_failed:
            return "auth_failed";
        case Errc::bad_magic:
            return "bad_magic";
        case Errc::unsupported_format_version:
            return "unsupported_format_version";
        case Errc::unknown_suite:
            return "unknown_suite";
        case Errc::bad_keyring_length:
            return "bad_keyring_length";
        case Errc::bad_keyring_name:
            return "bad_keyring_name";
        case Errc::bad_kek_version:
            return "bad_kek_version";
        case Errc::bad_wrapped_dek_length:
            return "bad_wrapped_dek_length";
        case Errc::truncated:
            return "truncated";
        case Errc::too_short:
            return "too_short";
        case Errc::trailing_bytes:
            return "trailing_bytes";
        case Errc::bad_dek_length:
            return "bad_dek_length";
        case Errc::bad_text_form:
            return "bad_text_form";
        case Errc::not_found:
            return "not_found";
        case Errc::access_denied:
            return "access_denied";
        case Errc::hsm_unavailable:
            return "hsm_unavailable";
        case Errc::pin_incorrect:
            return "pin_incorrect";
        case Errc::pin_locked:
            return "pin_locked";
        case Errc::token_mismatch:
            return "token_mismatch";
        case Errc::policy_refused:
            return "policy_refused";
    }
    return "unknown";
}

}  // namespace keyward
