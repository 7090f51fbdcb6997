// The dropout mask, one element at a time, on the CPU and in the CUDA kernel alike: element
// i of a mask drawn with (seed, offset) keeps its input, scaled by 1 / (1 - p), when the
// Philox uniform at (seed, offset + i) is at least p, and zeroes it otherwise. A pure
// function of (seed, index, p): the same mask on every device and for any thread count, and
// any part of it can be drawn alone.
// Verified by tests/test_dropout.cpp (and the CUDA parity suite).
#pragma once

#include <cstdint>

#include "shared/hd.hpp"
#include "shared/philox.hpp"

namespace descent::detail {

// The Philox stream of the dropout masks (the counter's last word; synthetic data uses 0-3).
constexpr std::uint32_t kStreamDropout = 16;

// 1 / (1 - p) or 0 for element `index` (p in [0, 1]; p = 1 drops everything).
DESCENT_HD double dropout_keep_scale(std::uint64_t seed, std::uint64_t index, double p) {
    const std::uint32_t key[2] = {std::uint32_t(seed), std::uint32_t(seed >> 32)};
    const std::uint32_t counter[4] = {std::uint32_t(index), std::uint32_t(index >> 32), 0u,
                                      kStreamDropout};
    const Philox4x32Out r = philox4x32_10(counter, key);
    const double u = uniform53(r.v[0], r.v[1]);
    return p < 1.0 && u >= p ? 1.0 / (1.0 - p) : 0.0;
}

}  // namespace descent::detail
