// The CUDA backend: queues every primitive on one stream per device and synchronises only
// where the host reads (copies to the host). Kernels live in kernels/*.cu. Work can also be
// captured into a CUDA graph and launched as one (Backend::begin_capture, used by the
// trainer's TrainOptions::cuda_graph); launches are counted per device (cuda_launch_stats).
// Host data streamed through a device (Backend::host_chunks, src/cuda/host_chunks.cpp) is
// copied on a second stream per device, ordered with the first by events.
#include "cuda/cuda_backend.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "backend/caching_allocator.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_memory.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda/distributed_pass.hpp"
#include "cuda/host_chunks.hpp"
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

// Launch counters and the capture state of one device; behind a pointer in DeviceContext
// (atomics do not move). The counters are read by cuda_launch_stats() from any thread.
struct DeviceActivity {
    std::atomic<std::uint64_t> kernel_launches{0};
    std::atomic<std::uint64_t> graph_launches{0};
    std::atomic<std::uint64_t> graph_kernel_nodes{0};
    // From begin_capture until the captured graph is launched (or the capture aborted), the
    // device belongs to capture_owner (written under the backend's mutex).
    std::atomic<bool> capturing{false};
    std::thread::id capture_owner;
    // Host bytes page-locked in place by the device's HostChunks (DeviceMemoryStats).
    std::atomic<std::size_t> host_bytes_pinned{0};
};

// Per-device resources, created on first use and kept for the life of the process.
struct DeviceContext {
    cudaStream_t stream = nullptr;
    cudaStream_t copy_stream = nullptr;  // host-to-device chunk copies; made on first use
    cublasHandle_t cublas = nullptr;
    cusolverDnHandle_t cusolver = nullptr;
    std::unique_ptr<CachingAllocator> allocator;
    std::unique_ptr<DeviceActivity> activity;
    PinnedStaging pass_sums;  // distributed passes' sums to and from the host
    // cuBLAS and cuSOLVER handles must not be used by two host threads at once (processes of
    // a distributed run as threads, tests/test_cuda_distributed.cpp, share the device): their
    // calls are queued under this lock.
    std::unique_ptr<std::mutex> library_lock = std::make_unique<std::mutex>();
};

// A captured graph, destroyed on every path (destructors never throw).
struct GraphDeleter {
    void operator()(cudaGraph_t graph) const noexcept { cudaGraphDestroy(graph); }
};
using GraphPtr = std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter>;

// The executable graph the trainer keeps between blocks of epochs.
class CudaGraphExec final : public GraphExec {
public:
    explicit CudaGraphExec(int device) : m_device(device) {}
    ~CudaGraphExec() override {
        if (m_exec == nullptr) return;
        // A launch still in flight completes: CUDA frees an executable graph that is running
        // when it finishes.
        const cudaError_t status = cudaGraphExecDestroy(m_exec);
        if (status != cudaSuccess && status != cudaErrorCudartUnloading)
            std::fprintf(stderr, "descent: cudaGraphExecDestroy failed on cuda:%d: %s\n",
                         m_device, cudaGetErrorString(status));
    }
    CudaGraphExec(const CudaGraphExec&) = delete;
    CudaGraphExec& operator=(const CudaGraphExec&) = delete;

    cudaGraphExec_t get() const { return m_exec; }
    cudaGraphExec_t* out() { return &m_exec; }  // for cudaGraphInstantiate
    int device() const { return m_device; }

private:
    cudaGraphExec_t m_exec = nullptr;
    int m_device;
};

// Kernel nodes of a captured graph (memcpy nodes, e.g. the trajectory's copies, are not).
std::uint64_t count_kernel_nodes(cudaGraph_t graph) {
    std::size_t count = 0;
    DESCENT_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &count));
    if (count == 0) return 0;
    std::vector<cudaGraphNode_t> nodes(count);
    DESCENT_CUDA_CHECK(cudaGraphGetNodes(graph, nodes.data(), &count));
    std::uint64_t kernels = 0;
    for (std::size_t i = 0; i < count; ++i) {
        cudaGraphNodeType type = cudaGraphNodeTypeEmpty;
        DESCENT_CUDA_CHECK(cudaGraphNodeGetType(nodes[i], &type));
        if (type == cudaGraphNodeTypeKernel) ++kernels;
    }
    return kernels;
}

// The fused passes' kernels read X with its ones column stored; fused_ops.cpp refuses an
// implicit one on a CUDA device before it gets here, so this is a broken caller.
void refuse_implicit_intercept(const char* op, bool intercept) {
    if (intercept)
        throw Error(std::string("internal error: ") + op +
                    ": the CUDA kernels need X with its ones column stored");
}

// A distributed pass's shape the tiled kernel cannot take (the block partials need it).
[[noreturn]] void refuse_shard_shape(const char* op, int device, std::int64_t d,
                                     const char* limit) {
    throw Error(std::string(op) + " on cuda:" + std::to_string(device) +
                ": a distributed pass on a GPU runs the tiled kernel, which takes " + limit +
                "; got d = " + std::to_string(d) + " (train on the CPU processes instead)");
}

// A distributed pass's device memory: its blocks' partials and the root sums.
class DistributedSums {
public:
    DistributedSums(const kernels::BlockPartialsPlan& plan, int device)
        : m_plan(plan), m_device(device),
          m_partials(sizeof(double) * static_cast<std::size_t>(std::max<std::int64_t>(
                                          1, std::int64_t(plan.blocks) * plan.entries)),
                     device),
          m_root(sizeof(double) * static_cast<std::size_t>(plan.entries), device) {}
    double* partials() const { return m_partials.as<double>(); }
    double* root() const { return m_root.as<double>(); }
    template <class Context>
    void combine(const BlockShard& shard, Context& ctx, cudaStream_t stream) {
        combine_device_partials(shard, m_plan.blocks, m_plan.entries, partials(), root(),
                                m_device, stream, ctx.pass_sums);
    }

private:
    kernels::BlockPartialsPlan m_plan;
    int m_device;
    DeviceBuffer m_partials, m_root;
};

class CudaBackend final : public Backend {
public:
    void* allocate(std::size_t bytes, int device) override {
        DeviceContext& ctx = context(device);  // validates the ordinal; refuses other threads
        if (!ctx.activity->capturing.load())
            return m_bypass_scopes.load() > 0 ? ctx.allocator->allocate_fresh(bytes)
                                              : ctx.allocator->allocate(bytes);
        // Inside this thread's capture: no cudaMalloc (not capturable, and it may
        // synchronise), so only a cached block will do. The trainer runs its first epoch
        // uncaptured, which leaves every block the captured epochs ask for in the cache.
        void* ptr = ctx.allocator->allocate_cached(bytes);
        if (ptr == nullptr && bytes > 0)
            throw Error("cuda:" + std::to_string(device) + ": " + std::to_string(bytes) +
                        " bytes asked for inside a CUDA graph capture, and no cached block fits "
                        "(captured work may not call cudaMalloc; run the same work once "
                        "uncaptured first)");
        return ptr;
    }
    void bypass_allocation_cache(bool on) override {
        if (on) {
            m_bypass_scopes.fetch_add(1);
        } else {
            m_bypass_scopes.fetch_sub(1);
        }
    }
    void deallocate(void* ptr, int device) noexcept override {
        // Never throws: the context exists, since ptr came from allocate().
        if (ptr != nullptr && device >= 0 && device < static_cast<int>(m_contexts.size()) &&
            m_contexts[static_cast<std::size_t>(device)].allocator)
            m_contexts[static_cast<std::size_t>(device)].allocator->deallocate(ptr);
    }

    DeviceLaunchStats launch_stats(int device) {
        std::lock_guard<std::mutex> lock(m_mutex);
        DeviceLaunchStats out;
        if (device < 0 || device >= static_cast<int>(m_contexts.size()) ||
            !m_contexts[static_cast<std::size_t>(device)].activity)
            return out;
        const DeviceActivity& a = *m_contexts[static_cast<std::size_t>(device)].activity;
        out.kernel_launches = a.kernel_launches.load();
        out.graph_launches = a.graph_launches.load();
        out.graph_kernel_nodes = a.graph_kernel_nodes.load();
        return out;
    }

    // A kernel was launched on `device` (its context exists: the launch used its stream, so
    // m_contexts was sized, and its activity made, before this thread launched).
    void note_launch(int device) noexcept {
        if (device < 0 || device >= static_cast<int>(m_contexts.size())) return;
        DeviceActivity* a = m_contexts[static_cast<std::size_t>(device)].activity.get();
        // While capturing, the kernel was recorded, not launched: the graph counts it.
        if (a == nullptr || a->capturing.load()) return;
        a->kernel_launches.fetch_add(1, std::memory_order_relaxed);
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
        out.host_bytes_pinned =
            m_contexts[static_cast<std::size_t>(device)].activity->host_bytes_pinned.load();
        return out;
    }

    void empty_cache() {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (std::size_t i = 0; i < m_contexts.size(); ++i) {
            if (!m_contexts[i].allocator) continue;
            // A capture in progress (until its graph is launched) refers to cached blocks
            // that were returned during it, and its stream cannot be synchronised: keep them.
            if (m_contexts[i].activity && m_contexts[i].activity->capturing.load()) continue;
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
    void strided_copy(Array in, Array out, const BroadcastIndex& ix) override {
        DeviceGuard guard(out.device_index);
        kernels::strided_copy(in, out, ix, stream(out));
    }
    void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
              double alpha, Array a, Array b, Array c) override {
        DeviceGuard guard(c.device_index);
        DeviceContext& ctx = context(c.device_index);
        std::lock_guard<std::mutex> lock(*ctx.library_lock);
        kernels::gemm(ctx.cublas, trans_a, trans_b, m, n, k, alpha, a, b, c);
    }
    void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols) override {
        DeviceGuard guard(out.device_index);
        kernels::transpose(in, out, rows, cols, stream(out));
    }
    void max_all(Array in, Array out) override {
        DeviceGuard guard(out.device_index);
        kernels::max_all(in, out, stream(out));
    }
    void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
                  double scale) override {
        DeviceGuard guard(out.device_index);
        kernels::sum_axis(in, out, outer, len, inner, scale, stream(out));
    }
    void where(Array cond, Array a, Array b, Array out, const SelectIndex& ix) override {
        DeviceGuard guard(out.device_index);
        kernels::where(cond, a, b, out, ix, stream(out));
    }
    void extremum_axis(bool largest, Array in, Array values, Array indices, std::int64_t outer,
                       std::int64_t len, std::int64_t inner) override {
        DeviceGuard guard(values.device_index);
        kernels::extremum_axis(largest, in, values, indices, outer, len, inner, stream(values));
    }
    // The index lists are host memory the caller may free on return: copy_from_host waits for
    // its copy (and for the work queued before it, which the lists do not need).
    void index_select(Array in, Array out, std::int64_t, std::int64_t len, std::int64_t inner,
                      const std::int64_t* index, std::int64_t count) override {
        if (out.numel == 0) return;
        DeviceGuard guard(out.device_index);
        const std::size_t bytes = sizeof(std::int64_t) * static_cast<std::size_t>(count);
        DeviceBuffer device_index(bytes, out.device_index);
        copy_from_host(device_index.get(), index, bytes, out.device_index);
        kernels::index_select(in, out, len, inner, device_index.as<std::int64_t>(), count,
                              stream(out));
    }
    void index_add(Array in, Array out, std::int64_t, std::int64_t len, std::int64_t inner,
                   const std::int64_t* order, const std::int64_t* offsets,
                   std::int64_t count) override {
        if (out.numel == 0) return;
        DeviceGuard guard(out.device_index);
        // One buffer: order (count), then offsets (len + 1).
        const std::size_t order_bytes = sizeof(std::int64_t) * static_cast<std::size_t>(count);
        const std::size_t offsets_bytes = sizeof(std::int64_t) * static_cast<std::size_t>(len + 1);
        DeviceBuffer lists(order_bytes + offsets_bytes, out.device_index);
        std::int64_t* device_order = lists.as<std::int64_t>();
        std::int64_t* device_offsets = device_order + count;
        copy_from_host(device_order, order, order_bytes, out.device_index);
        copy_from_host(device_offsets, offsets, offsets_bytes, out.device_index);
        kernels::index_add(in, out, len, inner, device_order, device_offsets, count, stream(out));
    }
    void mse(Array pred, Array target, Array out) override {
        DeviceGuard guard(out.device_index);
        DeviceBuffer scratch(sizeof(double) * kernels::mse_scratch_doubles(pred.numel),
                             out.device_index);
        kernels::mse(pred, target, out, scratch.as<double>(), stream(out));
    }
    void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d, bool intercept,
                    Array loss, Array grad, const Array* hessian,
                    const BlockShard* shard) override {
        refuse_implicit_intercept("linear_mse", intercept);
        DeviceGuard guard(X.device_index);
        if (shard) {
            const kernels::BlockPartialsPlan plan = kernels::plan_linear_mse_blocks(
                X.dtype, n, d, hessian != nullptr, kBlockRows);
            if (!plan.supported)
                refuse_shard_shape("linear_mse", X.device_index, d,
                                   hessian != nullptr ? "d <= 64 with the Hessian"
                                                      : "at most about 300 f32 or 150 f64 columns");
            DistributedSums sums(plan, X.device_index);
            kernels::linear_mse_blocks(plan, X, y, w, n, d, sums.partials(), stream(X));
            sums.combine(*shard, context(X.device_index), stream(X));
            kernels::linear_mse_finish(sums.root(), plan.entries, shard->total_rows, d, loss, grad,
                                       hessian, stream(X));
            return;
        }
        const kernels::LinearMsePlan plan =
            kernels::plan_linear_mse(X.dtype, n, d, hessian != nullptr);
        DeviceBuffer scratch(sizeof(double) * static_cast<std::size_t>(plan.scratch_doubles),
                             X.device_index);
        DeviceBuffer residual(plan.residual_bytes, X.device_index);
        DeviceContext& ctx = context(X.device_index);
        std::lock_guard<std::mutex> lock(*ctx.library_lock);
        kernels::linear_mse(ctx.cublas, plan, X, y, w, n, d, loss, grad,
                            hessian, scratch.as<double>(), residual.get(), stream(X));
    }

    void logistic(Array X, Array y, Array w, std::int64_t n, std::int64_t d, bool intercept,
                  Array loss, Array grad, const Array* hessian,
                  const BlockShard* shard) override {
        refuse_implicit_intercept("logistic", intercept);
        DeviceGuard guard(X.device_index);
        if (shard) {
            const kernels::BlockPartialsPlan plan = kernels::plan_logistic_blocks(
                X.dtype, n, d, hessian != nullptr, kBlockRows);
            if (!plan.supported)
                refuse_shard_shape("logistic", X.device_index, d,
                                   hessian != nullptr ? "d <= 64 with the Hessian"
                                                      : "at most about 300 f32 or 150 f64 columns");
            DistributedSums sums(plan, X.device_index);
            kernels::logistic_blocks(plan, X, y, w, n, d, sums.partials(), stream(X));
            sums.combine(*shard, context(X.device_index), stream(X));
            kernels::logistic_finish(sums.root(), plan.entries, shard->total_rows, d, loss, grad,
                                     hessian, stream(X));
            return;
        }
        const kernels::LogisticPlan plan =
            kernels::plan_logistic(X.dtype, n, d, hessian != nullptr);
        DeviceBuffer scratch(sizeof(double) * static_cast<std::size_t>(plan.scratch_doubles),
                             X.device_index);
        DeviceBuffer rows(plan.rows_bytes, X.device_index);
        DeviceBuffer scaled(plan.scaled_bytes, X.device_index);
        DeviceContext& ctx = context(X.device_index);
        std::lock_guard<std::mutex> lock(*ctx.library_lock);
        kernels::logistic(ctx.cublas, plan, X, y, w, n, d, loss, grad, hessian,
                          scratch.as<double>(), rows.get(), scaled.get(), stream(X));
    }

    void softmax_cross_entropy(Array X, Array labels, Array W, std::int64_t n, std::int64_t d,
                               std::int64_t k, bool intercept, Array loss, Array grad,
                               const BlockShard* shard) override {
        refuse_implicit_intercept("softmax_cross_entropy", intercept);
        DeviceGuard guard(X.device_index);
        if (shard) {
            const kernels::BlockPartialsPlan plan =
                kernels::plan_softmax_blocks(X.dtype, n, d, k, kBlockRows);
            if (!plan.supported)
                refuse_shard_shape("softmax_cross_entropy", X.device_index, d,
                                   "1 + d k <= 2304 weights' sums in a tile of 32+ rows");
            DistributedSums sums(plan, X.device_index);
            kernels::softmax_blocks(plan, X, labels, W, n, d, k, sums.partials(), stream(X));
            sums.combine(*shard, context(X.device_index), stream(X));
            kernels::softmax_finish(sums.root(), plan.entries, shard->total_rows, loss, grad,
                                    stream(X));
            return;
        }
        const kernels::SoftmaxPlan plan = kernels::plan_softmax(X.dtype, n, d, k);
        DeviceBuffer scratch(sizeof(double) * static_cast<std::size_t>(plan.scratch_doubles),
                             X.device_index);
        DeviceBuffer logits(plan.logits_bytes, X.device_index);
        DeviceContext& ctx = context(X.device_index);
        std::lock_guard<std::mutex> lock(*ctx.library_lock);
        kernels::softmax_cross_entropy(ctx.cublas, plan, X, labels, W, n, d, k,
                                       loss, grad, scratch.as<double>(), logits.get(), stream(X));
    }

    void gather_rows(Array X, Array y, std::int64_t d, const RowPermutation& perm,
                     std::int64_t begin, std::int64_t count, Array Xb, Array yb) override {
        DeviceGuard guard(X.device_index);
        kernels::gather_rows(X, y, d, perm, begin, count, Xb, yb, stream(X));
    }

    void dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset) override {
        DeviceGuard guard(out.device_index);
        kernels::dropout_mask(out, p, seed, offset, stream(out));
    }

    void synthetic_rows(const SyntheticRows& spec, std::int64_t begin, std::int64_t count, Array X,
                        Array y) override {
        DeviceGuard guard(X.device_index);
        kernels::synthetic_rows(spec, begin, count, X, y, stream(X));
    }

    std::int64_t spd_solve(Array A, Array b, std::int64_t d, double damping, Array x) override {
        DeviceGuard guard(x.device_index);
        DeviceContext& ctx = context(x.device_index);
        std::lock_guard<std::mutex> lock(*ctx.library_lock);
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

    // --- host data streamed through the device ---------------------------------------------
    // The chunks' copies run on the device's copy stream; the work on them on its stream, as
    // every op. The stream is reached through context() on each use, which refuses while
    // another thread captures a graph on the device (as every op is refused then).
    std::unique_ptr<HostChunks> host_chunks(const HostRows& rows, int device) override {
        DeviceContext& ctx = context(device);
        cudaStream_t copy = nullptr;
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            if (ctx.copy_stream == nullptr) {
                DeviceGuard guard(device);
                DESCENT_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.copy_stream, cudaStreamNonBlocking));
            }
            copy = ctx.copy_stream;
        }
        return make_cuda_host_chunks(
            rows, device, [this, device] { return context(device).stream; }, copy,
            ctx.activity->host_bytes_pinned);
    }

    // --- graph capture ----------------------------------------------------------------------
    // Capture mode: thread-local. This thread is then barred from the calls that cannot be
    // captured or would break the capture (cudaMalloc, synchronisation, ...): they fail, the
    // capture is invalidated, and the error surfaces instead of a silently wrong graph. Other
    // threads keep working on other devices (global mode would make an unrelated thread's
    // cudaMalloc on another device fail); on this device their calls are refused by context()
    // until the graph is launched, since anything they queued on the stream would be
    // recorded into this graph.
    void begin_capture(int device) override {
        DeviceGuard guard(device);
        DeviceContext& ctx = context(device);
        // One critical section from the check to the flag: empty_cache (which synchronises the
        // stream under this lock) and a second begin_capture either finish first or see the flag.
        std::lock_guard<std::mutex> lock(m_mutex);
        if (ctx.activity->capturing.load())
            throw Error("cuda:" + std::to_string(device) +
                        ": a CUDA graph capture is already open on this device");
        DESCENT_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeThreadLocal));
        ctx.activity->capture_owner = std::this_thread::get_id();
        ctx.activity->capturing.store(true);
    }

    // Stream order is what keeps the graph's pointers valid. Captured kernels refer to
    // blocks that were handed back to the caching allocator during the capture (the
    // per-call scratch of linear_mse): the cache may give them to another tensor as soon as
    // the capture ends. The graph is launched here, on the device's one stream, before this
    // thread (or any other: context() refuses them until `capturing` is cleared below)
    // queues anything else for the device; whatever later reuses such a block is queued
    // after the launch and so runs after the graph has finished with it, exactly as for
    // uncaptured work. Cached blocks are given back to the driver only after a stream
    // synchronisation (empty_cache, which skips a capturing device) or through cudaFree,
    // which waits for the device. A graph is therefore launched once, right after its own
    // capture, never replayed later with stale pointers: the next block is captured anew
    // and its graph updates this executable one (cudaGraphExecUpdate).
    void end_capture_and_launch(int device, std::unique_ptr<GraphExec>& exec) override {
        DeviceContext& ctx = context(device);
        if (!ctx.activity->capturing.load())
            throw Error("cuda:" + std::to_string(device) + ": no CUDA graph capture is open");
        // However this ends, the capture is over: the flag is cleared on every path.
        struct Release {
            CudaBackend& backend;
            DeviceContext& ctx;
            ~Release() { backend.clear_capture(ctx); }
        } release{*this, ctx};
        cudaGraph_t raw = nullptr;
        const cudaError_t ended = cudaStreamEndCapture(ctx.stream, &raw);
        GraphPtr graph(raw);
        if (ended != cudaSuccess) {
            cudaGetLastError();  // reported here; not left for the next launch check
            throw CudaError("cudaStreamEndCapture(stream, &graph)", __FILE__, __LINE__,
                            std::string(cudaGetErrorString(ended)) + " (the capture on cuda:" +
                                std::to_string(device) +
                                " was invalidated by an operation that cannot be captured)");
        }
        DeviceGuard guard(device);
        const std::uint64_t kernels = count_kernel_nodes(graph.get());
        auto* held = dynamic_cast<CudaGraphExec*>(exec.get());
        if (held != nullptr && held->device() != device) held = nullptr;
        if (held != nullptr) {
            cudaGraphExecUpdateResultInfo info{};
            if (cudaGraphExecUpdate(held->get(), graph.get(), &info) != cudaSuccess) {
                // Not updatable (a shorter last block changes the topology): instantiate
                // anew. The failure is expected; clear it so no later check reports it.
                cudaGetLastError();
                held = nullptr;
            }
        }
        if (held == nullptr) {
            exec.reset();  // the old executable graph goes first
            auto made = std::make_unique<CudaGraphExec>(device);
            DESCENT_CUDA_CHECK(cudaGraphInstantiate(made->out(), graph.get(), 0));
            held = made.get();
            exec = std::move(made);
        }
        DESCENT_CUDA_CHECK(cudaGraphLaunch(held->get(), ctx.stream));
        ctx.activity->graph_launches.fetch_add(1);
        ctx.activity->graph_kernel_nodes.fetch_add(kernels);
    }

    void abort_capture(int device) noexcept override {
        if (device < 0 || device >= static_cast<int>(m_contexts.size())) return;
        DeviceContext& ctx = m_contexts[static_cast<std::size_t>(device)];
        if (!ctx.activity || !ctx.activity->capturing.load()) return;
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            if (ctx.activity->capture_owner != std::this_thread::get_id()) return;
        }
        cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(ctx.stream, &status) == cudaSuccess &&
            status != cudaStreamCaptureStatusNone) {
            // An invalidated capture ends with an error and no graph; either way it ends.
            cudaGraph_t graph = nullptr;
            cudaStreamEndCapture(ctx.stream, &graph);
            if (graph != nullptr) cudaGraphDestroy(graph);
        }
        cudaGetLastError();  // the error that stopped the capture was thrown by its caller
        clear_capture(ctx);
    }

private:
    cudaStream_t stream(const Array& a) { return context(a.device_index).stream; }

    void clear_capture(DeviceContext& ctx) noexcept {
        std::lock_guard<std::mutex> lock(m_mutex);
        ctx.activity->capturing.store(false);
        ctx.activity->capture_owner = std::thread::id();
    }

    DeviceContext& context(int device) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_contexts.empty()) m_contexts.resize(static_cast<std::size_t>(cuda_device_count()));
        if (device < 0 || device >= static_cast<int>(m_contexts.size()))
            throw Error("cuda:" + std::to_string(device) + " is not available: " +
                        std::to_string(m_contexts.size()) + " CUDA device(s) found" +
                        (m_contexts.empty() ? " (no driver or no GPU on this machine)" : ""));
        DeviceContext& ctx = m_contexts[static_cast<std::size_t>(device)];
        if (ctx.activity && ctx.activity->capturing.load() &&
            ctx.activity->capture_owner != std::this_thread::get_id())
            throw Error("cuda:" + std::to_string(device) +
                        " is capturing a CUDA graph on another thread; nothing can be queued "
                        "on it until that capture ends");
        if (ctx.stream == nullptr) {
            if (!ctx.activity) ctx.activity = std::make_unique<DeviceActivity>();
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
    std::atomic<int> m_bypass_scopes{0};  // bypass_allocation_cache scopes open
};

CudaBackend& the_backend() {
    // Never destroyed: tensors freed during static destruction still need it.
    static CudaBackend* const backend = new CudaBackend();
    return *backend;
}

}  // namespace

Backend& cuda_backend() { return the_backend(); }
DeviceMemoryStats cuda_memory_stats(int device) { return the_backend().memory_stats(device); }
DeviceLaunchStats cuda_launch_stats(int device) { return the_backend().launch_stats(device); }

void note_kernel_launch() noexcept {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return;  // the launch check already passed
    the_backend().note_launch(device);
}
void cuda_empty_cache() { the_backend().empty_cache(); }

}  // namespace descent::detail
