// The fused families as dispatch-level ops on Tensors: each checks its operands, then makes
// one backend call (one kernel launch on a GPU). Above this layer (losses, solvers,
// optimizers, the trainer, streaming) code calls these and never a Backend.
// Outputs are written in place into tensors the caller owns (views are fine when
// contiguous), so a training loop can reuse its buffers and capture the calls in a CUDA graph.
// Verified through their users: tests/test_loss_hessian.cpp, test_minibatch.cpp,
// test_streaming.cpp, test_optim_*.cpp, and on a GPU tests/test_cuda_*.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "shared/block_tree.hpp"
#include "shared/row_permutation.hpp"
#include "shared/synthetic_row.hpp"
#include "shared/optim_rules.hpp"
#include "descent/tensor.hpp"

namespace descent::detail {

// () = mean((pred - target)^2); same shapes, numel >= 1 (checked by the caller).
Tensor mse_op(const Tensor& pred, const Tensor& target);

// The one-pass linear MSE over X (n, d), y (n) at w (d): loss (one element), grad (d) and,
// when `hessian` is defined, the Hessian (d, d), written in place. An undefined y means no
// target: grad is then 2/n Xᵀ(X w), the Hessian-vector product of the loss (linear_mse_hvp).
// With `intercept` (here and in the two passes below) X holds one column fewer than the
// weights have rows: the ones column is implicit, last, and the result equals bitwise the
// pass over X with the column stored. CPU only: on a CUDA device it is an error (the kernels
// read the stored column). With `shard` (here and below), X and y are one process's rows of a
// distributed pass (shared/block_tree.hpp: every process calls it; the results are those over
// all processes' rows, the same bits one process on that kind of device gets).
void linear_mse_into(const Tensor& X, const Tensor& y, const Tensor& w, const Tensor& loss,
                     const Tensor& grad, const Tensor& hessian = Tensor(), bool intercept = false,
                     const BlockShard* shard = nullptr);

// The one-pass logistic regression (BCE with logits) over X (n, d), labels y (n) of 0/1 at w
// (d): loss (one element), grad (d) and, when `hessian` is defined, the Hessian
// Xᵀ diag(σ(1-σ)) X / n (d, d), written in place. The labels are not checked here.
void logistic_into(const Tensor& X, const Tensor& y, const Tensor& w, const Tensor& loss,
                   const Tensor& grad, const Tensor& hessian = Tensor(), bool intercept = false,
                   const BlockShard* shard = nullptr);

// The one-pass softmax regression over X (n, d), class indices `labels` (n) held as X's dtype
// at W (d, k): the mean cross-entropy (one element) and its gradient (d, k), written in place.
// The labels are not checked here (integers in [0, k): the caller validates them).
void softmax_cross_entropy_into(const Tensor& X, const Tensor& labels, const Tensor& W,
                                const Tensor& loss, const Tensor& grad, bool intercept = false,
                                const BlockShard* shard = nullptr);

// Xb[k] = X[r], yb[k] = y[r] with r = perm.row(begin + k), for the Xb.size(0) rows of Xb.
void gather_rows_into(const Tensor& X, const Tensor& y, const RowPermutation& perm,
                      std::int64_t begin, const Tensor& Xb, const Tensor& yb);

// X (count, features (+1)) and y (count) = rows [begin, begin + count) of the synthetic data
// set `spec`, count = X.size(0); spec.truth points at doubles on X's device.
void synthetic_rows_into(const SyntheticRows& spec, std::int64_t begin, const Tensor& X,
                         const Tensor& y);

// out (m, n) = alpha * a (m, k) @ b (k, n), into an existing tensor.
void matmul_into(const Tensor& out, const Tensor& a, const Tensor& b, double alpha = 1.0);

// x (d) = (A + damping I)^-1 b for symmetric A (d, d), by Cholesky. Returns -1 on success,
// else the index of the first pivot that was not positive (x is then unspecified).
std::int64_t spd_solve_into(const Tensor& A, const Tensor& b, double damping, const Tensor& x);

// One parameter's part in a multi-tensor optimizer update: its gradient, up to three state
// buffers (undefined when unused) and its step constants.
struct ParamUpdate {
    Tensor param, grad;
    Tensor state[3];
    optim::UpdateStep step;
};
// Updates every parameter in `updates` in place, all of one dtype on one device, in one
// backend call. Throws having written nothing when the device cannot run it.
void optimizer_update(const std::vector<ParamUpdate>& updates);

// Rows held in host memory streamed through a device in chunks, with the next chunk's copy
// overlapping the work on this one (Backend::host_chunks; the cpu reads host memory in place
// and has no use for this). X (n, d) and y (n) stay alive and unchanged meanwhile. Each pass:
// fetch(0); for each c: acquire(c) -> queue the work on the chunk -> release(c) ->
// fetch(c + 1). acquire gives chunk c's rows as tensors on the device, valid until release.
class HostChunkStream {
public:
    HostChunkStream(const Tensor& X, const Tensor& y, std::int64_t chunk_rows, bool pin_in_place,
                    Device device);
    ~HostChunkStream();
    HostChunkStream(const HostChunkStream&) = delete;
    HostChunkStream& operator=(const HostChunkStream&) = delete;

    void fetch(std::int64_t chunk);
    std::pair<Tensor, Tensor> acquire(std::int64_t chunk);
    void release(std::int64_t chunk);
    void abandon() noexcept;  // after an exception mid-pass: lets the copies in flight finish

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace descent::detail
