// Choosing the CPU backend's elementwise loops, axis sums (cpu/elementwise_loops.hpp) and
// optimizer update (cpu/optim_update.hpp) for an instruction set, as cpu/linear_mse_isa.hpp
// does for the linear-MSE blocks (same CpuIsa, same availability checks). Every build gives
// bitwise the same values.
#pragma once

#include <cstdint>

#include "backend/backend.hpp"
#include "cpu/linear_mse_isa.hpp"

namespace descent::detail {

using UnaryLoopFn = void (*)(UnaryOp, double, Array, Array);
using BinaryLoopFn = void (*)(BinaryOp, Array, Array, Array, const BroadcastIndex&);
// (in, out, outer, len, inner, scale): out = scale * the sums over in's middle axis.
using SumAxisFn = void (*)(Array, Array, std::int64_t, std::int64_t, std::int64_t, double);
using UpdateTensorsFn = void (*)(DType, const UpdateTensor*, int);

struct CpuLoops {
    UnaryLoopFn unary;
    BinaryLoopFn binary;
    SumAxisFn sum_axis;
    UpdateTensorsFn optimizer_update;
};

// The loops of `isa`; descent::Error when `isa` is not available.
CpuLoops cpu_loops_for(CpuIsa isa);

UpdateTensorsFn baseline_update_tensors();  // src/cpu/optim.cpp, with that file's flags
#ifdef DESCENT_HAVE_AVX2_KERNELS
CpuLoops avx2_cpu_loops();
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
CpuLoops avx512_cpu_loops();
#endif

}  // namespace descent::detail
