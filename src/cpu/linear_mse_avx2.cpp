// The CPU linear-MSE block kernels built for AVX2 (this file alone gets -mavx2, and no FMA
// contraction, so it rounds exactly like the baseline build;
// the backend calls it only after checking that the processor has AVX2).
#define DESCENT_CPU_ISA avx2
#include "cpu/linear_mse_block.hpp"

namespace descent::detail {

BlockFn<float> avx2_block_fn_f32(std::int64_t d, bool ones) { return avx2::block_fn<float>(d, ones); }
BlockFn<double> avx2_block_fn_f64(std::int64_t d, bool ones) {
    return avx2::block_fn<double>(d, ones);
}

}  // namespace descent::detail
