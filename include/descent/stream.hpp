// Training on data bigger than memory, streamed through the weights' device in chunks:
//   StreamedSynthetic: the rows are generated chunk by chunk on the weights' device (the CPU,
//     or a CUDA kernel: src/shared/synthetic_row.hpp, the same values bit for bit), used by
//     the fused pass and dropped, so X is never held whole;
//   StreamedHost: X and y are held in host memory (bigger than the GPU's) and each chunk is
//     read in place on the CPU, or copied to a CUDA device while the previous chunk is being
//     worked on (two chunk buffers, copies on a second stream).
// Device memory holds at most two chunks plus O(d) per chunk. Results equal those on the
// in-memory data to rounding (the sums are grouped by chunk), and are deterministic.
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

// Data in host memory, streamed through the weights' device chunk_rows rows at a time.
// X (n, d) and y (n) are cpu tensors of the weights' dtype; they must not change while a
// pass or a training run reads them.
//   On the cpu the chunks are read in place (no copy).
//   On a CUDA device X and y are page-locked where they are (cudaHostRegister) for the
//   duration of the call and chunks are copied host-to-device on a second stream into two
//   chunk buffers, the copy of chunk c + 1 overlapping the work on chunk c; the device holds
//   two chunks, never X. With pin_in_place false, or when page-locking fails (memory
//   limits), the chunks go through two pinned staging buffers of one chunk each instead,
//   filled by the calling thread with memcpy while the device works on the previous chunk.
struct StreamedHost {
    Tensor X, y;
    std::int64_t chunk_rows = std::int64_t(1) << 20;  // rows per chunk (the last may be fewer)
    bool pin_in_place = true;
    // X holds the features only and the weights have one more entry, the intercept (the
    // implicit ones column of LinearModel's fit_intercept): on the cpu only.
    bool fit_intercept = false;
};

// The fused value-and-grad (and Hessian) over the streamed data at weights w (d entries:
// spec.d, plus one with intercept), on w's device and in w's dtype.
// With `comm` (a distributed run, TrainOptions::parallel), every process of it calls this and
// generates only its contiguous range of chunks (ceil(r C / K) .. of the C chunks); the
// chunks' results are exchanged, so every process gets the one-process result, bitwise. CPU.
LinearMseResult linear_mse_streamed(const StreamedSynthetic& data, const Tensor& w,
                                    bool hessian = false, Communicator* comm = nullptr);

// train_linear over the streamed data, full batch (options.batch_size must be 0 or >= n);
// everything else (resume, checkpoints, stopping, divergence, trajectory) as train_linear.
// The divergence report's λmax and column scales come from one Hessian pass over the stream,
// made only up to 1024 columns (beyond, the report goes without them). Distributed with
// options.parallel.communicator: each process generates its own chunks (the shard is not
// used: chunks, not blocks, are the unit here), with the one-process result on every process.
TrainResult train_linear_streamed(const StreamedSynthetic& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options = {});

// The same over host data: w (d entries) on any device, in X's dtype; results on w's device.
// The divergence report's λmax and column scales are computed from X on the cpu. Not
// distributed (a loaded shard's rows do not fall on the chunks): options.parallel is refused.
LinearMseResult linear_mse_streamed(const StreamedHost& data, const Tensor& w,
                                    bool hessian = false);
TrainResult train_linear_streamed(const StreamedHost& data, optim::Optimizer& optimizer,
                                  const TrainOptions& options = {});

}  // namespace descent
