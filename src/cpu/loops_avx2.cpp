// The CPU backend's elementwise loops, axis sums and optimizer update built for AVX2 (this
// file alone gets its flags, and no FMA contraction, so it computes exactly like the baseline
// build; cpu_loops_for hands them out only after checking that the processor has AVX2).
#define DESCENT_CPU_ISA avx2
#include "cpu/elementwise_loops.hpp"
#include "cpu/loops_isa.hpp"
#include "cpu/optim_update.hpp"

namespace descent::detail {

CpuLoops avx2_cpu_loops() {
    return {avx2::unary_array, avx2::binary_array, avx2::sum_axis_array, avx2::update_tensors};
}

}  // namespace descent::detail
