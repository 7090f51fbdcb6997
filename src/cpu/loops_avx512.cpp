// The CPU backend's elementwise loops, axis sums and optimizer update built for AVX512 (this
// file alone gets its flags, and no FMA contraction, so it computes exactly like the baseline
// build; cpu_loops_for hands them out only after checking that the processor has AVX512).
#define DESCENT_CPU_ISA avx512
#include "cpu/elementwise_loops.hpp"
#include "cpu/loops_isa.hpp"
#include "cpu/optim_update.hpp"

namespace descent::detail {

CpuLoops avx512_cpu_loops() {
    return {avx512::unary_array, avx512::binary_array, avx512::sum_axis_array, avx512::update_tensors};
}

}  // namespace descent::detail
