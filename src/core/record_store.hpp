// The records part of the Store port: wallets and credentials, their versions and envelopes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::core {

struct RecordVersionRow {
    std::string ns, name;
    std::uint32_t version = 0;
    Bytes envelope;
    std::string keyring;
    std::uint32_t kek_version = 0;
    std::string created_at, created_by;
    std::optional<std::string> expires_at;
};

struct RecordRow {
    std::string ns, name, kind, state;
    std::uint32_t latest = 0;
    std::string created_at, updated_at;
};

/// One new version, sealed for `version` (its context names the version).
struct RecordPut {
    std::string ns, name, kind, keyring, created_by;
    std::optional<std::string> expires_at;
    std::uint32_t version = 1;
    Bytes envelope;
    std::uint32_t kek_version = 0;
};

class RecordStore {
  public:
    virtual ~RecordStore() = default;

    /// The keyring a namespace maps to, recording `keyring` for it on first use.
    virtual Result<std::string> namespace_keyring(const std::string& ns,
                                                  const std::string& keyring_if_new) = 0;

    /// Adds put.version in one write transaction, only if it is exactly the record's next
    /// version (1 for a new record); Errc::conflict when another writer took it first (the
    /// caller re-seals for the next one). A kind differing from the record's is refused.
    virtual Status put_record(const RecordPut& put) = 0;

    virtual Result<std::optional<RecordRow>> find_record(const std::string& ns,
                                                         const std::string& name) = 0;
    /// One version (latest when version is nullopt).
    virtual Result<std::optional<RecordVersionRow>> record_version(
        const std::string& ns, const std::string& name, std::optional<std::uint32_t> version) = 0;
    virtual Result<std::vector<RecordVersionRow>> record_versions(const std::string& ns,
                                                                  const std::string& name) = 0;
    /// Records of a namespace (all when empty), optionally of one kind, name order.
    virtual Result<std::vector<RecordRow>> list_records(const std::string& ns,
                                                        const std::string& kind) = 0;
};

}  // namespace keyward::core
