// A distributed pass's block partials folded on the device into one value per tree node
// (shared/block_tree.hpp's fold_in_place, in the same order): 256 consecutive partials per
// CUDA block, added pairwise with doubling strides in shared memory, then the same over the
// group sums until one is left. A node starts on a multiple of its size, so every group of
// 256 (and of 256 groups, ...) it holds is itself a node of the tree: the sums are the tree's.
// Verified by tests/test_cuda_distributed.cpp (bitwise the CPU's fold_in_place of the same
// partials, and the passes for every split of the rows).
#include <algorithm>
#include <cstdint>

#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

// out[g, e] = the tree fold of in[g * kThreads + i, e] for i < min(kThreads, count - g kThreads).
__global__ void fold_groups_kernel(const double* in, std::int64_t count, std::int64_t entries,
                                   double* out) {
    __shared__ double s[kThreads];
    const std::int64_t first = std::int64_t(blockIdx.x) * kThreads;
    const int held = static_cast<int>(min(std::int64_t(kThreads), count - first));
    const int t = threadIdx.x;
    for (std::int64_t e = blockIdx.y; e < entries; e += gridDim.y) {
        s[t] = t < held ? in[(first + t) * entries + e] : 0.0;
        __syncthreads();
        for (int stride = 1; stride < held; stride *= 2) {  // held is the block's: no divergence
            if (t % (2 * stride) == 0 && t + stride < held) s[t] += s[t + stride];
            __syncthreads();
        }
        if (t == 0) out[std::int64_t(blockIdx.x) * entries + e] = s[0];
        __syncthreads();  // s is refilled for the next entry
    }
}

std::int64_t groups_of(std::int64_t count) { return (count + kThreads - 1) / kThreads; }

}  // namespace

std::int64_t fold_scratch_doubles(std::int64_t count, std::int64_t entries) {
    return count > kThreads ? 2 * groups_of(count) * entries : 0;
}

void fold_blocks(const double* partials, std::int64_t count, std::int64_t entries, double* out,
                 double* scratch, cudaStream_t stream) {
    if (count < 1 || entries < 1) return;
    if (count == 1) {
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(out, partials, sizeof(double) * entries,
                                           cudaMemcpyDeviceToDevice, stream));
        return;
    }
    const std::int64_t half = groups_of(count) * entries;  // the first level's output
    const double* in = partials;
    int which = 0;
    for (std::int64_t held = count; held > 1;) {
        const std::int64_t groups = groups_of(held);
        double* to = groups == 1 ? out : scratch + which * half;
        const dim3 grid(static_cast<unsigned>(groups),
                        static_cast<unsigned>(std::min<std::int64_t>(entries, 65535)));
        fold_groups_kernel<<<grid, kThreads, 0, stream>>>(in, held, entries, to);
        DESCENT_CUDA_CHECK_LAUNCH("fold_groups_kernel");
        in = to;
        held = groups;
        which ^= 1;
    }
}

}  // namespace descent::kernels
