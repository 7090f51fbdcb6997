// The CPU logistic block kernel built for AVX512 (this file alone gets the instruction-set
// flags; no FMA contraction, so it rounds exactly like the baseline build). Called only where
// the processor has the instructions (cpu/logistic_isa.hpp).
#define DESCENT_CPU_ISA avx512
#include "cpu/logistic_block.hpp"

namespace descent::detail {

LogisticBlockFn<float> avx512_logistic_block_fn_f32(std::int64_t d) { return avx512::logistic_block_fn<float>(d); }
LogisticBlockFn<double> avx512_logistic_block_fn_f64(std::int64_t d) { return avx512::logistic_block_fn<double>(d); }

}  // namespace descent::detail
