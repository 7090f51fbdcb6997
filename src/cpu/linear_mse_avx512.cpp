// The CPU linear-MSE block kernels built for AVX-512 (this file alone gets the AVX-512 flags:
// 32 vector registers for the 4-wide code and the 4 x 8 Hessian tiles; no FMA contraction,
// so it rounds like the baseline build). Called only where the processor has AVX-512F/VL.
// GCC 12's AVX-512 intrinsics header trips its own -Wmaybe-uninitialized (the "undefined"
// pass-through operand of _mm512_cvtps_pd and _mm512_extractf64x4_pd; GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define DESCENT_CPU_ISA avx512
#include "cpu/linear_mse_block.hpp"

namespace descent::detail {

BlockFn<float> avx512_block_fn_f32(std::int64_t d, bool ones) { return avx512::block_fn<float>(d, ones); }
BlockFn<double> avx512_block_fn_f64(std::int64_t d, bool ones) {
    return avx512::block_fn<double>(d, ones);
}

}  // namespace descent::detail
