// SPDX-License-Identifier: Apache-2.0
// SecretString keeps even short secrets on the heap, where the wiping allocator sees them.
#include <catch2/catch.hpp>

#include "keyward/bytes.hpp"

using keyward::SecretString;

namespace {

bool inside(const SecretString& s) {
    auto obj = reinterpret_cast<const char*>(&s);
    return s.data() >= obj && s.data() < obj + sizeof s;
}

}  // namespace

TEST_CASE("a short SecretString never uses the small-string buffer inside the object") {
    SecretString empty;
    CHECK_FALSE(inside(empty));
    SecretString pin("1234");
    CHECK_FALSE(inside(pin));
    SecretString copy = pin;
    CHECK_FALSE(inside(copy));
    CHECK(copy == "1234");
    SecretString moved = std::move(copy);
    CHECK_FALSE(inside(moved));
    copy = "5678";  // a moved-from string refilled
    CHECK_FALSE(inside(copy));
    SecretString assigned;
    assigned = moved;
    CHECK_FALSE(inside(assigned));
    CHECK(assigned == "1234");
    SecretString from_range(pin.begin(), pin.end());
    CHECK_FALSE(inside(from_range));
}
