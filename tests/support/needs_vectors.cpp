// For test executables that read the test vectors. They are part of the repository
// (tests/vectors), so nothing is checked here: a missing file fails the test that reads it, and
// never skips the executable.
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    return std::nullopt;
}
