// FNV-1a, 64-bit, over 8-byte little-endian words (then the tail bytes): each step is
// (state ^ word) * odd prime, a bijection of the state for a fixed word, so changing any one
// word or byte always changes the result. Used for checkpoint checksums and data identities:
// corruption detection, not security.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace descent::detail {

constexpr std::uint64_t kFnvOffset = 0xCBF29CE484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001B3ull;

inline std::uint64_t fnv1a64(const void* data, std::size_t bytes, std::uint64_t state = kFnvOffset) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, p + i, 8);
        state = (state ^ word) * kFnvPrime;
    }
    for (; i < bytes; ++i) state = (state ^ p[i]) * kFnvPrime;
    return state;
}

}  // namespace descent::detail
