// SPDX-License-Identifier: Apache-2.0
// Locating libsofthsm2.so: the build's setting first, then the usual install paths.
#include "p11/softhsm.hpp"

#include <unistd.h>

#include <array>
#include <string_view>

#include "keyward_build_config.h"

namespace keyward::p11 {

std::optional<std::string> find_softhsm_module() {
    constexpr std::string_view configured = KEYWARD_SOFTHSM_MODULE;
    if (!configured.empty()) {
        // An explicit build setting is used as given, even when missing: loading it then
        // reports a clear "cannot load" error instead of silently using another module.
        return std::string(configured);
    }
    constexpr std::array<const char*, 4> kCandidates = {
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    };
    for (const char* path : kCandidates) {
        if (::access(path, R_OK) == 0) return std::string(path);
    }
    return std::nullopt;
}

}  // namespace keyward::p11
