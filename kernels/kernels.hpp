// Entry points of the CUDA kernels (kernels/*.cu), as plain declarations that host code
// compiled by g++ can call. Each entry point validates nothing (dispatch did), computes the
// launch geometry, launches on `stream` and checks the launch.
// Verified by the CUDA parity suite against the CPU backend.
#pragma once

#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

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
// For every coordinate c of index.shape: out[c . strides[1]] = in[c . strides[0]].
void strided_copy(Array in, Array out, const BroadcastIndex& index, cudaStream_t stream);

// Row-major c (m, n) = alpha * op(a) @ op(b) through cuBLAS (column-major underneath).
void gemm(cublasHandle_t handle, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
          std::int64_t k, double alpha, Array a, Array b, Array c);
void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols, cudaStream_t stream);
void max_all(Array in, Array out, cudaStream_t stream);
void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
              double scale, cudaStream_t stream);

// Selection and indexing (kernels/select.cu). index_select's `index` and index_add's `order`
// and `offsets` are in device memory (Backend::index_select / index_add describe them).
void where(Array cond, Array a, Array b, Array out, const detail::SelectIndex& index,
           cudaStream_t stream);
void extremum_axis(bool largest, Array in, Array values, Array indices, std::int64_t outer,
                   std::int64_t len, std::int64_t inner, cudaStream_t stream);
void index_select(Array in, Array out, std::int64_t len, std::int64_t inner,
                  const std::int64_t* index, std::int64_t count, cudaStream_t stream);
void index_add(Array in, Array out, std::int64_t len, std::int64_t inner,
               const std::int64_t* order, const std::int64_t* offsets, std::int64_t count,
               cudaStream_t stream);

// mse_loss: `scratch` holds mse_scratch_doubles(numel) doubles of per-block partial sums.
std::int64_t mse_scratch_doubles(std::int64_t numel);
void mse(Array pred, Array target, Array out, double* scratch, cudaStream_t stream);

// How one linear-MSE pass runs for a given shape (see kernels/linear_mse.cu).
struct LinearMsePlan {
    bool rows_kernel = false;      // gradient only, d in {1,2,3,4,8,16,32}: one thread per row
    bool tiled = true;             // the one-pass tiled kernel (else the cuBLAS wide path)
    bool hessian_in_pass = false;  // Hessian accumulated in the tiled pass (d <= 64)
    bool syrk_hessian = false;     // Hessian from cuBLAS syrk (wider d)
    int rows_per_tile = 0;
    int groups = 1;                // row groups per output entry within a tile
    int grid = 0;
    std::int64_t entries = 0;        // outputs reduced per block: 1 + d (+ d(d+1)/2)
    std::size_t shared_bytes = 0;
    std::int64_t scratch_doubles = 0;  // per-block partials
    std::size_t residual_bytes = 0;    // wide path: the n-sized residual
};
LinearMsePlan plan_linear_mse(DType dtype, std::int64_t n, std::int64_t d, bool hessian);
// X (n, d), y (n), w (d) -> loss (), grad (d), and the Hessian (d, d) when hessian != nullptr.
void linear_mse(cublasHandle_t handle, const LinearMsePlan& plan, Array X, Array y, Array w,
                std::int64_t n, std::int64_t d, Array loss, Array grad, const Array* hessian,
                double* scratch, void* residual, cudaStream_t stream);

// How one logistic pass runs for a given shape (see kernels/logistic.cu).
struct LogisticPlan {
    enum class Path { rows, tiled, wide };
    Path path = Path::tiled;  // rows: gradient only, d in {1,2,3,4,8,16,32}; wide: cuBLAS
    int rows_per_tile = 0;
    int groups = 1;
    int grid = 0;
    std::int64_t entries = 0;          // outputs reduced per block: 1 + d (+ d(d+1)/2)
    std::size_t shared_bytes = 0;
    std::int64_t scratch_doubles = 0;  // per-block partials
    std::size_t rows_bytes = 0;        // wide path: z / σ - y (n), and σ(1-σ) (n) with the Hessian
    std::size_t scaled_bytes = 0;      // wide path with the Hessian: diag(σ(1-σ)) X (n, d)
};
LogisticPlan plan_logistic(DType dtype, std::int64_t n, std::int64_t d, bool hessian);
// X (n, d), y (n) of 0/1, w (d) -> loss (), grad (d), and the Hessian (d, d) when hessian !=
// nullptr. scratch, rows_buffer and scaled_buffer hold what the plan asks for.
void logistic(cublasHandle_t handle, const LogisticPlan& plan, Array X, Array y, Array w,
              std::int64_t n, std::int64_t d, Array loss, Array grad, const Array* hessian,
              double* scratch, void* rows_buffer, void* scaled_buffer, cudaStream_t stream);

// How one softmax cross-entropy pass runs for a given shape (see kernels/softmax.cu).
struct SoftmaxPlan {
    bool tiled = true;  // else the cuBLAS wide path
    int rows_per_tile = 0;
    int groups = 1;
    int grid = 0;
    std::int64_t entries = 0;          // 1 + d k
    std::size_t shared_bytes = 0;
    std::int64_t scratch_doubles = 0;  // per-block partials
    std::size_t logits_bytes = 0;      // wide path: Z (n, k)
};
SoftmaxPlan plan_softmax(DType dtype, std::int64_t n, std::int64_t d, std::int64_t k);
// X (n, d), labels (n) of class indices, W (d, k) -> loss (), grad (d, k).
void softmax_cross_entropy(cublasHandle_t handle, const SoftmaxPlan& plan, Array X, Array labels,
                           Array W, std::int64_t n, std::int64_t d, std::int64_t k, Array loss,
                           Array grad, double* scratch, void* logits, cudaStream_t stream);

// A distributed pass (shared/block_tree.hpp) on the device: each block of `block_rows` rows
// sums (`entries` doubles) into partials[b * entries + e], b < blocks, by the pass's tiled
// kernel walking the block's whole tiles; fold_blocks folds a node's blocks in the tree's
// order; the *_finish entry points write the outputs from the root (entries doubles on the
// device: the sums over all processes' n_total rows), scaled as the one-pass entry points do.
struct BlockPartialsPlan {
    bool supported = false;  // the tiled kernel takes this shape (else refused for shards)
    int rows_per_tile = 0;   // a power of two dividing block_rows
    int tiles_per_block = 0;
    int groups = 1;
    int blocks = 0;  // blocks of rows: the grid
    std::int64_t entries = 0;
    std::size_t shared_bytes = 0;
};
// Doubles of scratch fold_blocks needs for `count` partials.
std::int64_t fold_scratch_doubles(std::int64_t count, std::int64_t entries);
void fold_blocks(const double* partials, std::int64_t count, std::int64_t entries, double* out,
                 double* scratch, cudaStream_t stream);

BlockPartialsPlan plan_linear_mse_blocks(DType dtype, std::int64_t n, std::int64_t d, bool hessian,
                                         std::int64_t block_rows);
void linear_mse_blocks(const BlockPartialsPlan& plan, Array X, Array y, Array w, std::int64_t n,
                       std::int64_t d, double* partials, cudaStream_t stream);
void linear_mse_finish(const double* root, std::int64_t entries, std::int64_t n_total,
                       std::int64_t d, Array loss, Array grad, const Array* hessian,
                       cudaStream_t stream);
BlockPartialsPlan plan_logistic_blocks(DType dtype, std::int64_t n, std::int64_t d, bool hessian,
                                       std::int64_t block_rows);
void logistic_blocks(const BlockPartialsPlan& plan, Array X, Array y, Array w, std::int64_t n,
                     std::int64_t d, double* partials, cudaStream_t stream);
void logistic_finish(const double* root, std::int64_t entries, std::int64_t n_total,
                     std::int64_t d, Array loss, Array grad, const Array* hessian,
                     cudaStream_t stream);
BlockPartialsPlan plan_softmax_blocks(DType dtype, std::int64_t n, std::int64_t d, std::int64_t k,
                                      std::int64_t block_rows);
void softmax_blocks(const BlockPartialsPlan& plan, Array X, Array labels, Array W, std::int64_t n,
                    std::int64_t d, std::int64_t k, double* partials, cudaStream_t stream);
void softmax_finish(const double* root, std::int64_t entries, std::int64_t n_total, Array loss,
                    Array grad, cudaStream_t stream);

// The dropout mask (shared/dropout.hpp) into out (contiguous).
void dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset,
                  cudaStream_t stream);

// Mini-batch gather: Xb[k] = X[perm.row(begin + k)], yb[k] = y[perm.row(begin + k)].
void gather_rows(Array X, Array y, std::int64_t d, const detail::RowPermutation& perm,
                 std::int64_t begin, std::int64_t count, Array Xb, Array yb, cudaStream_t stream);

// Streamed synthetic data: rows [begin, begin + count) into X (count, cols) and y (count).
void synthetic_rows(const detail::SyntheticRows& spec, std::int64_t begin, std::int64_t count,
                    Array X, Array y, cudaStream_t stream);

// Cholesky solve of (A + damping I) x = b: `factor` holds d*d elements, `workspace` the
// bytes spd_solve_workspace_bytes() asks for, `info` one int; all on the device. Returns -1,
// or the index of the first non-positive pivot (synchronises the stream to learn it).
std::int64_t spd_solve_workspace_bytes(cusolverDnHandle_t handle, DType dtype, std::int64_t d);
std::int64_t spd_solve(cusolverDnHandle_t handle, Array A, Array b, std::int64_t d, double damping,
                       Array x, void* factor, void* workspace, std::int64_t workspace_bytes,
                       int* info, cudaStream_t stream);

// Multi-tensor optimizer update: one launch per 16 tensors (normally one launch per step).
void optimizer_update(DType dtype, const detail::UpdateTensor* tensors, int count,
                      cudaStream_t stream);

}  // namespace descent::kernels
