// Internal: what the one training loop (train.cpp) trains: the parameters and how to
// evaluate the loss and their gradients, on all rows or on a mini-batch. In memory (X and y,
// which mini-batches need) or streamed (src/stream.cpp: chunks generated on the device and
// dropped, or read from host memory chunk by chunk). The step is a fused pass (linear MSE and
// the other fused models) or the generic autodiff step (forward, loss, backward), behind the
// same functions, so resume, checkpoints, divergence, CUDA graphs and the trajectory work
// the same for all.
// Verified through its users: tests/test_streaming.cpp, tests/test_divergence.cpp,
// tests/test_train_generic.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "descent/hessian.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"
#include "descent/train.hpp"

namespace descent::detail {

struct TrainSource {
    std::int64_t n = 0;   // rows
    Tensor X, y;          // the data in memory; undefined when streamed (then full batch only)
    std::vector<Tensor> params;  // the optimizer's parameters, in its order
    // The steps only queue device work into buffers made on their first call (fused passes):
    // a CUDA graph may capture them.
    bool capturable = false;
    // The passes are collectives of a distributed run: a failure in one, even in a pass made
    // only for a report (zero_loss, curvature), must reach the loop's error handling (which
    // agrees on it or ends the group) and never be swallowed by one process alone.
    bool collective = false;
    // The loss over all rows at the current parameters into `loss` (one element) and every
    // parameter's grad() set; with `hessian` defined (Newton: one parameter of P entries,
    // (P, P)), the Hessian written too.
    std::function<void(const Tensor& loss, const Tensor& hessian)> full_pass;
    // The same over the rows (Xb, yb) of a mini-batch (views of X, y or gathered copies).
    std::function<void(const Tensor& Xb, const Tensor& yb, const Tensor& loss)> batch_pass;
    // Lz of the divergence rule: the loss of all-zero parameters (0 when it cannot be had).
    std::function<double()> zero_loss;
    // λmax of the data's Hessian and its columns' scales, for the divergence report: called
    // only when divergence is reported (it costs a pass). May leave either unknown.
    std::function<LinearMseCurvature()> curvature;
    // H v of the loss over all rows, for Newton-CG (one parameter); empty when unavailable.
    std::function<Tensor(const Tensor& v)> hvp;
};

// The one epoch loop: sync points, the divergence guard, checkpoints and resume, progress
// callbacks, stopping on request and CUDA-graph blocks, around the source's steps.
TrainResult train_loop(const TrainSource& source, optim::Optimizer& optimizer,
                       const TrainOptions& options);

// train() and train_linear(): the TrainSource of a model and loss on in-memory data;
// `curvature` feeds the divergence report (empty: unknown).
TrainResult train_model(const Model& model, Loss loss, const Tensor& X, const Tensor& y,
                        optim::Optimizer& optimizer, const TrainOptions& options,
                        std::function<LinearMseCurvature()> curvature);

}  // namespace descent::detail
