// The CPU matrix product's kernel and the f32 tanh built for AVX512 (this file alone gets its flags, and no FMA
// contraction, so it sums exactly like the baseline build; linalg.cpp calls it only after
// checking that the processor has AVX512).
#define DESCENT_CPU_ISA avx512
#include "cpu/gemm_rows.hpp"
#include "cpu/tanh_f32.hpp"

namespace descent::detail {

GemmKernels<float> avx512_gemm_kernels_f32() { return {avx512::gemm_rows<float>, avx512::gemm_packed<float>, avx512::gemm_pack_b<float>, avx512::gemm_one_row<float>}; }
GemmKernels<double> avx512_gemm_kernels_f64() { return {avx512::gemm_rows<double>, avx512::gemm_packed<double>, avx512::gemm_pack_b<double>, avx512::gemm_one_row<double>}; }
TanhF32Fn avx512_tanh_f32_fn() { return avx512::tanh_f32; }

}  // namespace descent::detail
