// Byte containers: plain Bytes for public data (envelopes, blobs), SecretBytes for keys, PINs
// and plaintext, whose memory is wiped (OPENSSL_cleanse) whenever it is freed or resized away.
#pragma once

#include "keyward/export.hpp"

#include <cstddef>
#include <cstdint>
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
    bool operator==(const ZeroizingAllocator<U>&) const noexcept { return true; }
};

using SecretBytes = std::vector<std::uint8_t, ZeroizingAllocator<std::uint8_t>>;
using SecretString = std::basic_string<char, std::char_traits<char>, ZeroizingAllocator<char>>;

inline ByteView as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Constant-time comparison (for tags, MACs, check values).
KEYWARD_API bool constant_time_equal(ByteView a, ByteView b) noexcept;

KEYWARD_API std::string to_hex(ByteView bytes);

}  // namespace keyward
