// Training on synthetic data bigger than memory: the rows are generated chunk by chunk on
// the weights' device (the CPU, or a CUDA kernel: descent/detail/synthetic_row.hpp, the same
// values bit for bit), used by the fused pass and dropped, so X is never held whole; device
// memory holds one chunk plus O(d) per chunk. Results equal those on the in-memory data to
// rounding (the sums are grouped by chunk).
// Verified by tests/test_streaming.cpp (and tests/test_cuda_training.cpp on a device).
#pragma once

#include <cstdint>

#include "descent/data.hpp"
#include "descent/loss.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/train.hpp"

namespace descent {

struct StreamedSynthetic {
    SyntheticSpec spec;
    bool intercept = true;
    std::int64_t chunk_rows = std::int64_t(1) << 20;  // rows generated at a time
};

// The fused value-and-grad (and Hessian) over the streamed data at weights w (d entries:
// spec.d, plus one with intercept), on w's device and in w's dtype.
LinearMseResult linear_mse_streamed(const StreamedSynthetic& data, const Tensor& w,
                                    bool hessian = false);

// train_linear over the streamed data, full batch (options.batch_size must be 0 or >= n);
// everything else (resume, checkpoints, divergence, trajectory) as train_linear.
TrainResult train_linear_streamed(const StreamedSynthetic& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options = {});

}  // namespace descent
