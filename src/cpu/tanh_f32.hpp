// tanh for f32 values, computed in double, one source built for the baseline x86-64
// instruction set (src/cpu/elementwise.cpp), AVX2 and AVX-512 (src/cpu/gemm_avx2.cpp,
// gemm_avx512.cpp, with no FMA contraction), bitwise alike in every build: below |x| = 1/256
// x (1 - x²/3 + 2x⁴/15 - 17x⁶/315), else (1 - e) / (1 + e) with e = exp(-2|x|)
// (shared/logistic_row.hpp's branch-free exp, 2 ulp), whose error is at most ~1e-13 relative
// there: far below f32's half ulp, so the result is the correctly rounded tanh but in the
// rarest ties. Both arms are computed and one selected, so the loop vectorises (glibc's tanhf,
// a call per element, took most of a small net's step). NaN gives NaN, ±inf ±1, -0 gives -0.
// Verified by tests/test_cpu_backend.cpp (10^6 values against the double tanh) and
// tests/test_cpu_isa.cpp (every build alike).
#pragma once

#include <cstdint>

#include "cpu/linear_mse_isa.hpp"
#include "shared/logistic_row.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/tanh_f32.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

inline float tanh_f32_one(float xf) {
    const double x = double(xf);
    const double ax = x < 0.0 ? -x : x;
    const double x2 = x * x;
    const double small = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
    const double e = exp_nonpositive(-2.0 * ax);
    const double big = (1.0 - e) / (1.0 + e);
    const double signed_big = x < 0.0 ? -big : big;
    return static_cast<float>(ax < 1.0 / 256.0 ? small : signed_big);
}

inline void tanh_f32(const float* x, float* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = tanh_f32_one(x[i]);
}

}  // namespace descent::detail::DESCENT_CPU_ISA
