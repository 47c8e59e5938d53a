// SPDX-License-Identifier: Apache-2.0
// Records service: wallets and credentials stored as versioned envelopes. Each version is sealed
// with the context "record:NS/NAME#V" (docs/CLI.md), so a stored envelope opens outside keyward
// with that context. Namespaces map to a keyring, by default the one of the same name, made on
// first use. Lifecycle: active -> revoked -> deleted -> purged, deleted -> recover; "expired"
// is an active record past its expiry (docs/RECORDS.md).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/envelopes.hpp"
#include "core/hsm.hpp"
#include "core/keyrings.hpp"
#include "core/record_address.hpp"
#include "core/store.hpp"

namespace keyward::core {

/// What `rotate-secret --due` did for one record.
struct DueRotation {
    std::string address;
    std::uint32_t version = 0;  ///< 0 when it failed
    std::optional<Error> error;
};

inline constexpr std::size_t kMinGeneratedBytes = 16;
inline constexpr std::size_t kMaxGeneratedBytes = 4096;
inline constexpr std::size_t kDefaultGeneratedBytes = 32;

class Records {
  public:
    Records(Store& store, Hsm& hsm, Keyrings& keyrings, Envelopes& envelopes)
        : store_(store), hsm_(hsm), keyrings_(keyrings), envelopes_(envelopes) {}

    /// Stores value as the record's next version; returns the version. A writer that loses
    /// the race for a version number re-seals for the next one (a few times, then
    /// Errc::conflict: retry).
    Result<std::uint32_t> put(const RecordAddress& address, const PutOptions& options,
                              ByteView value, const std::string& actor);
    /// A new version holding `bytes` random bytes from the token's RNG.
    Result<std::uint32_t> put_generated(const RecordAddress& address, const PutOptions& options,
                                        std::size_t bytes, const std::string& actor);
    /// Version N's value as the new latest version; it keeps N's value_since and expiry.
    Result<std::uint32_t> restore(const RecordAddress& address, std::uint32_t version,
                                  const std::string& actor);
    /// A new generated version (length: `bytes`, else the record's, else 32).
    Result<std::uint32_t> rotate_secret(const RecordAddress& address,
                                        std::optional<std::size_t> bytes, const std::string& actor);
    /// rotate_secret for every live auto-rotate record of `ns` (all when empty) that is due.
    Result<std::vector<DueRotation>> rotate_due(const std::string& ns, const std::string& now,
                                                const std::string& actor);
    /// Bulk put into one namespace: validated and sealed one by one, stored in one
    /// transaction. A refused item is reported and the others land.
    Result<std::vector<ImportOutcome>> put_batch(const std::string& ns,
                                                 std::span<const ImportItem> items,
                                                 const std::string& actor);

    /// Plaintext of a version (latest when nullopt). Refused for revoked, deleted and purged
    /// records.
    Result<SecretBytes> get(const RecordAddress& address, std::optional<std::uint32_t> version);
    /// The stored version itself, envelope unopened (same state rules as get).
    Result<RecordVersionRow> version(const RecordAddress& address,
                                     std::optional<std::uint32_t> version);
    Result<std::vector<RecordVersionRow>> versions(const RecordAddress& address);
    /// The record in any state, including deleted and purged.
    Result<RecordRow> info(const RecordAddress& address);

    Status revoke(const RecordAddress& address, const std::string& actor);
    Status remove(const RecordAddress& address, const std::string& actor);
    Status recover(const RecordAddress& address, const std::string& actor);
    Status purge(const RecordAddress& address, const std::string& actor);
    Status update(const RecordAddress& address, const MetadataUpdate& update,
                  const std::string& actor);

    Result<std::vector<RecordRow>> list(const RecordFilter& filter, const std::string& now);
    Result<RecordStats> stats(const std::string& now);

    /// Maps a namespace to an existing keyring before its first record.
    Status map_namespace(const std::string& ns, const std::string& keyring);

  private:
    struct Prepared;
    Result<Prepared> prepare(const RecordAddress& address, const PutOptions& options,
                             ByteView value);
    Result<RecordPut> seal_put(const RecordAddress& address, const Prepared& prepared,
                               ByteView value, std::uint32_t version, const std::string& actor);
    Result<std::uint32_t> store_with_retry(const RecordAddress& address, const Prepared& prepared,
                                           ByteView value, const std::string& actor);
    Result<std::string> keyring_for(const std::string& ns);
    Result<RecordRow> existing(const RecordAddress& address);

    Store& store_;
    Hsm& hsm_;
    Keyrings& keyrings_;
    Envelopes& envelopes_;
};

}  // namespace keyward::core
