// For test executables that need a SoftHSM module (tokens are made fresh under the build tree).
#include <cstdlib>

#include "p11/softhsm.hpp"
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    if (!keyward::p11::find_softhsm_module()) {
        return std::string(
            "SoftHSM not found: install softhsm2 or configure "
            "-Dsofthsm_module=/path/to/libsofthsm2.so");
    }
    const char* conf_in = std::getenv("KEYWARD_SOFTHSM_CONF_IN");
    if (conf_in == nullptr || *conf_in == '\0') {
        return std::string("KEYWARD_SOFTHSM_CONF_IN is not set: run the tests through meson test");
    }
    return std::nullopt;
}
