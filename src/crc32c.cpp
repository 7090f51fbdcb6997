// CRC-32C: a slicing-by-8 table path for any CPU and an SSE4.2 path for x86-64 (data
// identities hash whole datasets, GBs). Both are checked against the RFC 3720 vectors and
// against each other in tests/test_crc32c.cpp.
#include "crc32c.hpp"

#include <array>
#include <cstring>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define DESCENT_CRC32C_SSE42 1
#include <nmmintrin.h>
#endif

namespace descent::detail {

namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

// kTables[0] is the byte-at-a-time table; kTables[k][b] is the CRC of byte b followed by k
// zero bytes, so that eight bytes fold with eight independent look-ups.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (kPolynomial & (0u - (c & 1u)));
        t[0][b] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
    return t;
}

constexpr auto kTables = make_tables();

// The register between calls is the complement of the CRC (init and final xor 0xFFFFFFFF).
std::uint32_t portable_update(std::uint32_t state, const unsigned char* p, std::size_t n) {
    const auto& t = kTables;
    for (; n >= 8; n -= 8, p += 8) {
        // Bytes composed explicitly: the same result on any endianness.
        const std::uint32_t lo = state ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                          std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
        state = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^
                t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    }
    for (; n; --n, ++p) state = (state >> 8) ^ t[0][(state ^ *p) & 0xFFu];
    return state;
}

#ifdef DESCENT_CRC32C_SSE42
__attribute__((target("sse4.2"))) std::uint32_t sse42_update(std::uint32_t state,
                                                              const unsigned char* p,
                                                              std::size_t n) {
    // Single bytes up to an 8-byte boundary, then 8 bytes per instruction.
    for (; n && (reinterpret_cast<std::uintptr_t>(p) & 7u); --n, ++p) state = _mm_crc32_u8(state, *p);
    std::uint64_t wide = state;
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        wide = _mm_crc32_u64(wide, word);
    }
    state = static_cast<std::uint32_t>(wide);
    for (; n; --n, ++p) state = _mm_crc32_u8(state, *p);
    return state;
}
#endif

using Update = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t);

Update chosen_update() {
#ifdef DESCENT_CRC32C_SSE42
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) return sse42_update;
#endif
    return portable_update;
}

Update update() {
    static const Update chosen = chosen_update();  // decided once, thread-safe
    return chosen;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t bytes, std::uint32_t crc) {
    return ~update()(~crc, static_cast<const unsigned char*>(data), bytes);
}

std::uint32_t crc32c_portable(const void* data, std::size_t bytes, std::uint32_t crc) {
    return ~portable_update(~crc, static_cast<const unsigned char*>(data), bytes);
}

bool crc32c_uses_hardware() { return update() != portable_update; }

namespace {

// Multiplies the 32x32 GF(2) matrix `mat` (column i: the image of bit i) by the vector `vec`.
std::uint32_t gf2_times(const std::uint32_t* mat, std::uint32_t vec) {
    std::uint32_t sum = 0;
    for (; vec; vec >>= 1, ++mat)
        if (vec & 1) sum ^= *mat;
    return sum;
}

void gf2_square(std::uint32_t* square, const std::uint32_t* mat) {
    for (int n = 0; n < 32; ++n) square[n] = gf2_times(mat, mat[n]);
}

}  // namespace

std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t bytes_b) {
    if (bytes_b == 0) return crc_a;
    // The CRC register after one zero bit: shift right, fold in the polynomial.
    std::uint32_t even[32], odd[32];
    odd[0] = 0x82F63B78u;
    for (int n = 1; n < 32; ++n) odd[n] = std::uint32_t(1) << (n - 1);
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four
    // Apply bytes_b zero bytes to crc_a: the operators of 1, 2, 4, ... bytes by squaring.
    do {
        gf2_square(even, odd);
        if (bytes_b & 1) crc_a = gf2_times(even, crc_a);
        bytes_b >>= 1;
        if (bytes_b == 0) break;
        gf2_square(odd, even);
        if (bytes_b & 1) crc_a = gf2_times(odd, crc_a);
        bytes_b >>= 1;
    } while (bytes_b != 0);
    return crc_a ^ crc_b;
}

}  // namespace descent::detail
