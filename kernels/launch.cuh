// Launch geometry and dtype dispatch shared by the .cu files.
#pragma once

#include <algorithm>
#include <cstdint>

#include "shared/dtype_visit.hpp"
#include "cuda/cuda_check.hpp"

namespace descent::kernels {

constexpr int kThreads = 256;

// Enough blocks to cover n with grid-stride loops, capped so huge n does not overflow grids.
inline unsigned grid_for(std::int64_t n) {
    const std::int64_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, 65535 * 8)));
}

}  // namespace descent::kernels
