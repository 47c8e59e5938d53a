// SPDX-License-Identifier: Apache-2.0
// Where a PIN comes from: "env:VAR", "file:PATH" or "prompt" (the terminal, without echo).
// PINs are never taken from the command line, where any user could read them in ps.
#pragma once

#include <string_view>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::p11 {

/// Reads a PIN from `source`:
///  - "env:VAR": the value of environment variable VAR;
///  - "file:PATH": the file's content without one trailing "\n" (or "\r\n"); the file must not
///    be accessible to group or others (chmod 600);
///  - "prompt": asks on /dev/tty with echo off, showing `prompt_text`.
/// Errc::bad_config for an unknown source, an unset or empty variable, an unreadable, empty or
/// group/other-accessible file, or no terminal to prompt on. Messages never contain the PIN.
Result<SecretString> read_pin(std::string_view source, std::string_view prompt_text = "PIN: ");

}  // namespace keyward::p11
