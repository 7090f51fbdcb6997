// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC11) and the
// synthetic data values built on it: a pure function of (seed, stream, row, col), so any row
// block can be generated anywhere, in any order, by the CPU or a CUDA kernel.
// Verified by tests/test_philox.cpp (Random123 known-answer vectors, distribution, order).
//
// Why uniform values, not Gaussian: every value below uses only integer ops, an exact
// integer->double conversion and IEEE-exact scalings (+, * by 2 or 2^-53, one rounded
// multiply by sqrt(3)), so CPU and GPU produce bitwise identical data. A Gaussian needs
// log/cos (or an inverse CDF), and glibc and CUDA's libdevice round those differently.
#pragma once

#include <cstdint>

#include "shared/hd.hpp"

namespace descent::detail {

struct Philox4x32Out {
    std::uint32_t v[4];
};

// Philox4x32 with a chosen number of rounds (Random123's philox4x32_R); 10 is the standard.
DESCENT_HD Philox4x32Out philox4x32(const std::uint32_t counter[4], const std::uint32_t key[2],
                                    int rounds) {
    constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
    constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
    std::uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < rounds; ++r) {
        if (r > 0) {  // the key is bumped before every round but the first
            k0 += kW0;
            k1 += kW1;
        }
        const std::uint64_t p0 = std::uint64_t(kM0) * c0;  // hi/lo of a 32x32 product
        const std::uint64_t p1 = std::uint64_t(kM1) * c2;
        const std::uint32_t hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
        const std::uint32_t hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    return Philox4x32Out{{c0, c1, c2, c3}};
}

DESCENT_HD Philox4x32Out philox4x32_10(const std::uint32_t counter[4], const std::uint32_t key[2]) {
    return philox4x32(counter, key, 10);
}

// Uniform in [0, 1) with 53 random bits: 27 from hi, 26 from lo (numpy's split). The 53-bit
// integer converts to double exactly and the scaling by 2^-53 is exact.
DESCENT_HD double uniform53(std::uint32_t hi, std::uint32_t lo) {
    const std::uint64_t bits = (std::uint64_t(hi >> 5) << 26) | std::uint64_t(lo >> 6);
    return double(bits) * (1.0 / 9007199254740992.0);  // 2^-53, a power of two
}

// What each Philox stream holds; the counter's last word.
enum SyntheticStream : std::uint32_t {
    kStreamFeature = 0,  // X[row][col]
    kStreamNoise = 1,    // noise of row `row` (col 0)
    kStreamWeight = 2,   // true weight `row` (col: the class of a softmax data set); the
                         // intercept is row d
    kStreamLabel = 3,    // the uniform that draws row `row`'s class label (col 0)
};

// The uniform [0, 1) value at (seed, stream, row, col): key = the seed's two halves,
// counter = {row low, row high, col, stream}.
DESCENT_HD double synthetic_uniform(std::uint64_t seed, std::uint32_t stream, std::uint64_t row,
                                    std::uint32_t col) {
    const std::uint32_t key[2] = {std::uint32_t(seed), std::uint32_t(seed >> 32)};
    const std::uint32_t counter[4] = {std::uint32_t(row), std::uint32_t(row >> 32), col, stream};
    const Philox4x32Out out = philox4x32_10(counter, key);
    return uniform53(out.v[0], out.v[1]);
}

// The synthetic data set's values, by stream:
//   0 feature  uniform in [-1, 1)            (2u - 1, exact)
//   1 noise    uniform in [-sqrt3, sqrt3)    ((2u - 1) * sqrt(3): mean 0, variance 1; the
//                                             caller multiplies by the noise level)
//   2 weight   uniform in [-2, 2)            (4u - 2, exact)
// Other streams return u itself.
DESCENT_HD double synthetic_value(std::uint64_t seed, std::uint32_t stream, std::uint64_t row,
                                  std::uint32_t col) {
    const double u = synthetic_uniform(seed, stream, row, col);
    switch (stream) {
        case kStreamFeature: return 2.0 * u - 1.0;
        case kStreamNoise: return (2.0 * u - 1.0) * 1.7320508075688772;  // sqrt(3), rounded
        case kStreamWeight: return 4.0 * u - 2.0;
        default: return u;
    }
}

}  // namespace descent::detail
