// For test executables that run Wycheproof vectors through a SoftHSM token: both must exist.
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    if (auto reason = softhsm_missing()) return reason;
    return vectors_missing();
}
