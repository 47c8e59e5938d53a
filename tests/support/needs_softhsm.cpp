// SPDX-License-Identifier: Apache-2.0
// For test executables that need a SoftHSM module (tokens are made fresh under the build tree).
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    return softhsm_missing();
}
