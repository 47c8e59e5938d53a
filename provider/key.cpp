// SPDX-License-Identifier: Apache-2.0
// A KEYWARD key's rules: which blobs it unwraps, which version it wraps under, how much room a
// wrap needs, and its reference count.
#include <algorithm>
#include <string>

#include "keyward/format.hpp"
#include "provider.hpp"

namespace keyward::provider {

Result<Bytes> blob_for(const Key& key, ByteView in) {
    Bytes binary;
    if (is_text_form(in)) {
        KW_TRY(binary, from_text_form(
                           std::string_view(reinterpret_cast<const char*>(in.data()), in.size())));
    } else {
        binary.assign(in.begin(), in.end());
    }
    KW_TRY(auto header, inspect_blob(binary));
    if (header.kind != BlobKind::data_key) {
        return Error(Errc::bad_magic, "not a data key blob (kwk1)");
    }
    if (header.keyring != key.keyring) {
        return Error(Errc::bad_input, "the blob is of keyring " + header.keyring +
                                          ", not of keyward:" + key.keyring);
    }
    if (key.version != 0 && header.kek_version != key.version) {
        return Error(Errc::bad_input, "the blob is of version " +
                                          std::to_string(header.kek_version) + ", not of keyward:" +
                                          key.keyring + ";version=" + std::to_string(key.version));
    }
    return binary;
}

std::size_t longest_unwrapped(ByteView in, bool raw) {
    constexpr std::size_t kLongestKey = 64;  // docs/FORMAT.md's largest data key
    if (raw) return in.size() >= 16 ? std::min(kLongestKey, in.size() - 8) : 0;
    // A blob's wrapped key is shorter than the blob; its exact length needs the header.
    Bytes binary;
    if (is_text_form(in)) {
        auto decoded =
            from_text_form(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
        if (!decoded.ok()) return 0;
        binary = std::move(*decoded);
    } else {
        binary.assign(in.begin(), in.end());
    }
    auto header = inspect_blob(binary);
    if (!header.ok() || header->kind != BlobKind::data_key) return 0;
    // docs/FORMAT.md: magic, suite, name length, name, version, wrapped length, wrapped key,
    // and nothing after it (inspect_blob checked). Suite 1: RFC 5649 adds 8 bytes at least;
    // suite 2: a 12-byte IV and a 16-byte tag.
    const std::size_t header_size = 4 + 1 + 1 + header->keyring.size() + 4 + 2;
    if (binary.size() <= header_size) return 0;
    const std::size_t wrapped = binary.size() - header_size;
    const std::size_t overhead = header->suite == Suite::kwp ? 8 : 28;
    return wrapped > overhead ? std::min(kLongestKey, wrapped - overhead) : 0;
}

std::size_t longest_blob(const Key& key, std::size_t key_size) {
    // docs/FORMAT.md: magic, suite, name length, name, version, wrapped length, wrapped key;
    // suite 1 wraps to 8 * ceil(n / 8) + 8 bytes, suite 2 to IV 12 + n + tag 16.
    const std::size_t header = 4 + 1 + 1 + key.keyring.size() + 4 + 2;
    const std::size_t suite1 = raw_wrap_size(key_size);
    const std::size_t suite2 = 12 + key_size + 16;
    return header + (suite1 > suite2 ? suite1 : suite2);
}

std::size_t raw_wrap_size(std::size_t key_size) {
    return (key_size + 7) / 8 * 8 + 8;
}

std::string raw_needs_version(const Key& key) {
    return "raw RFC 5649 output carries no KEK version: name it, keyward:" + key.keyring +
           ";version=N";
}

void release(Key* key) noexcept {
    if (key != nullptr && key->references.fetch_sub(1) == 1) delete key;
}

}  // namespace keyward::provider
