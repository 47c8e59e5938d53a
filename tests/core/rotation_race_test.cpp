// SPDX-License-Identifier: Apache-2.0
// Puts whose seal races a whole rotation: the value must end under the active version, not
// under the one the rotation just left, since the rotation's cursor never comes back for it.
#include <catch2/catch.hpp>

#include <optional>

#include "services_fixture.hpp"
#include "support/secret_text.hpp"

using namespace keyward;
using keyward::test::ServicesFixture;
using keyward::test::str;
using keyward::test::text;

namespace {

// Arms the fake HSM: right after the next seal's wrap, the keyring is rotated to the end.
void rotate_after_next_wrap(ServicesFixture& f, const std::string& ring,
                            std::optional<RotationReport>& report) {
    f.hsm->after_next_wrap = [&f, ring, &report] {
        RotateOptions options;
        options.threads = 1;
        auto r = f.kw->rotate_keyring(ring, options);
        REQUIRE(r.ok());
        report = *r;
    };
}

}  // namespace

TEST_CASE("a put sealed under v1 while a rotation ran to the end is stored under v2") {
    ServicesFixture f;
    REQUIRE(f.kw->put_record("race/a", "custom_secret", text("first")).ok());
    std::optional<RotationReport> rotated;
    rotate_after_next_wrap(f, "race", rotated);
    auto version = f.kw->put_record("race/b", "custom_secret", text("second"));
    REQUIRE(version.ok());
    CHECK(*version == 1);
    REQUIRE(rotated);
    CHECK(rotated->state == RotationState::finished);
    CHECK(rotated->done == 1);  // race/a: race/b was not stored yet
    auto stored = f.kw->record_version("race/b");
    REQUIRE(stored.ok());
    CHECK(stored->kek_version == 2);
    CHECK(str(*f.kw->get_record("race/b")) == "second");
    auto ring = f.kw->keyring("race");
    REQUIRE(ring.ok());
    REQUIRE(ring->versions.size() == 2);
    CHECK(ring->versions[0].records == 0);
    CHECK(ring->versions[1].records == 2);
    CHECK(f.kw->retire_kek("race", 1).ok());
}

TEST_CASE("an import sealed under v1 while a rotation ran to the end is stored under v2") {
    ServicesFixture f;
    REQUIRE(f.kw->put_record("race/a", "custom_secret", text("first")).ok());
    std::vector<ImportItem> items;
    for (const char* name : {"i1", "i2", "i3"}) {
        ImportItem item;
        item.line = items.size() + 1;
        item.name = name;
        item.options.kind = "custom_secret";
        const std::string value = std::string("value ") + name;
        item.value.assign(value.begin(), value.end());
        items.push_back(std::move(item));
    }
    std::optional<RotationReport> rotated;
    rotate_after_next_wrap(f, "race", rotated);
    auto outcomes = f.kw->import_records("race", items);
    REQUIRE(outcomes.ok());
    REQUIRE(rotated);
    CHECK(rotated->done == 1);
    for (const auto& o : *outcomes) {
        INFO(o.name << ": " << o.error);
        CHECK(o.version == 1);
        auto stored = f.kw->record_version("race/" + o.name);
        REQUIRE(stored.ok());
        CHECK(stored->kek_version == 2);
        CHECK(str(*f.kw->get_record("race/" + o.name)) == "value " + o.name);
    }
    auto ring = f.kw->keyring("race");
    REQUIRE(ring.ok());
    CHECK(ring->versions[0].records == 0);
}
