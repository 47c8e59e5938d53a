// SPDX-License-Identifier: Apache-2.0
// Rows of the Store port that several of its parts share: the token binding and keyrings with
// their KEK versions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/types.hpp"

namespace keyward::core {

/// The token a database belongs to.
struct TokenBinding {
    std::string serial;
    std::string label;
};

struct KekVersionRow {
    std::string keyring;
    std::uint32_t version = 0;
    KekState state = KekState::pre_active;
    std::string label;             // token object label, keyward:<ring>:v<version>
    Bytes object_id;               // CKA_ID
    Bytes check_value;             // first 8 bytes of the KEK's wrap of the fixed test key
    std::uint64_t wrap_count = 0;  // suite 2: wraps reserved so far (SP 800-38D limit)
    std::string created_at;
};

struct KeyringRow {
    std::string name;
    Suite suite = Suite::kwp;
    std::string created_at;
    std::uint32_t cryptoperiod_days = 365;
    std::vector<KekVersionRow> versions;  // ascending version
};

}  // namespace keyward::core
