// CPU backend: the multi-tensor optimizer update, the loops of cpu/optim_update.hpp built for
// the baseline x86-64 instruction set here (with the flags CMakeLists.txt gives this file) and
// for the processor's own (cpu/loops_isa.hpp).
#include "cpu/cpu_backend.hpp"
#include "cpu/loops_isa.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/optim_update.hpp"

namespace descent::detail {

UpdateTensorsFn baseline_update_tensors() { return baseline::update_tensors; }

void CpuBackend::optimizer_update(DType dtype, const UpdateTensor* tensors, int count, int) {
    cpu_loops_for(best_cpu_isa()).optimizer_update(dtype, tensors, count);
}

}  // namespace descent::detail
