// SPDX-License-Identifier: Apache-2.0
// A keyward handle over the fake HSM and a real SQLite file in a fresh directory.
#pragma once

#include <filesystem>
#include <memory>

#include "core/assemble.hpp"
#include "fake_hsm.hpp"
#include "keyward/keyward.hpp"
#include "store/sqlite_store.hpp"
#include "support/test_env.hpp"

namespace keyward::test {

struct ServicesFixture {
    std::filesystem::path dir = fresh_dir("core");
    std::filesystem::path db_path = dir / "keyward.db";
    Config config;
    FakeHsm* hsm = nullptr;  // owned by kw
    std::unique_ptr<Keyward> kw;

    explicit ServicesFixture(std::uint64_t gcm_limit = std::uint64_t{1} << 31,
                             std::uint64_t gcm_reserve = 256) {
        config.gcm_wrap_limit = gcm_limit;
        config.gcm_wrap_reserve = gcm_reserve;
        auto fake = std::make_unique<FakeHsm>();
        hsm = fake.get();
        kw = reopen(std::move(fake));
    }

    std::unique_ptr<Keyward> reopen(std::unique_ptr<FakeHsm> fake) {
        auto store = store::SqliteStore::open(db_path, store::Database::Mode::create_if_missing);
        if (!store.ok()) throw std::runtime_error(store.error().message());
        auto handle = core::assemble(std::move(fake), std::move(*store), config);
        if (!handle.ok()) throw std::runtime_error(handle.error().message());
        return std::move(*handle);
    }

    /// Raw SQL on the database file, for tests that stage states the API cannot make yet.
    void sql(const char* statement) {
        auto db = store::Database::open(db_path, store::Database::Mode::open_existing);
        if (!db.ok() || !db->exec(statement).ok()) throw std::runtime_error("sql failed");
    }
};

}  // namespace keyward::test
