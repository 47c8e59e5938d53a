// The Store port: what the services keep in a database. src/store implements it over SQLite;
// a PostgreSQL adapter can implement the same interface later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/record_store.hpp"
#include "keyward/bytes.hpp"
#include "keyward/error.hpp"
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

/// Keyrings here; records in RecordStore (core/record_store.hpp).
class Store : public RecordStore {
  public:
    virtual Result<std::optional<TokenBinding>> token_binding() = 0;
    virtual Status bind_token(const TokenBinding& binding) = 0;

    virtual Result<std::optional<KeyringRow>> find_keyring(const std::string& name) = 0;
    virtual Result<std::vector<KeyringRow>> list_keyrings() = 0;

    /// Inserts the keyring and its versions in one transaction; Errc::already_exists when
    /// the name is taken.
    virtual Status create_keyring(const KeyringRow& keyring) = 0;

    /// The version of a keyring, or nullopt.
    virtual Result<std::optional<KekVersionRow>> find_version(const std::string& keyring,
                                                              std::uint32_t version) = 0;

    /// The active version of a keyring (nullopt when the keyring does not exist).
    virtual Result<std::optional<KekVersionRow>> active_version(const std::string& keyring) = 0;

    /// Durably adds n to the version's wrap counter, refusing (Errc::limit_reached, nothing
    /// written) when the result would exceed limit. Returns the new counter.
    virtual Result<std::uint64_t> reserve_wraps(const std::string& keyring, std::uint32_t version,
                                                std::uint64_t n, std::uint64_t limit) = 0;

    /// How many stored records each version still protects (0 before records exist).
    virtual Result<std::uint64_t> records_under(const std::string& keyring,
                                                std::uint32_t version) = 0;
};

}  // namespace keyward::core
