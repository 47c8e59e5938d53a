// SPDX-License-Identifier: Apache-2.0
// Keyring policies in the token (see keyring_policies.hpp).
#include "core/keyring_policies.hpp"

#include <charconv>
#include <vector>

#include "core/clock.hpp"

namespace keyward::core {

namespace {

constexpr std::string_view kMagic = "keyward-keyring-policy/1";

std::string label_of(const std::string& keyring, std::uint64_t seq) {
    return "keyward-policy:" + keyring + ":" + std::to_string(seq);
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string encode_keyring_policy(const std::string& keyring, std::uint64_t seq,
                                  const KeyringPolicy& p) {
    std::string out(kMagic);
    out += "\nkeyring=" + keyring;
    out += "\nseq=" + std::to_string(seq);
    out += "\nmin_decryption_version=" + std::to_string(p.min_decryption_version);
    out += "\nmin_encryption_version=" + std::to_string(p.min_encryption_version);
    out += "\nmin_available_version=" + std::to_string(p.min_available_version);
    out += std::string("\ndeletion_allowed=") + (p.deletion_allowed ? "1" : "0");
    out += "\nauto_rotate_period=" + std::to_string(p.auto_rotate_period_seconds);
    out += "\nat=" + p.updated_at + "\n";
    return out;
}

std::optional<DecodedPolicy> decode_keyring_policy(ByteView value) {
    const std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
    std::vector<std::string_view> lines;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t nl = text.find('\n', i);
        if (nl == std::string_view::npos) return std::nullopt;  // every line ends with \n
        lines.push_back(text.substr(i, nl - i));
        i = nl + 1;
    }
    static constexpr std::string_view kKeys[] = {"keyring",
                                                 "seq",
                                                 "min_decryption_version",
                                                 "min_encryption_version",
                                                 "min_available_version",
                                                 "deletion_allowed",
                                                 "auto_rotate_period",
                                                 "at"};
    if (lines.size() != 1 + std::size(kKeys) || lines[0] != kMagic) return std::nullopt;
    std::string_view v[std::size(kKeys)];
    for (std::size_t k = 0; k < std::size(kKeys); ++k) {
        const std::string_view line = lines[k + 1];
        if (line.substr(0, kKeys[k].size()) != kKeys[k] || line.size() <= kKeys[k].size() ||
            line[kKeys[k].size()] != '=') {
            return std::nullopt;
        }
        v[k] = line.substr(kKeys[k].size() + 1);
    }
    DecodedPolicy d;
    d.keyring = std::string(v[0]);
    KeyringPolicy& p = d.policy;
    if (!is_valid_keyring_name(d.keyring) || !parse_number(v[1], d.seq) ||
        !parse_number(v[2], p.min_decryption_version) || p.min_decryption_version == 0 ||
        !parse_number(v[3], p.min_encryption_version) ||
        !parse_number(v[4], p.min_available_version) || (v[5] != "0" && v[5] != "1") ||
        !parse_number(v[6], p.auto_rotate_period_seconds)) {
        return std::nullopt;
    }
    p.deletion_allowed = v[5] == "1";
    p.updated_at = std::string(v[7]);
    return d;
}

Status KeyringPolicies::load_locked() {
    KW_TRY(auto objects, hsm_.find_data_objects(std::string(kPolicyApplication)));
    std::map<std::string, Entry> fresh;
    for (const auto& o : objects) {
        if (!o.readable) continue;  // a kill while writing it: it recorded nothing
        auto decoded = decode_keyring_policy(o.value);
        // An object whose label does not match its value was not written by keyward.
        if (!decoded || o.label != label_of(decoded->keyring, decoded->seq)) continue;
        Entry& e = fresh[decoded->keyring];
        e.labels.push_back(o.label);
        if (decoded->seq >= e.seq) {
            e.seq = decoded->seq;
            e.policy = decoded->policy;
        }
    }
    entries_ = std::move(fresh);
    loaded_at_ = std::chrono::steady_clock::now();
    loaded_ = true;
    return {};
}

Status KeyringPolicies::refresh_locked() {
    if (loaded_ && std::chrono::steady_clock::now() - loaded_at_ < kMaxAge) return {};
    auto loaded = load_locked();
    if (loaded.ok()) return {};
    // The first read must succeed. A failed re-read keeps the last one and is tried again
    // after kMaxAge, not on every call: the operation then meets the token itself.
    if (!loaded_) return loaded;
    loaded_at_ = std::chrono::steady_clock::now();
    return {};
}

bool same_policy(const KeyringPolicy& a, const KeyringPolicy& b) {
    return a.min_decryption_version == b.min_decryption_version &&
           a.min_encryption_version == b.min_encryption_version &&
           a.min_available_version == b.min_available_version &&
           a.deletion_allowed == b.deletion_allowed &&
           a.auto_rotate_period_seconds == b.auto_rotate_period_seconds;
}

Result<KeyringPolicy> KeyringPolicies::get(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY_STATUS(refresh_locked());
    auto it = entries_.find(keyring);
    if (it == entries_.end()) return KeyringPolicy{};
    return it->second.policy;
}

Result<std::pair<KeyringPolicy, bool>> KeyringPolicies::read_now(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY_STATUS(load_locked());
    auto it = entries_.find(keyring);
    if (it == entries_.end()) return std::pair{KeyringPolicy{}, false};
    return std::pair{it->second.policy, true};
}

Result<KeyringPolicy> KeyringPolicies::update(const std::string& keyring,
                                              const std::function<Status(KeyringPolicy&)>& change) {
    std::lock_guard lock(mutex_);
    KW_TRY_STATUS(load_locked());  // what the token says now, whoever wrote it
    auto it = entries_.find(keyring);
    const KeyringPolicy current = it == entries_.end() ? KeyringPolicy{} : it->second.policy;
    KeyringPolicy next = current;
    KW_TRY_STATUS(change(next));
    if (same_policy(next, current)) return current;
    next.updated_at = utc_now_iso8601();
    KW_TRY_STATUS(put_locked(keyring, next));
    return next;
}

Status KeyringPolicies::put_locked(const std::string& keyring, const KeyringPolicy& policy) {
    const Entry before = entries_.count(keyring) ? entries_[keyring] : Entry{};
    const std::uint64_t seq = before.seq + 1;
    DataObject object;
    object.application = std::string(kPolicyApplication);
    object.label = label_of(keyring, seq);
    const std::string value = encode_keyring_policy(keyring, seq, policy);
    object.value.assign(value.begin(), value.end());
    KW_TRY_STATUS(hsm_.create_data_object(object));
    Entry& e = entries_[keyring];
    e.seq = seq;
    e.policy = policy;
    e.labels = {object.label};
    // The new one reads back (create_data_object found it again): the older ones can go. One
    // that cannot be destroyed now is outranked, and the next change tries again.
    for (const auto& label : before.labels) {
        if (hsm_.destroy_data_object(object.application, label).ok()) continue;
        e.labels.push_back(label);
    }
    return {};
}

Status KeyringPolicies::remove(const std::string& keyring) {
    std::lock_guard lock(mutex_);
    KW_TRY_STATUS(load_locked());
    auto it = entries_.find(keyring);
    if (it == entries_.end()) return {};
    for (const auto& label : it->second.labels) {
        KW_TRY_STATUS(hsm_.destroy_data_object(std::string(kPolicyApplication), label));
    }
    entries_.erase(it);
    return {};
}

}  // namespace keyward::core
