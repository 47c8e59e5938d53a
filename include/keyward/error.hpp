// SPDX-License-Identifier: Apache-2.0
// keyward's error model: every fallible call returns Result<T> (a value or an Error with a
// code and a one-line message that says what is wrong and what to do). No exceptions cross
// the library's boundary.
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace keyward {

// Codes are grouped by the CLI exit code they map to (docs/CLI.md); see exit_code().
enum class Errc : std::uint16_t {
    ok = 0,
    // exit 1: any other failure
    failed,
    io_error,
    database_error,
    database_locked,  // another process kept the database locked past the busy budget; retry
    hsm_error,        // the token answered with an unexpected CK_RV
    already_exists,
    conflict,         // a concurrent writer won; retry
    state_refused,    // the object's state forbids the operation
    limit_reached,    // suite 2 wrap limit, sizes outside policy
    input_too_large,  // > 64 MiB plaintext or ciphertext
    unsupported,      // the token lacks a needed mechanism
    bad_input,        // a value or input line that is not what its format or kind requires
    // exit 2: usage
    usage,
    bad_config,
    // exit 3: authentication failed, malformed or mismatched input
    auth_failed,
    bad_magic,
    unsupported_format_version,
    unknown_suite,
    bad_keyring_length,
    bad_keyring_name,
    bad_kek_version,
    bad_wrapped_dek_length,
    truncated,       // fewer bytes than the header says
    too_short,       // shorter than header + nonce + tag
    trailing_bytes,  // data key blob with bytes after the wrapped DEK
    bad_dek_length,  // unwrapped DEK of a length the format does not allow
    bad_text_form,   // kwe1:/kwk1: text that is not exactly prefix + padded base64
    // exit 4
    not_found,
    // exit 5
    access_denied,
    // exit 6: the HSM cannot be used as configured
    hsm_unavailable,
    pin_incorrect,
    pin_locked,
    token_mismatch,  // database bound to another token, or a KEK was replaced
    // exit 5, added after the others so that the codes above keep their numbers
    policy_refused,  // a keyring policy (min_decryption_version...) forbids the operation
};

/// Exit code of docs/CLI.md for an error code.
KEYWARD_API int exit_code(Errc code) noexcept;

/// Stable lower-case name of a code ("auth_failed"), for JSON output and logs.
KEYWARD_API std::string_view errc_name(Errc code) noexcept;

class Error {
  public:
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
    Errc code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    int exit_code() const noexcept { return keyward::exit_code(code_); }

    /// Same code, message prefixed with where it happened ("sealing for keyring x: ...").
    Error context(std::string_view where) const {
        return Error(code_, std::string(where) + ": " + message_);
    }

  private:
    Errc code_;
    std::string message_;
};

/// Errc::io_error for a system call that failed on a file, in the one wording every layer
/// uses: "WHAT PATH: REASON", the reason being strerror(errnum) ("cannot open /x: Permission
/// denied"). Pass errno as it was right after the failed call, and a std::filesystem::path as
/// path.native(). The path is a string_view, not a std::filesystem::path, because <filesystem>
/// brings <iomanip> into every file that includes this one, and std::quoted with it, which
/// takes over unqualified calls to a function of that name.
KEYWARD_API Error io_error(std::string_view what, std::string_view path, int errnum);

/// A value of T or an Error. Deliberately small: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

  private:
    std::variant<T, Error> v_;
};

/// Result of an operation that returns nothing.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& { return err_; }
    Error&& error() && { return std::move(err_); }

  private:
    Error err_{Errc::ok, {}};
    bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() {
    return {};
}

}  // namespace keyward

// Propagate an error: KW_TRY(auto x, make_x()); or KW_TRY_STATUS(do_thing());
#define KW_CONCAT_INNER(a, b) a##b
#define KW_CONCAT(a, b) KW_CONCAT_INNER(a, b)
#define KW_TRY_IMPL(tmp, decl, expr)              \
    auto tmp = (expr);                            \
    if (!tmp.ok()) return std::move(tmp).error(); \
    decl = std::move(tmp).value()
#define KW_TRY(decl, expr) KW_TRY_IMPL(KW_CONCAT(kw_try_, __LINE__), decl, expr)
#define KW_TRY_STATUS(expr)                                         \
    do {                                                            \
        auto kw_status_ = (expr);                                   \
        if (!kw_status_.ok()) return std::move(kw_status_).error(); \
    } while (0)
