// Full-batch training of a linear model y ≈ X w with MSE loss: each epoch computes the loss,
// gradient (and, for Newton, the Hessian) in one pass over X, records the loss *before* the
// update, as the blog's trainer does, then steps the optimizer.
// Verified by tests/test_optim_blog.cpp against the blog's numpy trainer.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"

namespace descent {

struct TrainOptions {
    std::int64_t epochs = 50;
    bool record_weights = false;  // keep the weights of every epoch (the trajectory)
    // Losses and weights stay on the weights' device and are read back every `sync_every`
    // epochs (0: every epoch on the cpu, every 32 on a GPU), so a GPU is not stalled by a
    // host round trip per epoch. Divergence is detected at those points.
    std::int64_t sync_every = 0;
    // Called for each epoch, in order, with the loss recorded for it (at the sync points).
    std::function<void(std::int64_t epoch, double loss)> on_epoch;
};

struct TrainResult {
    std::vector<double> losses;                // losses[e]: the loss before update e
    std::vector<std::vector<double>> weights;  // weights[e] before update e; weights[epochs] final
    std::vector<double> final_weights;
    std::vector<double> final_grad;            // the gradient used by the last update
};

// The weights are the optimizer's single parameter, a vector of d entries; X is (n, d) and y
// is (n), all on the weights' device and of their dtype. Throws descent::Error when the loss
// turns non-finite, naming the epoch and the last finite loss.
TrainResult train_linear(const Tensor& X, const Tensor& y, optim::Optimizer& optimizer,
                         const TrainOptions& options = {});

}  // namespace descent
