// The CPU logistic block kernel built for AVX-512 (this file alone gets the instruction-set
// flags; no FMA contraction, so it rounds exactly like the baseline build). Called only where
// the processor has the instructions (cpu/logistic_isa.hpp).
// GCC 12's AVX-512 intrinsics header trips its own -Wmaybe-uninitialized (GCC bug 105593), as
// in linear_mse_avx512.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define DESCENT_CPU_ISA avx512
#include "cpu/logistic_block.hpp"

namespace descent::detail {

LogisticBlockFn<float> avx512_logistic_block_fn_f32(std::int64_t d, bool ones) {
    return avx512::logistic_block_fn<float>(d, ones);
}
LogisticBlockFn<double> avx512_logistic_block_fn_f64(std::int64_t d, bool ones) {
    return avx512::logistic_block_fn<double>(d, ones);
}

}  // namespace descent::detail
