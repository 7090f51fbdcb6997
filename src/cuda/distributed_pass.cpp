// combine_device_partials (distributed_pass.hpp).
#include "cuda/distributed_pass.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cuda/cuda_check.hpp"
#include "cuda/device_buffer.hpp"
#include "kernels.hpp"

namespace descent::detail {

void combine_device_partials(const BlockShard& shard, std::int64_t n_blocks, std::int64_t entries,
                             const double* partials, double* root, int device,
                             cudaStream_t stream, PinnedStaging& staging) {
    const std::vector<BlockNode> nodes =
        nodes_of_range(shard.first_block, shard.first_block + n_blocks, shard.total_blocks);
    const std::size_t node_doubles = nodes.size() * static_cast<std::size_t>(entries);
    std::vector<double> values(node_doubles);
    if (!nodes.empty()) {
        std::int64_t scratch_doubles = 1;
        for (const BlockNode& node : nodes)
            scratch_doubles = std::max(
                scratch_doubles,
                kernels::fold_scratch_doubles(std::int64_t(1) << node.level, entries));
        DeviceBuffer node_values(sizeof(double) * node_doubles, device);
        DeviceBuffer scratch(sizeof(double) * static_cast<std::size_t>(scratch_doubles), device);
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            const std::int64_t first = (nodes[i].index << nodes[i].level) - shard.first_block;
            const std::int64_t count =
                std::min(std::int64_t(1) << nodes[i].level, n_blocks - first);
            // The scratch is reused node after node: the folds queue on one stream.
            kernels::fold_blocks(partials + first * entries, count, entries,
                                 node_values.as<double>() + static_cast<std::int64_t>(i) * entries,
                                 scratch.as<double>(), stream);
        }
        std::lock_guard<std::mutex> lock(*staging.lock);
        double* host = staging.at_least(node_doubles, device);
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(host, node_values.get(), sizeof(double) * node_doubles,
                                           cudaMemcpyDeviceToHost, stream));
        DESCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
        std::memcpy(values.data(), host, sizeof(double) * node_doubles);
    }
    const std::vector<double> total = shard.combine(nodes, values, entries);
    std::lock_guard<std::mutex> lock(*staging.lock);
    double* host = staging.at_least(total.size(), device);
    std::memcpy(host, total.data(), sizeof(double) * total.size());
    DESCENT_CUDA_CHECK(cudaMemcpyAsync(root, host, sizeof(double) * total.size(),
                                       cudaMemcpyHostToDevice, stream));
    // The staging buffer is the next pass's: this copy has read it before that pass writes.
    DESCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace descent::detail
