// Deterministic block reductions: every thread contributes one double, a fixed shared-memory
// tree adds them in the same order on every run.
#pragma once

#include "launch.cuh"

namespace descent::kernels {

// Sum of `value` over the kThreads threads of the block; every thread gets the total.
// `shared` holds kThreads doubles. All threads of the block must call it.
__device__ inline double block_tree_sum(double value, double* shared) {
    shared[threadIdx.x] = value;
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
        __syncthreads();
    }
    const double total = shared[0];
    __syncthreads();
    return total;
}

}  // namespace descent::kernels
