// The CUDA backend: queues every primitive on one stream per device and synchronises only
// where the host reads (copies to the host). Kernels live in kernels/*.cu.
#include "cuda/cuda_backend.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/caching_allocator.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_memory.hpp"
#include "cuda/device_buffer.hpp"
#include "descent/error.hpp"
#include "kernels.hpp"

namespace descent::detail {

int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();  // no driver or no device: not an error for a query
        return 0;
    }
    return count;
}

namespace {

// Per-device resources, created on first use and kept for the life of the process.
struct DeviceContext {
    cudaStream_t stream = nullptr;
    cublasHandle_t cublas = nullptr;
    cusolverDnHandle_t cusolver = nullptr;
    std::unique_ptr<CachingAllocator> allocator;
};

class CudaBackend final : public Backend {
public:
    void* allocate(std::size_t bytes, int device) override {
        return context(device).allocator->allocate(bytes);  // context() validates the ordinal
    }
    void deallocate(void* ptr, int device) noexcept override {
        // Never throws: the context exists, since ptr came from allocate().
        if (ptr != nullptr && device >= 0 && device < static_cast<int>(m_contexts.size()) &&
            m_contexts[static_cast<std::size_t>(device)].allocator)
            m_contexts[static_cast<std::size_t>(device)].allocator->deallocate(ptr);
    }

    DeviceMemoryStats memory_stats(int device) {
        std::lock_guard<std::mutex> lock(m_mutex);
        DeviceMemoryStats out;
        if (device < 0 || device >= static_cast<int>(m_contexts.size()) ||
            !m_contexts[static_cast<std::size_t>(device)].allocator)
            return out;
        const AllocatorStats s = m_contexts[static_cast<std::size_t>(device)].allocator->stats();
        out.device_allocations = s.raw_allocations;
        out.device_frees = s.raw_frees;
        out.requests = s.requests;
        out.bytes_in_use = s.bytes_in_use;
        out.bytes_cached = s.bytes_cached;
        return out;
    }

    void empty_cache() {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (std::size_t i = 0; i < m_contexts.size(); ++i) {
            if (!m_contexts[i].allocator) continue;
            DeviceGuard guard(static_cast<int>(i));
            // Cached blocks may still be read by queued work: finish it first.
            DESCENT_CUDA_CHECK(cudaStreamSynchronize(m_contexts[i].stream));
            m_contexts[i].allocator->release_cached();
        }
    }

    void copy_from_host(void* dst, const void* src, std::size_t bytes, int device) override {
        if (bytes == 0) return;
        DeviceGuard guard(device);
        cudaStream_t s = context(device).stream;
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
        // The source is pageable host memory the caller may free at once.
        DESCENT_CUDA_CHECK(cudaStreamSynchronize(s));
    }
    void copy_to_host(void* dst, const void* src, std::size_t bytes, int device) override {
        if (bytes == 0) return;
        DeviceGuard guard(device);
        cudaStream_t s = context(device).stream;
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
        DESCENT_CUDA_CHECK(cudaStreamSynchronize(s));  // the host reads it next
    }
    void copy(void* dst, const void* src, std::size_t bytes, int device) override {
        if (bytes == 0 || dst == src) return;
        DeviceGuard guard(device);
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
                                           context(device).stream));
    }

    void synchronize(int device) override {
        DeviceGuard guard(device);
        DESCENT_CUDA_CHECK(cudaStreamSynchronize(context(device).stream));
    }

    void fill(Array out, double value) override {
        DeviceGuard guard(out.device_index);
        kernels::fill(out, value, stream(out));
    }
    void cast(Array in, Array out) override {
        DeviceGuard guard(out.device_index);
        kernels::cast(in, out, stream(out));
    }
    void unary(UnaryOp op, double alpha, Array in, Array out) override {
        DeviceGuard guard(out.device_index);
        kernels::unary(op, alpha, in, out, stream(out));
    }
    void binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& ix) override {
        DeviceGuard guard(out.device_index);
        kernels::binary(op, a, b, out, ix, stream(out));
    }
    void broadcast(Array in, Array out, const BroadcastIndex& ix) override {
        DeviceGuard guard(out.device_index);
        kernels::broadcast(in, out, ix, stream(out));
    }
    void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
              double alpha, Array a, Array b, Array c) override {
        DeviceGuard guard(c.device_index);
        kernels::gemm(context(c.device_index).cublas, trans_a, trans_b, m, n, k, alpha, a, b, c);
    }
    void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols) override {
        DeviceGuard guard(out.device_index);
        kernels::transpose(in, out, rows, cols, stream(out));
    }
    void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
                  double scale) override {
        DeviceGuard guard(out.device_index);
        kernels::sum_axis(in, out, outer, len, inner, scale, stream(out));
    }
    void mse(Array pred, Array target, Array out) override {
        DeviceGuard guard(out.device_index);
        DeviceBuffer scratch(sizeof(double) * kernels::mse_scratch_doubles(pred.numel),
                             out.device_index);
        kernels::mse(pred, target, out, scratch.as<double>(), stream(out));
    }
    void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d, Array loss,
                    Array grad, const Array* hessian) override {
        DeviceGuard guard(X.device_index);
        const kernels::LinearMsePlan plan =
            kernels::plan_linear_mse(X.dtype, n, d, hessian != nullptr);
        DeviceBuffer scratch(sizeof(double) * static_cast<std::size_t>(plan.scratch_doubles),
                             X.device_index);
        DeviceBuffer residual(plan.residual_bytes, X.device_index);
        kernels::linear_mse(context(X.device_index).cublas, plan, X, y, w, n, d, loss, grad,
                            hessian, scratch.as<double>(), residual.get(), stream(X));
    }

    void gather_rows(Array X, Array y, std::int64_t d, const RowPermutation& perm,
                     std::int64_t begin, std::int64_t count, Array Xb, Array yb) override {
        DeviceGuard guard(X.device_index);
        kernels::gather_rows(X, y, d, perm, begin, count, Xb, yb, stream(X));
    }

    void synthetic_rows(const SyntheticRows& spec, std::int64_t begin, std::int64_t count, Array X,
                        Array y) override {
        DeviceGuard guard(X.device_index);
        kernels::synthetic_rows(spec, begin, count, X, y, stream(X));
    }

    std::int64_t spd_solve(Array A, Array b, std::int64_t d, double damping, Array x) override {
        DeviceGuard guard(x.device_index);
        DeviceContext& ctx = context(x.device_index);
        const std::int64_t work = kernels::spd_solve_workspace_bytes(ctx.cusolver, A.dtype, d);
        DeviceBuffer factor(dtype_size(A.dtype) * d * d, x.device_index);
        DeviceBuffer workspace(static_cast<std::size_t>(std::max<std::int64_t>(work, 1)),
                               x.device_index);
        DeviceBuffer info(sizeof(int), x.device_index);
        return kernels::spd_solve(ctx.cusolver, A, b, d, damping, x, factor.get(), workspace.get(),
                                  work, info.as<int>(), ctx.stream);
    }

    void optimizer_update(DType dtype, const UpdateTensor* tensors, int count,
                          int device) override {
        DeviceGuard guard(device);
        kernels::optimizer_update(dtype, tensors, count, context(device).stream);
    }

private:
    cudaStream_t stream(const Array& a) { return context(a.device_index).stream; }

    DeviceContext& context(int device) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_contexts.empty()) m_contexts.resize(static_cast<std::size_t>(cuda_device_count()));
        if (device < 0 || device >= static_cast<int>(m_contexts.size()))
            throw Error("cuda:" + std::to_string(device) + " is not available: " +
                        std::to_string(m_contexts.size()) + " CUDA device(s) found" +
                        (m_contexts.empty() ? " (no driver or no GPU on this machine)" : ""));
        DeviceContext& ctx = m_contexts[static_cast<std::size_t>(device)];
        if (ctx.stream == nullptr) {
            DeviceGuard guard(device);
            DESCENT_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
            DESCENT_CUBLAS_CHECK(cublasCreate(&ctx.cublas));
            DESCENT_CUBLAS_CHECK(cublasSetStream(ctx.cublas, ctx.stream));
            if (cusolverDnCreate(&ctx.cusolver) != CUSOLVER_STATUS_SUCCESS ||
                cusolverDnSetStream(ctx.cusolver, ctx.stream) != CUSOLVER_STATUS_SUCCESS)
                throw Error("cuda:" + std::to_string(device) + ": cannot create a cuSOLVER handle");
            ctx.allocator = std::make_unique<CachingAllocator>(
                [device](std::size_t bytes) { return cuda_allocate(bytes, device); },
                [device](void* ptr) { cuda_free(ptr, device); });
        }
        return ctx;
    }

    std::mutex m_mutex;
    std::vector<DeviceContext> m_contexts;
};

CudaBackend& the_backend() {
    // Never destroyed: tensors freed during static destruction still need it.
    static CudaBackend* const backend = new CudaBackend();
    return *backend;
}

}  // namespace

Backend& cuda_backend() { return the_backend(); }
DeviceMemoryStats cuda_memory_stats(int device) { return the_backend().memory_stats(device); }
void cuda_empty_cache() { the_backend().empty_cache(); }

}  // namespace descent::detail
