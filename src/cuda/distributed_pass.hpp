// A distributed pass on one CUDA device (shared/block_tree.hpp): the pass's kernel has written
// each of its blocks' partial sums; here they are folded per tree node on the device, copied
// through pinned host memory to shard.combine (which exchanges them with the other
// processes'), and the root copied back to the device for the pass's finish kernel. The
// blocks' sums depend on the block's rows alone and the tree's order on no process count, so
// the root is the same bits for any number of GPU processes.
// Verified by tests/test_cuda_distributed.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include <cuda_runtime_api.h>

#include "cuda/pinned_buffer.hpp"
#include "shared/block_tree.hpp"

namespace descent::detail {

// Pinned host memory reused by a device's distributed passes (grown, never shrunk). Host
// threads sharing the device (tests/test_cuda_distributed.cpp) take turns through `lock`,
// never held across the exchange between processes.
struct PinnedStaging {
    PinnedBuffer buffer;
    std::size_t bytes = 0;
    std::unique_ptr<std::mutex> lock = std::make_unique<std::mutex>();
    double* at_least(std::size_t doubles, int device) {
        if (doubles * sizeof(double) > bytes) {
            buffer = PinnedBuffer(doubles * sizeof(double), device);
            bytes = doubles * sizeof(double);
        }
        return buffer.as<double>();
    }
};

// partials: n_blocks * entries doubles on `device` (the blocks from shard.first_block);
// root: entries doubles on the device, written with the sums over every process's rows.
// Every process calls it (also one with no rows: n_blocks 0), as shard.combine is collective.
void combine_device_partials(const BlockShard& shard, std::int64_t n_blocks, std::int64_t entries,
                             const double* partials, double* root, int device,
                             cudaStream_t stream, PinnedStaging& staging);

}  // namespace descent::detail
