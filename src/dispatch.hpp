// Dispatch: validates operands once (defined, same dtype, same device, compatible shapes),
// allocates the result and calls the backend that serves the operands' device. These are
// the non-differentiable building blocks; ops.cpp adds autograd on top, and the fused
// families (linear MSE, row gathers, optimizer updates, ...) are in fused_ops.hpp. Code
// above this layer speaks Tensor only: it never sees a Backend (backend_call.hpp is for
// the dispatch layer itself; tests/layering/check_layers.py keeps it so).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/tensor.hpp"
#include "shared/elementwise.hpp"

namespace descent::detail {

// Throws descent::Error when no backend can serve `device` (e.g. cuda in a CPU-only build).
void require_backend(const Device& device);

// Throw descent::Error naming `op` and the offending tensors.
void check_defined(const char* op, const Tensor& t);
void check_same_kind(const char* op, const Tensor& a, const Tensor& b);  // dtype + device
std::string describe(const Tensor& t);  // "(2, 3) f64 cpu"

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// `t` itself when contiguous, else a dense copy (not recorded). Every op below accepts views:
// it either reads them through their strides or makes them contiguous first.
Tensor contiguous_op(const Tensor& t);
Tensor unary_op(UnaryOp op, double alpha, const Tensor& a);
Tensor binary_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b);
// dst = dst op src, src broadcastable to dst's shape; dst keeps its buffer (it may be a view).
void binary_inplace(const char* name, BinaryOp op, const Tensor& dst, const Tensor& src);
Tensor broadcast_op(const char* name, const Tensor& a, const Shape& shape);
Tensor sum_to_op(const char* name, const Tensor& a, const Shape& shape);
// Matrices only: alpha * op(a) @ op(b).
Tensor gemm_op(const char* name, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
               double alpha = 1.0);
// gemm_op's product (trans_a false) plus `bias` (n) along each row: in the product's own pass
// where the backend offers it (Backend::gemm_bias), else added after; the same bits either way.
Tensor gemm_bias_op(const char* name, const Tensor& a, const Tensor& b, bool trans_b,
                    const Tensor& bias);
Tensor transpose_op(const Tensor& a);
Tensor sum_axis_op(const char* name, const Tensor& a, std::int64_t axis, bool keepdim,
                   double scale);
Tensor sum_all_op(const Tensor& a, double scale);
Tensor max_all_op(const Tensor& a);  // () the largest element; NaN if any is NaN; not recorded

// where(): cond, a and b broadcast together (one dtype and device); cond != 0 picks a.
Tensor where_op(const char* name, const Tensor& cond, const Tensor& a, const Tensor& b);

// The largest (largest) or smallest elements along `axis`, shaped as sum(a, axis, keepdim),
// and the first position of each along the axis, as numbers of a's dtype (undefined unless
// with_indices). Throws when the axis is empty, or when its positions do not all fit the
// dtype exactly (f32: more than 2^24).
struct Extremum {
    Tensor values;
    Tensor indices;
};
Extremum extremum_axis_op(const char* name, const Tensor& a, std::int64_t axis, bool keepdim,
                          bool largest, bool with_indices);
// The same over all elements: shape (), positions in the row-major flattening.
Extremum extremum_all_op(const char* name, const Tensor& a, bool largest, bool with_indices);

// An index tensor checked and read to the host once, for index_select and its adjoint. A
// (count) tensor of a's dtype and device whose entries are integers in [0, len); anything
// else throws, naming the first bad position.
struct IndexList {
    std::int64_t len = 0;               // size of the indexed axis
    std::vector<std::int64_t> index;    // count entries
    std::vector<std::int64_t> order;    // the positions j sorted by (index[j], j)
    std::vector<std::int64_t> offsets;  // len + 1: l's positions are order[offsets[l]..offsets[l+1])
};
IndexList index_list(const char* name, const Tensor& index, std::int64_t len);
// Integer-valued labels (cross_entropy's targets): `values` read to the host and checked to
// be integers in [0, classes); the error names the first bad `what` ("row 3").
std::vector<std::int64_t> class_labels(const char* name, const Tensor& values,
                                       std::int64_t classes, const char* what);
// a's slices index[0], index[1], ... along `axis`; and its adjoint, the slices of `src`
// (index.count of them along `axis`) summed into a tensor whose axis has index.len.
Tensor index_select_op(const char* name, const Tensor& a, std::int64_t axis, const IndexList& index);
Tensor index_add_op(const char* name, const Tensor& src, std::int64_t axis, const IndexList& index);
// Element ranges of dense tensors, copied on their device (same dtype and device):
// dst[offset, offset + numel(src)) = src, and a new (count) tensor of src[offset, offset + count).
void copy_range_into(const Tensor& dst, std::int64_t offset, const Tensor& src);
Tensor copy_range(const Tensor& src, std::int64_t offset, std::int64_t count);
// For its lifetime, the CPU backend keeps freed tensor memory for reuse
// (Backend::cache_allocations): a training loop holds one, so that its steps after the first
// allocate nothing; the last one to end gives the cache back.
class CpuAllocationCache {
public:
    CpuAllocationCache();
    ~CpuAllocationCache();
    CpuAllocationCache(const CpuAllocationCache&) = delete;
    CpuAllocationCache& operator=(const CpuAllocationCache&) = delete;
};

// For its lifetime, allocations on `device` come from the system (malloc, cudaMalloc) even
// where a cache would serve them (Backend::bypass_allocation_cache): for memory that outlives
// a loop's steps, such as the state an optimizer creates in its first step.
class AllocationBypass {
public:
    explicit AllocationBypass(const Device& device);
    ~AllocationBypass();
    AllocationBypass(const AllocationBypass&) = delete;
    AllocationBypass& operator=(const AllocationBypass&) = delete;

private:
    Device m_device;
};

// A new tensor of a's shape, dtype and device holding the dropout mask of (p, seed, offset)
// (shared/dropout.hpp); not recorded.
Tensor dropout_mask_op(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset);
Tensor cast_op(const Tensor& a, DType dtype);
Tensor device_copy_op(const Tensor& a, Device device);
void fill_op(const Tensor& t, double value);  // t may be a view
void copy_op(const Tensor& dst, const Tensor& src);  // same shape; converts dtype and device

std::int64_t normalize_axis(const char* op, std::int64_t axis, const Shape& shape);

}  // namespace descent::detail
