// For test executables that read Wycheproof vectors from ../shared/vectors ($KEYWARD_VECTORS).
#include "support/test_env.hpp"

std::optional<std::string> keyward::test::skip_reason() {
    return vectors_missing();
}
