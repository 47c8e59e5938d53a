// SPDX-License-Identifier: Apache-2.0
// Keyring policies (KeyringPolicy: the Transit version window, deletion, auto-rotation) kept in
// the token, not the database: a database writer could otherwise lower a keyring's
// min_decryption_version or allow its deletion. Each change is a new private, non-modifiable
// CKO_DATA object with a higher sequence number; the older ones are destroyed after it reads
// back, and a reader takes the highest (a kill in between leaves two: the newer counts).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/hsm.hpp"
#include "keyward/keyward.hpp"

namespace keyward::core {

/// CKA_APPLICATION of every policy object.
inline constexpr std::string_view kPolicyApplication = "keyward keyring policy";

/// The object's CKA_VALUE: "keyward-keyring-policy/1\nkeyring=K\nseq=N\n..." (one field a
/// line, in a fixed order).
std::string encode_keyring_policy(const std::string& keyring, std::uint64_t seq,
                                  const KeyringPolicy& policy);
struct DecodedPolicy {
    std::string keyring;
    std::uint64_t seq = 0;
    KeyringPolicy policy;
};
/// Inverse of encode_keyring_policy; nullopt for anything else.
std::optional<DecodedPolicy> decode_keyring_policy(ByteView value);

/// Whether two policies say the same (updated_at aside).
bool same_policy(const KeyringPolicy& a, const KeyringPolicy& b);

class KeyringPolicies {
  public:
    explicit KeyringPolicies(Hsm& hsm) : hsm_(hsm) {}

    /// The keyring's policy (its defaults when the token holds none). Re-read from the token
    /// when the last read is older than kMaxAge, so that another process's change is seen; a
    /// failed re-read keeps the last one and is retried after kMaxAge.
    Result<KeyringPolicy> get(const std::string& keyring);
    /// The keyring's policy as the token holds it now, and whether it holds one.
    Result<std::pair<KeyringPolicy, bool>> read_now(const std::string& keyring);
    /// Reads the policy from the token now, lets `change` edit it, and writes it when it
    /// changed (updated_at set): a new object, then the older ones destroyed. Callers hold the
    /// database's write lock (Store::with_write_lock), so that two processes' changes cannot
    /// interleave and one undo the other. Returns the policy in force afterwards.
    Result<KeyringPolicy> update(const std::string& keyring,
                                 const std::function<Status(KeyringPolicy&)>& change);
    /// Destroys every policy object of the keyring (it was deleted).
    Status remove(const std::string& keyring);

    static constexpr std::chrono::seconds kMaxAge{2};

  private:
    struct Entry {
        std::uint64_t seq = 0;
        KeyringPolicy policy;
        std::vector<std::string> labels;  ///< every object of the keyring
    };
    Status load_locked();
    Status refresh_locked();
    Status put_locked(const std::string& keyring, const KeyringPolicy& policy);

    Hsm& hsm_;
    std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::chrono::steady_clock::time_point loaded_at_{};
    bool loaded_ = false;
};

}  // namespace keyward::core
