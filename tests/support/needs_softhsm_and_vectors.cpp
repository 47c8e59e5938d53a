// For test executables that run the test vectors through a SoftHSM token: only SoftHSM can be
// missing, since the vectors are part of the repository (tests/vectors).
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    return softhsm_missing();
}
