// Entry points of the CUDA kernels (kernels/*.cu), as plain declarations that host code
// compiled by g++ can call. Each entry point validates nothing (dispatch did), computes the
// launch geometry, launches on `stream` and checks the launch.
// Verified by the CUDA parity suite against the CPU backend.
#pragma once

#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "backend/backend.hpp"

namespace descent::kernels {

using detail::Array;
using detail::BinaryOp;
using detail::BroadcastIndex;
using detail::UnaryOp;

void fill(Array out, double value, cudaStream_t stream);
void cast(Array in, Array out, cudaStream_t stream);
void unary(UnaryOp op, double alpha, Array in, Array out, cudaStream_t stream);
void binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& index,
            cudaStream_t stream);
void broadcast(Array in, Array out, const BroadcastIndex& index, cudaStream_t stream);

// Row-major c (m, n) = alpha * op(a) @ op(b) through cuBLAS (column-major underneath).
void gemm(cublasHandle_t handle, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
          std::int64_t k, double alpha, Array a, Array b, Array c);
void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols, cudaStream_t stream);
void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
              double scale, cudaStream_t stream);

// Scratch space (in doubles) the fused losses need for their per-block partial sums.
std::int64_t mse_scratch_doubles(std::int64_t numel);
std::int64_t linear_mse_scratch_doubles(std::int64_t n, std::int64_t d, bool hessian);
void mse(Array pred, Array target, Array out, double* scratch, cudaStream_t stream);
void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d, Array loss,
                Array grad, const Array* hessian, double* scratch, cudaStream_t stream);

// Multi-tensor optimizer update: one launch per 16 tensors (normally one launch per step).
void optimizer_update(DType dtype, const detail::UpdateTensor* tensors, int count,
                      cudaStream_t stream);

}  // namespace descent::kernels
