// SPDX-License-Identifier: Apache-2.0
// Vocabulary shared by the API, the services and the adapters: suites, key states, limits.
#pragma once

#include "keyward/export.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/bytes.hpp"

namespace keyward {

/// Envelope suite (docs/FORMAT.md): how the DEK is wrapped by the KEK.
enum class Suite : std::uint8_t {
    kwp = 1,  ///< RFC 5649 AES key wrap with padding, C_WrapKey/C_UnwrapKey (default)
    gcm = 2,  ///< AES-256-GCM in the token, C_Encrypt/C_Decrypt
};

/// NIST SP 800-57 Part 1 key states.
enum class KekState : std::uint8_t { pre_active, active, decrypt_only, compromised, destroyed };

KEYWARD_API std::string_view suite_name(Suite s) noexcept;
KEYWARD_API std::string_view kek_state_name(KekState s) noexcept;
KEYWARD_API std::optional<KekState> parse_kek_state(std::string_view s) noexcept;

inline constexpr std::size_t kMaxPlaintext = 64u * 1024u * 1024u;  // 64 MiB
inline constexpr std::size_t kMaxContext = 65535;
inline constexpr std::size_t kMaxKeyringName = 64;
inline constexpr std::size_t kDekSize = 32;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kMinDataKeySize = 16;
inline constexpr std::size_t kMaxDataKeySize = 64;

/// A data key for callers that run their own cipher (AWS calls this GenerateDataKey).
struct DataKey {
    SecretBytes key;  ///< the data key in the clear; wiped when destroyed
    Bytes blob;       ///< KWK1 blob to keep beside the data
};

/// true when name follows the keyring grammar: 1..64 ASCII, [a-z0-9] then [a-z0-9._-].
KEYWARD_API bool is_valid_keyring_name(std::string_view name) noexcept;

/// Token label of a KEK version: "keyward:<keyring>:v<version>".
KEYWARD_API std::string kek_label(std::string_view keyring, std::uint32_t version);

/// A duration as the CLI and keywardd take it: "90", "90s", "15m", "24h", "30d" (at most 9
/// digits, then an optional unit) as seconds; nullopt for anything else.
KEYWARD_API std::optional<std::uint64_t> parse_duration_seconds(std::string_view text) noexcept;

}  // namespace keyward
