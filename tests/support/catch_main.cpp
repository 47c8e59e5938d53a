// Catch2 main shared by every test executable. An executable whose prerequisites are missing
// (no SoftHSM installed, no Wycheproof vectors) says why and exits 77, meson's "skipped".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>

#include "support/test_env.hpp"

int main(int argc, char** argv) {
    if (auto reason = keyward::test::skip_reason()) {
        std::cerr << "SKIP: " << *reason << "\n";
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
