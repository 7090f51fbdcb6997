// Internal: where the trainer's data comes from. In memory (X and y, which mini-batches
// need), or streamed (src/stream.cpp: chunks generated on the device and dropped, or read
// from host memory chunk by chunk), all behind the same full-batch pass, so resume,
// checkpoints, divergence and the trajectory work the same for all.
// Verified through its users: tests/test_streaming.cpp, tests/test_divergence.cpp.
#pragma once

#include <cstdint>
#include <functional>

#include "descent/hessian.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"
#include "descent/train.hpp"

namespace descent::detail {

struct TrainSource {
    std::int64_t n = 0, d = 0;
    Tensor X, y;  // the data in memory; undefined when streamed (then full batch only)
    // loss (one element), grad (d) and, when hessian is defined, the Hessian (d, d) of the
    // whole data at the weights `w`, written in place on w's device.
    std::function<void(const Tensor& w, const Tensor& loss, const Tensor& grad,
                       const Tensor& hessian)>
        full_pass;
    // λmax of the data's Hessian and its columns' scales, for the divergence report: called
    // only when divergence is reported (it costs a pass). May leave either unknown (NaN,
    // empty) where computing it would cost too much.
    std::function<LinearMseCurvature()> curvature;
};

TrainResult train_linear(const TrainSource& source, optim::Optimizer& optimizer,
                         const TrainOptions& options);

}  // namespace descent::detail
