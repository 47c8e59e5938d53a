// SPDX-License-Identifier: Apache-2.0
// Byte containers: plain Bytes for public data (envelopes, blobs), SecretBytes for keys, PINs
// and plaintext, whose memory is wiped (OPENSSL_cleanse) whenever it is freed or resized away.
#pragma once

#include "keyward/export.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using MutableByteView = std::span<std::uint8_t>;

/// Overwrites memory in a way the compiler cannot elide.
KEYWARD_API void secure_wipe(void* data, std::size_t size) noexcept;

/// Allocator that wipes every block before returning it to the heap.
template <typename T>
struct ZeroizingAllocator {
    using value_type = T;
    ZeroizingAllocator() noexcept = default;
    template <typename U>
    ZeroizingAllocator(const ZeroizingAllocator<U>&) noexcept {}  // NOLINT

    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept {
        secure_wipe(p, n * sizeof(T));
        std::allocator<T>{}.deallocate(p, n);
    }
    template <typename U>
    bool operator==(const ZeroizingAllocator<U>&) const noexcept {
        return true;
    }
};

using SecretBytes = std::vector<std::uint8_t, ZeroizingAllocator<std::uint8_t>>;

/// A string for PINs and other text secrets. std::basic_string keeps up to 15 characters inside
/// the object itself (the small-string buffer), where no allocator sees them and nothing wipes
/// them; so every SecretString reserves heap storage first, and its characters always live in
/// memory that ZeroizingAllocator wipes on free. Never call shrink_to_fit on one.
class SecretString
    : public std::basic_string<char, std::char_traits<char>, ZeroizingAllocator<char>> {
    using Base = std::basic_string<char, std::char_traits<char>, ZeroizingAllocator<char>>;
    static constexpr std::size_t kHeapFloor = 32;  // > the 15-byte small-string capacity

  public:
    SecretString() { Base::reserve(kHeapFloor); }
    SecretString(const char* s) : SecretString() { Base::assign(s); }  // NOLINT
    SecretString(std::string_view s) : SecretString() {
        Base::assign(s.data(), s.size());
    }  // NOLINT
    template <typename It>
    SecretString(It first, It last) : SecretString() {
        Base::assign(first, last);
    }
    SecretString(const SecretString& other) : SecretString() { Base::assign(other); }
    // Moving takes the heap buffer; the source is left empty in its own small buffer.
    SecretString(SecretString&& other) noexcept : Base(std::move(other)) {}
    SecretString& operator=(const SecretString& other) {
        if (this != &other) {
            Base::reserve(kHeapFloor);
            Base::assign(other);
        }
        return *this;
    }
    SecretString& operator=(SecretString&& other) noexcept {
        Base::swap(other);  // the old secret leaves with `other`, whose allocator wipes it
        other.clear();
        return *this;
    }
    SecretString& operator=(const char* s) {
        Base::reserve(kHeapFloor);
        Base::assign(s);
        return *this;
    }
    SecretString& operator=(std::string_view s) {
        Base::reserve(kHeapFloor);
        Base::assign(s.data(), s.size());
        return *this;
    }
};

inline ByteView as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Constant-time comparison (for tags, MACs, check values).
KEYWARD_API bool constant_time_equal(ByteView a, ByteView b) noexcept;

KEYWARD_API std::string to_hex(ByteView bytes);
/// Inverse of to_hex: lower-case hex digits only, an even number of them; nullopt otherwise.
KEYWARD_API std::optional<Bytes> parse_hex(std::string_view hex);

}  // namespace keyward
