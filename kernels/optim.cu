// The fused optimizer kernel: one launch updates every parameter tensor and its state
// (multi-tensor apply). Blocks are spread over a flattened index space covering all tensors;
// each element runs the same per-element rule as the CPU backend (shared/optim_rules.hpp).
// Verified by the CUDA parity suite (optimizer x preset x dtype against the CPU path).
#include <vector>

#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

constexpr int kMaxTensorsPerLaunch = 16;

struct UpdateTable {
    detail::UpdateTensor tensors[kMaxTensorsPerLaunch];
    std::int64_t offsets[kMaxTensorsPerLaunch + 1];  // prefix sums of numel
    int count;
};
// Passed by value as the kernel argument: stay within the classic 4 KiB parameter limit.
static_assert(sizeof(UpdateTable) <= 4096, "UpdateTable too large for a kernel argument");

template <class T>
__global__ void optimizer_update_kernel(const __grid_constant__ UpdateTable table) {
    const std::int64_t total = table.offsets[table.count];
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        int k = 0;
        while (table.offsets[k + 1] <= i) ++k;  // few tensors: a linear scan is cheapest
        const detail::UpdateTensor& u = table.tensors[k];
        const std::int64_t j = i - table.offsets[k];
        T* s0 = static_cast<T*>(u.state[0]);
        T* s1 = static_cast<T*>(u.state[1]);
        T* s2 = static_cast<T*>(u.state[2]);
        optim::apply_update(u.step, static_cast<T*>(u.param)[j], static_cast<const T*>(u.grad)[j],
                            s0 ? s0 + j : nullptr, s1 ? s1 + j : nullptr, s2 ? s2 + j : nullptr);
    }
}

}  // namespace

void optimizer_update(DType dtype, const detail::UpdateTensor* tensors, int count,
                      cudaStream_t stream) {
    for (int start = 0; start < count; start += kMaxTensorsPerLaunch) {
        UpdateTable table{};
        table.count = std::min(kMaxTensorsPerLaunch, count - start);
        table.offsets[0] = 0;
        for (int k = 0; k < table.count; ++k) {
            table.tensors[k] = tensors[start + k];
            table.offsets[k + 1] = table.offsets[k] + tensors[start + k].numel;
        }
        const std::int64_t total = table.offsets[table.count];
        if (total == 0) continue;
        detail::visit_dtype(dtype, [&](auto t) {
            using T = decltype(t);
            optimizer_update_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(table);
        });
        DESCENT_CUDA_CHECK_LAUNCH("optimizer_update_kernel");
    }
}

}  // namespace descent::kernels
