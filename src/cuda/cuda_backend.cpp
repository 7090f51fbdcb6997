// The CUDA backend: queues every primitive on one stream per device and synchronises only
// where the host reads (copies to the host). Kernels live in kernels/*.cu.
#include "cuda/cuda_backend.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
};

class CudaBackend final : public Backend {
public:
    void* allocate(std::size_t bytes, int device) override {
        context(device);  // validates the ordinal with a clear message
        return cuda_allocate(bytes, device);
    }
    void deallocate(void* ptr, int device) noexcept override { cuda_free(ptr, device); }

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
        DeviceBuffer scratch(
            sizeof(double) * kernels::linear_mse_scratch_doubles(n, d, hessian != nullptr),
            X.device_index);
        kernels::linear_mse(X, y, w, n, d, loss, grad, hessian, scratch.as<double>(),
                            stream(X));
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
        }
        return ctx;
    }

    std::mutex m_mutex;
    std::vector<DeviceContext> m_contexts;
};

}  // namespace

Backend& cuda_backend() {
    // Never destroyed: tensors freed during static destruction still need it.
    static Backend* const backend = new CudaBackend();
    return *backend;
}

}  // namespace descent::detail
