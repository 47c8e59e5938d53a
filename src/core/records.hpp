// Records service: wallets and credentials stored as versioned envelopes. Each version is sealed
// with the context "record:NS/NAME#V" (spec/CLI.md), so a stored envelope opens outside keyward
// with that context. Namespaces map to a keyring, by default the one of the same name, made on
// first use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/envelopes.hpp"
#include "core/keyrings.hpp"
#include "core/store.hpp"

namespace keyward::core {

struct RecordAddress {
    std::string ns;
    std::string name;
    std::string text() const { return ns + "/" + name; }
};

/// NS/NAME per spec/CLI.md: NS is [a-z0-9][a-z0-9._-]* (at most 64, as it names a keyring),
/// NAME one or more such segments joined by '/'. Errc::usage naming the rule otherwise.
Result<RecordAddress> parse_record_address(const std::string& text);

/// One of the kinds of spec/CLI.md.
bool is_record_kind(std::string_view kind) noexcept;

/// "record:NS/NAME#V".
std::string record_context(const RecordAddress& address, std::uint32_t version);

class Records {
  public:
    Records(Store& store, Keyrings& keyrings, Envelopes& envelopes)
        : store_(store), keyrings_(keyrings), envelopes_(envelopes) {}

    /// Stores value as the record's next version; returns the version. A writer that loses
    /// the race for a version number re-seals for the next one (a few times, then
    /// Errc::conflict: retry).
    Result<std::uint32_t> put(const RecordAddress& address, const std::string& kind, ByteView value,
                              const std::optional<std::string>& expires_at,
                              const std::string& actor);

    /// Plaintext of a version (latest when nullopt).
    Result<SecretBytes> get(const RecordAddress& address, std::optional<std::uint32_t> version);

    /// The stored version itself, envelope unopened.
    Result<RecordVersionRow> version(const RecordAddress& address,
                                     std::optional<std::uint32_t> version);

    Result<std::vector<RecordRow>> list(const std::string& ns, const std::string& kind);

  private:
    Result<std::string> keyring_for(const std::string& ns);

    Store& store_;
    Keyrings& keyrings_;
    Envelopes& envelopes_;
};

}  // namespace keyward::core
