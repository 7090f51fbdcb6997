// The primitive operations every backend implements (cpu in src/cpu/, CUDA in src/cuda/ +
// kernels/). Dispatch (src/dispatch.cpp) has already checked shapes, dtypes and devices and
// allocated the outputs, so a backend only computes. All arrays are dense and row-major.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/caching_allocator.hpp"
#include "descent/device.hpp"
#include "descent/dtype.hpp"
#include "descent/error.hpp"
#include "shared/block_tree.hpp"
#include "shared/row_permutation.hpp"
#include "shared/synthetic_row.hpp"
#include "shared/optim_rules.hpp"
#include "shared/elementwise.hpp"

namespace descent::detail {

// A dense array on one device.
struct Array {
    void* data = nullptr;
    DType dtype = DType::f32;
    std::int64_t numel = 0;
    int device_index = 0;
};

// Data held in host memory and streamed through a device in chunks (StreamedHost,
// src/stream.cpp): X (n, d) and y (n), dense row-major, of `dtype`. Chunk c holds rows
// [c * chunk_rows, min(n, (c + 1) * chunk_rows)).
struct HostRows {
    const void* X = nullptr;  // (n, d)
    const void* y = nullptr;  // (n)
    DType dtype = DType::f32;
    std::int64_t n = 0, d = 0;
    std::int64_t chunk_rows = 0;  // in [1, n]
    bool pin_in_place = true;     // StreamedHost::pin_in_place
};

// The chunks of HostRows on one device, in two device buffers used in turn (double
// buffering), so that copying chunk c + 1 overlaps the work on chunk c. Each pass calls, with
// c = 0, 1, ... in order:
//     fetch(0); then for each c: acquire(c) -> queue the work that reads the chunk ->
//     release(c) -> fetch(c + 1) (unless c is the last chunk).
// fetch(c) queues chunk c's copy into buffer c % 2; the copy waits (on the device, not the
// host) for the work released with chunk c - 2, the buffer's previous reader. acquire(c)
// makes the work queued after it wait for that copy and gives the chunk's X (count, d) and
// y (count). Destruction waits for the copies in flight (never throws); abandon() does the
// same after an exception in the middle of a pass, so the buffers and the host data are
// quiet before the caller's error handling runs.
class HostChunks {
public:
    virtual ~HostChunks() = default;
    virtual void fetch(std::int64_t chunk) = 0;
    virtual void acquire(std::int64_t chunk, Array& X, Array& y) = 0;
    virtual void release(std::int64_t chunk) = 0;
    virtual void abandon() noexcept = 0;
};

// How each output element of a broadcasting op finds its inputs: out has `shape` (rank dims,
// row-major); input k's element for out coordinate c sits at sum_i c[i] * strides[k][i],
// with stride 0 along broadcast dimensions (and a view's own strides otherwise). An Array
// read through an index points at the operand's first element; its numel is the operand's.
struct BroadcastIndex {
    int rank = 0;
    std::int64_t shape[kMaxRank] = {};
    std::int64_t strides[2][kMaxRank] = {};
};

// Three operands broadcast to one output (where): as BroadcastIndex, with strides[0] for the
// condition, [1] and [2] for the two choices.
struct SelectIndex {
    int rank = 0;
    std::int64_t shape[kMaxRank] = {};
    std::int64_t strides[3][kMaxRank] = {};
};

// One parameter tensor in a multi-tensor optimizer update: param, grad and up to three state
// buffers (null when unused), all of `numel` elements, plus that tensor's step constants.
struct UpdateTensor {
    void* param = nullptr;
    const void* grad = nullptr;
    void* state[3] = {nullptr, nullptr, nullptr};
    std::int64_t numel = 0;
    optim::UpdateStep step;
};

// An executable graph kept by its owner (the trainer) from one capture to the next, so that
// later captures update it instead of instantiating anew; CUDA: a cudaGraphExec_t, destroyed
// with this object. Opaque here: only the backend that made it looks inside.
class GraphExec {
public:
    virtual ~GraphExec() = default;
};

class Backend {
public:
    virtual ~Backend() = default;

    // --- memory ---------------------------------------------------------------------------
    virtual void* allocate(std::size_t bytes, int device_index) = 0;
    virtual void deallocate(void* ptr, int device_index) noexcept = 0;
    virtual void copy_from_host(void* dst, const void* host_src, std::size_t bytes,
                                int device_index) = 0;
    virtual void copy_to_host(void* host_dst, const void* src, std::size_t bytes,
                              int device_index) = 0;
    virtual void copy(void* dst, const void* src, std::size_t bytes, int device_index) = 0;
    // Returns once all queued work on the device has finished.
    virtual void synchronize(int device_index) = 0;

    // --- elementwise ------------------------------------------------------------------------
    virtual void fill(Array out, double value) = 0;
    virtual void cast(Array in, Array out) = 0;  // same numel, any dtypes
    virtual void unary(UnaryOp op, double alpha, Array in, Array out) = 0;
    // out may alias a (used for in-place accumulation); index.strides[0] is a's, [1] is b's.
    virtual void binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& index) = 0;
    // For every coordinate c of index.shape:
    //     out[sum c[i]*index.strides[1][i]] = in[sum c[i]*index.strides[0][i]],
    // the one strided primitive behind broadcast_to (stride 0 in `in`), contiguous() of a view
    // and writes into a view. The out positions are distinct; in and out do not overlap.
    virtual void strided_copy(Array in, Array out, const BroadcastIndex& index) = 0;

    // --- linear algebra and reductions ----------------------------------------------------
    // c (m, n) = alpha * op(a) @ op(b), op(a) is (m, k), op(b) is (k, n); a stored (k, m)
    // when trans_a, b stored (n, k) when trans_b.
    virtual void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, double alpha, Array a, Array b, Array c) = 0;
    // gemm's c, each row then plus `bias` (n), as a backend can do in the product's own pass:
    // each entry rounded to the dtype, then the bias added in the dtype (the bits of gemm
    // followed by a broadcast add). false: not offered, the caller adds the bias itself.
    virtual bool gemm_bias(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                           std::int64_t k, double alpha, Array a, Array b, Array bias, Array c) {
        (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)b,
            (void)bias, (void)c;
        return false;
    }
    // in is (rows, cols), out is (cols, rows).
    virtual void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols) = 0;
    // in is (outer, len, inner), out is (outer, inner): out = scale * sum over len.
    virtual void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len,
                          std::int64_t inner, double scale) = 0;

    // out () = the largest element of in (numel >= 1); NaN when any element is NaN. Exact,
    // so any order gives the same result.
    virtual void max_all(Array in, Array out) = 0;

    // --- selection and indexing -----------------------------------------------------------
    // out[c] = cond[..] != 0 ? a[..] : b[..], each operand read through its strides (a NaN
    // condition counts as nonzero).
    virtual void where(Array cond, Array a, Array b, Array out, const SelectIndex& index) = 0;
    // in is (outer, len, inner) with len >= 1; values and indices are (outer, inner): the
    // largest (largest) or smallest element along len and its position as a number of the
    // input's dtype, picked by extremum_wins (shared/elementwise.hpp): NaN wins, ties go to
    // the first position. indices.data may be null (values only). A selection, so exact.
    virtual void extremum_axis(bool largest, Array in, Array values, Array indices,
                               std::int64_t outer, std::int64_t len, std::int64_t inner) = 0;
    // out (outer, count, inner)[p, j, i] = in (outer, len, inner)[p, index[j], i]. `index`
    // has count entries in host memory, each in [0, len) (dispatch checked them).
    virtual void index_select(Array in, Array out, std::int64_t outer, std::int64_t len,
                              std::int64_t inner, const std::int64_t* index,
                              std::int64_t count) = 0;
    // The adjoint of index_select: out (outer, len, inner)[p, l, i] = the sum, in double and in
    // increasing j, of in (outer, count, inner)[p, j, i] over the j with index[j] == l (0 where
    // there is none). Host arrays: `order` (count) holds the j sorted by (index[j], j), and
    // l's run is order[offsets[l] .. offsets[l + 1]) (offsets has len + 1 entries). Each
    // output sums its own run: no two workers write one element, no atomics, a fixed order.
    virtual void index_add(Array in, Array out, std::int64_t outer, std::int64_t len,
                           std::int64_t inner, const std::int64_t* order,
                           const std::int64_t* offsets, std::int64_t count) = 0;

    // --- fused losses ---------------------------------------------------------------------
    // out () = mean((pred - target)^2); pred and target have numel >= 1 elements.
    virtual void mse(Array pred, Array target, Array out) = 0;
    // X (n, d), y (n), w (d) -> loss (), grad (d) and, when hessian != nullptr, (d, d).
    // y.data may be null: no target (zeros, not read); then grad = 2/n Xᵀ(X w), the
    // Hessian-vector product of the linear MSE (linear_mse_hvp), from the same pass.
    // intercept (here and in the two passes below): X holds d - 1 columns and an implicit
    // ones column is its last, the weights' last row the intercept; the sums equal, bitwise,
    // those over X with the ones column stored. The CPU computes it; CUDA is never asked
    // (fused_ops.cpp refuses it first).
    // shard (here and in the two passes below; null: X is all rows): X holds one process's
    // rows of a distributed pass (shared/block_tree.hpp); the sums are combined with the other
    // processes' through shard->combine and the means divide by shard->total_rows: every
    // backend sums each 4096-row block on its own (its sums depend on the block's rows only)
    // and combines them in the tree, so processes on one kind of device agree bitwise.
    virtual void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d,
                            bool intercept, Array loss, Array grad, const Array* hessian,
                            const BlockShard* shard) = 0;
    // Logistic regression (binary cross-entropy with logits), shared/logistic_row.hpp:
    // X (n, d), y (n) of labels 0/1, w (d) -> loss () = mean(max(z,0) - z y + log1p(e^-|z|)),
    // grad (d) = Xᵀ(σ(z) - y)/n and, when hessian != nullptr, (d, d) = Xᵀ diag(σ(1-σ)) X/n,
    // z = X w. y holds valid labels (checked above dispatch).
    virtual void logistic(Array X, Array y, Array w, std::int64_t n, std::int64_t d,
                          bool intercept, Array loss, Array grad, const Array* hessian,
                          const BlockShard* shard) = 0;
    // Softmax regression (cross-entropy), shared/softmax_row.hpp: X (n, d), labels (n) of
    // class indices held as X's dtype (valid: integers in [0, k)), W (d, k) -> loss () = mean
    // of logsumexp(Z_i) - Z_i[label_i] and grad (d, k) = Xᵀ(softmax(Z) - onehot)/n, Z = X W.
    virtual void softmax_cross_entropy(Array X, Array labels, Array W, std::int64_t n,
                                       std::int64_t d, std::int64_t k, bool intercept,
                                       Array loss, Array grad, const BlockShard* shard) = 0;

    // --- mini-batches ---------------------------------------------------------------------
    // Xb[k, :] = X[r, :] and yb[k] = y[r] with r = perm.row(begin + k), for k < count; X is
    // (perm.n, d), Xb (count, d).
    virtual void gather_rows(Array X, Array y, std::int64_t d, const RowPermutation& perm,
                             std::int64_t begin, std::int64_t count, Array Xb, Array yb) = 0;

    // X (count, features (+1)) and y (count) = rows [begin, begin + count) of the synthetic
    // data set (shared/synthetic_row.hpp), in X's dtype.
    // out[i] = dropout_keep_scale(seed, offset + i, p) (shared/dropout.hpp), out contiguous.
    virtual void dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset) = 0;

    // While at least one scope is open (on: open one; off: close one), freed blocks are kept
    // and reused: the CPU's during a training loop (its steps then allocate nothing after the
    // first); closing the last gives the cache back. The CUDA backend caches always.
    virtual void cache_allocations(bool on) { (void)on; }
    // While on (nested scopes count), allocations come from the system even inside a caching
    // scope: memory that outlives the loop's steps (an optimizer's new state) then takes no
    // block the next step's temporaries will ask for again.
    virtual void bypass_allocation_cache(bool on) { (void)on; }
    // The counters of the backend's own allocations (the CPU's; zero where not kept).
    virtual AllocatorStats allocation_stats() const { return {}; }
    virtual void synthetic_rows(const SyntheticRows& spec, std::int64_t begin, std::int64_t count,
                                Array X, Array y) = 0;

    // --- solves -----------------------------------------------------------------------------
    // x (d) = (A + damping I)^-1 b for symmetric A (d, d), by Cholesky. Returns -1 on success,
    // else the index of the first pivot that was not positive (x is then unspecified).
    virtual std::int64_t spd_solve(Array A, Array b, std::int64_t d, double damping, Array x) = 0;

    // --- optimizers -------------------------------------------------------------------------
    // Updates every tensor in `tensors` (one launch on a GPU), all of `dtype` on one device.
    virtual void optimizer_update(DType dtype, const UpdateTensor* tensors, int count,
                                  int device_index) = 0;

    // --- host data streamed through the device ---------------------------------------------
    // The chunks of `rows` on device `device_index` (see HostChunks). The host memory must stay
    // unchanged and alive while the returned object lives. Backends that read host memory in
    // place (the cpu) have no use for it and refuse.
    virtual std::unique_ptr<HostChunks> host_chunks(const HostRows& rows, int device_index) {
        (void)rows;
        throw Error("device " + std::to_string(device_index) +
                    " of this backend reads host memory in place; it streams no host chunks");
    }

    // --- graph capture (CUDA graphs; other backends refuse) -------------------------------
    // Use through GraphCapture (backend/graph_capture.hpp), which ends a capture on every path.
    // begin_capture: until the capture ends, work this thread queues for the device is
    // recorded, not run; it must not allocate new device memory, synchronise or read to the
    // host (those throw). Other threads' calls for the device are refused meanwhile.
    virtual void begin_capture(int device_index) {
        throw Error("device " + std::to_string(device_index) +
                    " of this backend cannot capture CUDA graphs (only cuda devices can)");
    }
    // Ends the capture, makes `exec` hold the recorded work (updating the graph it holds when
    // the structure allows, else instantiating a new one) and launches it on the device's
    // queue, after the work queued before the capture and before anything queued later. On
    // failure the capture is ended and its graph discarded before the error is thrown.
    virtual void end_capture_and_launch(int device_index, std::unique_ptr<GraphExec>& exec) {
        (void)exec;
        throw Error("device " + std::to_string(device_index) +
                    " of this backend cannot capture CUDA graphs (only cuda devices can)");
    }
    // Ends an open capture and discards what it recorded (error paths). Never throws.
    virtual void abort_capture(int device_index) noexcept { (void)device_index; }
};

// The backend that serves `device`. Throws descent::Error for cuda when descent was built
// without CUDA or its CUDA module cannot be loaded (backend/cuda_module.hpp). This registry
// is the library's only global state.
Backend& backend_for(const Device& device);

}  // namespace descent::detail
