// For test executables that read Wycheproof vectors from ../shared/vectors ($KEYWARD_VECTORS).
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    if (vectors_dir()) return std::nullopt;
    return std::string("Wycheproof vectors not found: set KEYWARD_VECTORS or place them in "
                       "../shared/vectors beside the source tree");
}
