// The CPU matrix product's kernel and the f32 tanh built for AVX2 (this file alone gets its flags, and no FMA
// contraction, so it sums exactly like the baseline build; linalg.cpp calls it only after
// checking that the processor has AVX2).
#define DESCENT_CPU_ISA avx2
#include "cpu/gemm_rows.hpp"
#include "cpu/tanh_f32.hpp"

namespace descent::detail {

GemmKernels<float> avx2_gemm_kernels_f32() { return {avx2::gemm_rows<float>, avx2::gemm_packed<float>, avx2::gemm_pack_b<float>, avx2::gemm_one_row<float>}; }
GemmKernels<double> avx2_gemm_kernels_f64() { return {avx2::gemm_rows<double>, avx2::gemm_packed<double>, avx2::gemm_pack_b<double>, avx2::gemm_one_row<double>}; }
TanhF32Fn avx2_tanh_f32_fn() { return avx2::tanh_f32; }

}  // namespace descent::detail
