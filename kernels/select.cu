// where, max/min/argmax along an axis, and the index gather with its adjoint, on the device.
// The rules are the CPU backend's (src/cpu/select.cpp): each output element is written by one
// thread (or one block) from its own inputs in a fixed order, with no atomics, so results are
// bitwise reproducible; selections are exact and index_add sums each run in double in the CPU's
// order, so they also equal the CPU's bit for bit. Verified by the CUDA parity suite.
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

template <class T>
__global__ void where_kernel(const T* cond, const T* a, const T* b, T* out, std::int64_t n,
                             detail::SelectIndex ix) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        std::int64_t offset[3] = {0, 0, 0};
        std::int64_t rest = i;
        for (int dim = ix.rank - 1; dim >= 0; --dim) {
            const std::int64_t coord = rest % ix.shape[dim];
            rest /= ix.shape[dim];
            for (int k = 0; k < 3; ++k) offset[k] += coord * ix.strides[k][dim];
        }
        out[i] = cond[offset[0]] != T(0) ? a[offset[1]] : b[offset[2]];
    }
}

// One thread per output element, scanning its `len` inputs in order. For short axes, or many
// outputs.
template <class T>
__global__ void extremum_thread_kernel(bool largest, const T* in, T* values, T* indices,
                                       std::int64_t outer, std::int64_t len, std::int64_t inner) {
    // in is (outer, len, inner), values and indices are (outer, inner)
    const std::int64_t n = outer * inner;
    for (std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; o < n;
         o += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t p = o / inner, i = o % inner;
        const T* base = in + p * len * inner + i;
        T best = base[0];
        std::int64_t pos = 0;
        for (std::int64_t l = 1; l < len; ++l) {
            const T v = base[l * inner];
            if (detail::extremum_wins(largest, v, l, best, pos)) {
                best = v;
                pos = l;
            }
        }
        values[o] = best;
        if (indices != nullptr) indices[o] = static_cast<T>(pos);
    }
}

// One block per output element: each thread scans a strided share, then a shared-memory tree
// keeps the winner of each pair. extremum_wins is a total order on (value, position), so the
// winner does not depend on how the tree pairs them: it is the sequential scan's.
template <class T>
__global__ void extremum_block_kernel(bool largest, const T* in, T* values, T* indices,
                                      std::int64_t len, std::int64_t inner) {
    __shared__ T shared_value[kThreads];
    __shared__ std::int64_t shared_pos[kThreads];
    const std::int64_t o = blockIdx.x;
    const std::int64_t p = o / inner, i = o % inner;
    const T* base = in + p * len * inner + i;
    T best = T(0);
    std::int64_t pos = -1;  // no element yet (threads beyond len)
    for (std::int64_t l = threadIdx.x; l < len; l += kThreads) {
        const T v = base[l * inner];
        if (pos < 0 || detail::extremum_wins(largest, v, l, best, pos)) {
            best = v;
            pos = l;
        }
    }
    shared_value[threadIdx.x] = best;
    shared_pos[threadIdx.x] = pos;
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) {
            const int other = threadIdx.x + width;
            const std::int64_t op = shared_pos[other], mp = shared_pos[threadIdx.x];
            if (op >= 0 && (mp < 0 || detail::extremum_wins(largest, shared_value[other], op,
                                                            shared_value[threadIdx.x], mp))) {
                shared_value[threadIdx.x] = shared_value[other];
                shared_pos[threadIdx.x] = op;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        values[o] = shared_value[0];
        if (indices != nullptr) indices[o] = static_cast<T>(shared_pos[0]);
    }
}

// One thread per output element: consecutive threads copy consecutive inner elements.
template <class T>
__global__ void index_select_kernel(const T* in, T* out, const std::int64_t* index,
                                    std::int64_t len, std::int64_t inner, std::int64_t count,
                                    std::int64_t n) {
    // in is (outer, len, inner), out is (outer, count, inner)
    for (std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; o < n;
         o += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t i = o % inner, r = o / inner;
        const std::int64_t j = r % count, p = r / count;
        out[o] = in[(p * len + index[j]) * inner + i];
    }
}

// One thread per output element, summing its own run of the sorted positions in order.
template <class T>
__global__ void index_add_kernel(const T* in, T* out, const std::int64_t* order,
                                 const std::int64_t* offsets, std::int64_t len, std::int64_t inner,
                                 std::int64_t count, std::int64_t n) {
    // in is (outer, count, inner), out is (outer, len, inner)
    for (std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; o < n;
         o += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t i = o % inner, r = o / inner;
        const std::int64_t l = r % len, p = r / len;
        double acc = 0.0;
        for (std::int64_t k = offsets[l]; k < offsets[l + 1]; ++k)
            acc += double(in[(p * count + order[k]) * inner + i]);
        out[o] = static_cast<T>(acc);
    }
}

}  // namespace

void where(Array cond, Array a, Array b, Array out, const detail::SelectIndex& index,
           cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        where_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            static_cast<const T*>(cond.data), static_cast<const T*>(a.data),
            static_cast<const T*>(b.data), static_cast<T*>(out.data), out.numel, index);
    });
    DESCENT_CUDA_CHECK_LAUNCH("where_kernel");
}

void extremum_axis(bool largest, Array in, Array values, Array indices, std::int64_t outer,
                   std::int64_t len, std::int64_t inner, cudaStream_t stream) {
    const std::int64_t n_out = outer * inner;
    if (n_out == 0) return;
    // As sum_axis: the choice depends only on the shape (and either gives the same result).
    const bool per_block = len > 64 && n_out < 65536;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* v = static_cast<T*>(values.data);
        T* idx = static_cast<T*>(indices.data);
        if (per_block) {
            extremum_block_kernel<T><<<static_cast<unsigned>(n_out), kThreads, 0, stream>>>(
                largest, x, v, idx, len, inner);
        } else {
            extremum_thread_kernel<T><<<grid_for(n_out), kThreads, 0, stream>>>(
                largest, x, v, idx, outer, len, inner);
        }
    });
    DESCENT_CUDA_CHECK_LAUNCH("extremum_axis_kernel");
}

void index_select(Array in, Array out, std::int64_t len, std::int64_t inner,
                  const std::int64_t* index, std::int64_t count, cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        index_select_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            static_cast<const T*>(in.data), static_cast<T*>(out.data), index, len, inner, count,
            out.numel);
    });
    DESCENT_CUDA_CHECK_LAUNCH("index_select_kernel");
}

void index_add(Array in, Array out, std::int64_t len, std::int64_t inner,
               const std::int64_t* order, const std::int64_t* offsets, std::int64_t count,
               cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        index_add_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            static_cast<const T*>(in.data), static_cast<T*>(out.data), order, offsets, len,
            inner, count, out.numel);
    });
    DESCENT_CUDA_CHECK_LAUNCH("index_add_kernel");
}

}  // namespace descent::kernels
