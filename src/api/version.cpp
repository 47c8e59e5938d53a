// SPDX-License-Identifier: Apache-2.0
#include "keyward/version.hpp"

#include "keyward_build_config.h"

namespace keyward {

const char* version() noexcept {
    return KEYWARD_VERSION;
}

}  // namespace keyward
