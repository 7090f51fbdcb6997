// The CPU logistic block kernel built for AVX2 (this file alone gets the instruction-set
// flags; no FMA contraction, so it rounds exactly like the baseline build). Called only where
// the processor has the instructions (cpu/logistic_isa.hpp).
#define DESCENT_CPU_ISA avx2
#include "cpu/logistic_block.hpp"

namespace descent::detail {

LogisticBlockFn<float> avx2_logistic_block_fn_f32(std::int64_t d, bool ones) {
    return avx2::logistic_block_fn<float>(d, ones);
}
LogisticBlockFn<double> avx2_logistic_block_fn_f64(std::int64_t d, bool ones) {
    return avx2::logistic_block_fn<double>(d, ones);
}

}  // namespace descent::detail
