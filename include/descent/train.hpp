// Training of a linear model y ≈ X w with MSE loss. Full batch (the default): each epoch
// computes the loss, gradient (and, for Newton, the Hessian) in one pass over X, records the
// loss *before* the update, as the blog's trainer does, then steps the optimizer. Mini-batches
// (batch_size < n): an epoch is one pass over the rows in batches of batch_size (the last one
// smaller), optionally in a seeded shuffled order, one optimizer step per batch.
// Verified by tests/test_optim_blog.cpp against the blog's numpy trainer, tests/test_minibatch.cpp
// against a reference mini-batch loop, and tests/test_checkpoint.cpp (resume).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"

namespace descent {

struct TrainResult;

// What to do when the loss or the weights turn non-finite.
enum class OnDivergence {
    stop,  // throw descent::Error with the epoch, the optimizer, the last finite loss, 2/λmax
    warn,  // report the same message once through TrainOptions::on_warning and carry on
};

struct TrainOptions {
    std::int64_t epochs = 50;  // the epoch count of the whole run (resumed runs included)
    bool record_weights = false;  // keep the weights of every epoch (the trajectory)
    // Losses and weights stay on the weights' device and are read back every `sync_every`
    // epochs (0: every epoch on the cpu, every 32 on a GPU), so a GPU is not stalled by a
    // host round trip per epoch. Divergence is detected at those points.
    std::int64_t sync_every = 0;
    // Called for each epoch, in order, with the loss recorded for it (at the sync points).
    std::function<void(std::int64_t epoch, double loss)> on_epoch;

    // CUDA graphs, for small problems whose epochs cost more in kernel launches than in
    // work. On a CUDA device, full-batch training with a first-order optimizer (gd, momentum,
    // adagrad, rmsprop, adam, adamw: the library's Sgd, Adagrad, RmsProp and Adam classes)
    // captures each block of epochs between two sync points (loss read-back, checkpoint) into
    // one CUDA graph and launches it once: the fused loss/gradient pass, the optimizer update
    // and the trajectory copy of every epoch in the block. The first epoch of each call runs
    // uncaptured (it creates the optimizer's state and the scratch the captured epochs reuse).
    // Results are bitwise the same as without. Not captured, silently: the cpu (the option
    // is a no-op there), Newton (its solve reads a status back to the host), mini-batches,
    // streamed data and optimizers of other classes. A capture that fails throws
    // descent::CudaError naming the epochs; the device stays usable, and the weights and the
    // optimizer (its step count included) are those of the start of the failed block.
    // Launches are counted by cuda_launch_stats() (descent/device.hpp).
    bool cuda_graph = false;

    // Mini-batches: 0 (or >= n) trains full batch. Not for optimizers that need a Hessian.
    std::int64_t batch_size = 0;
    // Visit the rows of each epoch in a pseudo-random order that depends only on (seed, epoch)
    // (descent/detail/row_permutation.hpp), so a resumed run sees the same batches.
    bool shuffle = false;
    std::uint64_t shuffle_seed = 0;

    OnDivergence on_divergence = OnDivergence::stop;
    std::function<void(const std::string& message)> on_warning;  // for OnDivergence::warn

    // Resume: the result of the epochs already done (its losses, and its weights when
    // record_weights), with the weights and optimizer state already restored by the caller.
    // Training continues at epoch resume->losses.size().
    const TrainResult* resume = nullptr;
    // Every `checkpoint_every` epochs (and after the last), `on_checkpoint` receives the
    // result so far; final_weights are the current weights. The weights and the optimizer
    // state are consistent with it at that moment (what save_checkpoint needs).
    std::int64_t checkpoint_every = 0;
    std::function<void(const TrainResult& so_far)> on_checkpoint;
};

struct TrainResult {
    std::vector<double> losses;                // losses[e]: the loss before update e
    std::vector<std::vector<double>> weights;  // weights[e] before update e; weights[epochs] final
    std::vector<double> final_weights;
    std::vector<double> final_grad;            // the gradient used by the last update
    std::string divergence;  // OnDivergence::warn: the message, empty when training stayed finite
};

// The weights are the optimizer's single parameter, a vector of d entries; X is (n, d) and y
// is (n), all on the weights' device and of their dtype. Throws descent::Error when the loss
// or the weights turn non-finite (unless OnDivergence::warn), naming the epoch, the last
// finite loss and the largest stable gradient-descent step 2/λmax of the data's Hessian.
TrainResult train_linear(const Tensor& X, const Tensor& y, optim::Optimizer& optimizer,
                         const TrainOptions& options = {});

}  // namespace descent
