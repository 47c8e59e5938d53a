// SPDX-License-Identifier: Apache-2.0
// Text for a terminal. Names, keyrings, kinds, tags, contexts and messages that quote them can
// hold anything a user typed or a database writer planted; shown raw, ESC or OSC sequences in
// them could set the window title, move the cursor or forge a line. Every text writer of the
// CLI goes through these functions.
#pragma once

#include <string>
#include <string_view>

namespace keyward::cli {

/// s with every byte that is not printable text written as \xNN (lowercase hex): the C0
/// controls (newline and tab included), DEL, the C1 controls U+0080-U+009F (as their two UTF-8
/// bytes, "\xc2\x9b") and any byte that is not part of well-formed UTF-8. Printable ASCII and
/// well-formed UTF-8 pass unchanged. A backslash is not doubled: the escaped text is for
/// people, and --json carries the exact value.
std::string escape_controls(std::string_view s);

/// The same for a document of lines: '\n' is kept as its line structure; every other control
/// is escaped. Already escaped text passes unchanged (it is printable).
std::string escape_controls_keep_lines(std::string_view s);

/// Writes "keyward: <message>\n" to stderr with the message escaped, so an error line is always
/// one line and never drives the terminal.
void print_error_line(std::string_view message);

}  // namespace keyward::cli
