// SPDX-License-Identifier: Apache-2.0
// The facade's insides, shared by the files that implement keyward::Keyward.
#pragma once

#include <memory>

#include "core/envelopes.hpp"
#include "core/hsm.hpp"
#include "core/keyrings.hpp"
#include "core/records.hpp"
#include "core/rotation.hpp"
#include "core/store.hpp"
#include "core/wrap_budget.hpp"
#include "keyward/keyward.hpp"

namespace keyward {

struct Keyward::Impl {
    Impl(std::unique_ptr<core::Hsm> h, std::unique_ptr<core::Store> s, const Config& cfg)
        : hsm(std::move(h)),
          store(std::move(s)),
          keyrings(*hsm, *store),
          budget(*store, cfg.gcm_wrap_limit, cfg.gcm_wrap_reserve),
          envelopes(*hsm, keyrings, budget),
          records(*store, *hsm, keyrings, envelopes),
          rotation(*store, *hsm, keyrings, envelopes, budget),
          config(cfg) {}

    std::unique_ptr<core::Hsm> hsm;
    std::unique_ptr<core::Store> store;
    core::Keyrings keyrings;
    core::WrapBudget budget;
    core::Envelopes envelopes;
    core::Records records;
    core::Rotation rotation;
    Config config;
    TokenSummary token;
};

/// Who made a change: the OS user, until access control names principals.
std::string current_actor();

}  // namespace keyward
