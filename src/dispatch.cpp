// Dispatch: checks operands once, allocates results, calls the backend of their device.
#include "dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "backend_call.hpp"
#include "descent/error.hpp"
#include "tensor_impl.hpp"

namespace descent::detail {

// Read straight from the TensorImpl: these run several times per fused call, per mini-batch.
Array array_of(const Tensor& t) {
    check_defined("array_of", t);
    const TensorImpl& impl = *t.impl();
    if (!impl.contiguous)
        throw Error("internal error: the non-contiguous view " + describe(t) +
                    " reached a dense backend call (dispatch makes operands contiguous first)");
    return Array{static_cast<char*>(impl.storage->data) +
                     static_cast<std::size_t>(impl.offset) * dtype_size(impl.dtype),
                 impl.dtype, impl.numel, impl.storage->device.index};
}

namespace {
// An Array for an operand read or written through a BroadcastIndex (any strides).
Array strided_array_of(const Tensor& t) {
    return Array{t.data_ptr(), t.dtype(), t.numel(), t.device().index};
}
}  // namespace

Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

void require_backend(const Device& device) { (void)backend_for(device); }

std::string describe(const Tensor& t) {
    if (!t.defined()) return "undefined";
    return shape_str(t.shape()) + " " + dtype_name(t.dtype()) + " " + t.device().str();
}

void check_defined(const char* op, const Tensor& t) {
    if (!t.defined()) throw Error(std::string(op) + ": got an undefined tensor");
}

void check_same_kind(const char* op, const Tensor& a, const Tensor& b) {
    check_defined(op, a);
    check_defined(op, b);
    const TensorImpl &ia = *a.impl(), &ib = *b.impl();
    if (ia.storage->device == ib.storage->device && ia.dtype == ib.dtype) return;  // the usual case
    if (a.device() != b.device())
        throw Error(std::string(op) + ": tensors on different devices, " + a.device().str() +
                    " and " + b.device().str() + " (shapes " + shape_str(a.shape()) + " and " +
                    shape_str(b.shape()) + "); move one with to()");
    if (a.dtype() != b.dtype())
        throw Error(std::string(op) + ": dtype mismatch, " + dtype_name(a.dtype()) + " " +
                    shape_str(a.shape()) + " and " + dtype_name(b.dtype()) + " " +
                    shape_str(b.shape()) + "; convert one with to(DType)");
}

std::int64_t normalize_axis(const char* op, std::int64_t axis, const Shape& shape) {
    const auto rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        throw Error(std::string(op) + ": axis " + std::to_string(axis) +
                    " is out of range for shape " + shape_str(shape) + " (rank " +
                    std::to_string(rank) + ")");
    return a;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                        " cannot be broadcast together");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

namespace {

// Strides of a tensor of `shape` and `in_strides`, read as if broadcast to `out` (0 along
// stretched or missing dims).
void broadcast_strides(const Shape& in, const Shape& in_strides, const Shape& out,
                       std::int64_t* strides) {
    const std::size_t lead = out.size() - in.size();
    for (std::size_t i = 0; i < out.size(); ++i)
        strides[i] = i < lead || in[i - lead] == 1 ? 0 : in_strides[i - lead];
}

// The index of an op whose output has shape `out` and whose operands are `a` and `b`
// (either may be a strided view; operand 1 may be the output itself).
BroadcastIndex make_index(const Shape& out, const Tensor& a, const Tensor& b) {
    if (static_cast<int>(out.size()) > kMaxRank)
        throw Error("rank of " + shape_str(out) + " exceeds the supported " +
                    std::to_string(kMaxRank));
    BroadcastIndex ix;
    ix.rank = static_cast<int>(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) ix.shape[i] = out[i];
    broadcast_strides(a.shape(), a.strides(), out, ix.strides[0]);
    broadcast_strides(b.shape(), b.strides(), out, ix.strides[1]);
    return ix;
}

// Writes the dense `src` into `dst` (same shape, dtype and device), which may be a view.
void write_into(const Tensor& dst, const Tensor& src) {
    if (dst.numel() == 0) return;
    if (dst.is_contiguous()) {
        backend_of(dst).copy(dst.data_ptr(), src.data_ptr(),
                             static_cast<std::size_t>(dst.numel()) * dtype_size(dst.dtype()),
                             dst.device().index);
        return;
    }
    backend_of(dst).strided_copy(array_of(src), strided_array_of(dst),
                                 make_index(dst.shape(), src, dst));
}

}  // namespace

namespace {
// A dense copy of the dense `t` in new storage (not recorded).
Tensor fresh_copy(const Tensor& t) {
    Tensor out = make_tensor(t.shape(), t.dtype(), t.device());
    write_into(out, t);
    return out;
}
}  // namespace

Tensor contiguous_op(const Tensor& t) {
    check_defined("contiguous", t);
    if (t.is_contiguous()) return t;
    Tensor out = make_tensor(t.shape(), t.dtype(), t.device());
    backend_of(t).strided_copy(strided_array_of(t), array_of(out), make_index(t.shape(), t, out));
    return out;
}

Tensor unary_op(UnaryOp op, double alpha, const Tensor& a_in) {
    const Tensor a = contiguous_op(a_in);
    Tensor out = make_tensor(a.shape(), a.dtype(), a.device());
    backend_of(a).unary(op, alpha, array_of(a), array_of(out));
    return out;
}

CpuAllocationCache::CpuAllocationCache() { backend_for(Device::cpu()).cache_allocations(true); }
CpuAllocationCache::~CpuAllocationCache() { backend_for(Device::cpu()).cache_allocations(false); }
AllocationBypass::AllocationBypass(const Device& device) : m_device(device) {
    backend_for(m_device).bypass_allocation_cache(true);
}
AllocationBypass::~AllocationBypass() { backend_for(m_device).bypass_allocation_cache(false); }

Tensor dropout_mask_op(const Tensor& a, double p, std::uint64_t seed, std::uint64_t offset) {
    Tensor mask = make_tensor(a.shape(), a.dtype(), a.device());
    backend_of(mask).dropout_mask(array_of(mask), p, seed, offset);
    return mask;
}

Tensor binary_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
    check_same_kind(name, a, b);
    const Shape shape = broadcast_shapes(name, a.shape(), b.shape());
    Tensor out = make_tensor(shape, a.dtype(), a.device());
    backend_of(a).binary(op, strided_array_of(a), strided_array_of(b), array_of(out),
                         make_index(shape, a, b));
    return out;
}

void binary_inplace(const char* name, BinaryOp op, const Tensor& dst, const Tensor& src) {
    check_same_kind(name, dst, src);
    if (broadcast_shapes(name, dst.shape(), src.shape()) != dst.shape())
        throw Error(std::string(name) + ": shape " + shape_str(src.shape()) +
                    " does not broadcast to the destination's " + shape_str(dst.shape()));
    if (!dst.is_contiguous()) {
        write_into(dst, binary_op(name, op, dst, src));
        return;
    }
    // A source sharing dst's storage is read in full before any write.
    const bool aliased = src.impl()->storage == dst.impl()->storage &&
                         !(src.data_ptr() == dst.data_ptr() && src.shape() == dst.shape() &&
                           src.strides() == dst.strides());
    const Tensor source = aliased ? fresh_copy(contiguous_op(src)) : src;
    backend_of(dst).binary(op, array_of(dst), strided_array_of(source), array_of(dst),
                           make_index(dst.shape(), dst, source));
}

Tensor broadcast_op(const char* name, const Tensor& a, const Shape& shape) {
    check_defined(name, a);
    if (broadcast_shapes(name, a.shape(), shape) != shape)
        throw Error(std::string(name) + ": shape " + shape_str(a.shape()) +
                    " cannot be broadcast to " + shape_str(shape));
    if (static_cast<int>(shape.size()) > kMaxRank)
        throw Error(std::string(name) + ": rank of " + shape_str(shape) + " exceeds " +
                    std::to_string(kMaxRank));
    Tensor out = make_tensor(shape, a.dtype(), a.device());
    backend_of(a).strided_copy(strided_array_of(a), array_of(out), make_index(shape, a, out));
    return out;
}

Tensor sum_to_op(const char* name, const Tensor& a, const Shape& shape) {
    check_defined(name, a);
    if (a.shape() == shape) return a;
    if (shape.size() > a.shape().size() || broadcast_shapes(name, shape, a.shape()) != a.shape())
        throw Error(std::string(name) + ": shape " + shape_str(a.shape()) +
                    " cannot be summed down to " + shape_str(shape));
    // Sum away leading dims, then every dim where the target has size 1.
    Tensor t = a;
    const std::size_t lead = a.shape().size() - shape.size();
    for (std::size_t i = 0; i < lead; ++i) t = sum_axis_op(name, t, 0, false, 1.0);
    for (std::size_t i = 0; i < shape.size(); ++i)
        if (shape[i] == 1 && t.shape()[i] != 1)
            t = sum_axis_op(name, t, static_cast<std::int64_t>(i), true, 1.0);
    return t;
}

Tensor gemm_op(const char* name, const Tensor& a_in, const Tensor& b_in, bool trans_a,
               bool trans_b, double alpha) {
    check_same_kind(name, a_in, b_in);
    const Tensor a = contiguous_op(a_in), b = contiguous_op(b_in);
    if (a.dim() != 2 || b.dim() != 2)
        throw Error(std::string(name) + ": expects matrices, got shapes " +
                    shape_str(a.shape()) + " and " + shape_str(b.shape()));
    const std::int64_t m = trans_a ? a.shape()[1] : a.shape()[0];
    const std::int64_t k = trans_a ? a.shape()[0] : a.shape()[1];
    const std::int64_t kb = trans_b ? b.shape()[1] : b.shape()[0];
    const std::int64_t n = trans_b ? b.shape()[0] : b.shape()[1];
    if (k != kb)
        throw Error(std::string(name) + ": inner dimensions differ, shapes " +
                    shape_str(a.shape()) + (trans_a ? "^T" : "") + " and " +
                    shape_str(b.shape()) + (trans_b ? "^T" : "") + " (" + std::to_string(k) +
                    " vs " + std::to_string(kb) + ")");
    Tensor out = make_tensor({m, n}, a.dtype(), a.device());
    backend_of(a).gemm(trans_a, trans_b, m, n, k, alpha, array_of(a), array_of(b), array_of(out));
    return out;
}

Tensor gemm_bias_op(const char* name, const Tensor& a_in, const Tensor& b_in, bool trans_b,
                    const Tensor& bias_in) {
    check_same_kind(name, a_in, bias_in);
    const Tensor a = contiguous_op(a_in), b = contiguous_op(b_in), bias = contiguous_op(bias_in);
    const std::int64_t n = trans_b ? b.shape()[0] : (b.dim() == 2 ? b.shape()[1] : -1);
    if (a.dim() != 2 || b.dim() != 2 || bias.dim() != 1 || bias.shape()[0] != n)
        throw Error(std::string(name) + ": expects matrices and a bias of one value per column, " +
                    "got " + shape_str(a.shape()) + ", " + shape_str(b.shape()) + " and " +
                    shape_str(bias.shape()));
    const std::int64_t m = a.shape()[0], k = a.shape()[1];
    const std::int64_t kb = trans_b ? b.shape()[1] : b.shape()[0];
    if (k != kb) return gemm_op(name, a, b, false, trans_b);  // its message names the mismatch
    Tensor out = make_tensor({m, n}, a.dtype(), a.device());
    if (!backend_of(a).gemm_bias(false, trans_b, m, n, k, 1.0, array_of(a), array_of(b),
                                 array_of(bias), array_of(out))) {
        backend_of(a).gemm(false, trans_b, m, n, k, 1.0, array_of(a), array_of(b), array_of(out));
        binary_inplace(name, BinaryOp::add, out, bias);
    }
    return out;
}

Tensor transpose_op(const Tensor& a_in) {
    check_defined("transpose", a_in);
    if (a_in.dim() < 2) return a_in;
    const Tensor a = contiguous_op(a_in);
    if (a.dim() != 2)
        throw Error("transpose: expects a matrix, got shape " + shape_str(a.shape()));
    const std::int64_t rows = a.shape()[0], cols = a.shape()[1];
    Tensor out = make_tensor({cols, rows}, a.dtype(), a.device());
    backend_of(a).transpose(array_of(a), array_of(out), rows, cols);
    return out;
}

namespace {
// A reduction along axis `ax` of `shape` viewed as (outer, shape[ax], inner), and the shape
// of its result (the axis kept as 1 or dropped).
struct AxisSplit {
    std::int64_t outer = 1, inner = 1;
    Shape out_shape;
};
AxisSplit split_axis(const Shape& shape, std::int64_t ax, bool keepdim) {
    AxisSplit r;
    for (std::int64_t i = 0; i < ax; ++i) r.outer *= shape[i];
    for (std::int64_t i = ax + 1; i < static_cast<std::int64_t>(shape.size()); ++i) r.inner *= shape[i];
    r.out_shape = shape;
    if (keepdim) {
        r.out_shape[ax] = 1;
    } else {
        r.out_shape.erase(r.out_shape.begin() + ax);
    }
    return r;
}
}  // namespace

Tensor sum_axis_op(const char* name, const Tensor& a_in, std::int64_t axis, bool keepdim,
                   double scale) {
    check_defined(name, a_in);
    const Tensor a = contiguous_op(a_in);
    const std::int64_t ax = normalize_axis(name, axis, a.shape());
    const Shape& s = a.shape();
    const AxisSplit split = split_axis(s, ax, keepdim);
    const std::int64_t outer = split.outer, inner = split.inner;
    const Shape& out_shape = split.out_shape;
    Tensor out = make_tensor(out_shape, a.dtype(), a.device());
    backend_of(a).sum_axis(array_of(a), array_of(out), outer, s[ax], inner, scale);
    return out;
}

Tensor sum_all_op(const Tensor& a_in, double scale) {
    check_defined("sum", a_in);
    const Tensor a = contiguous_op(a_in);
    Tensor out = make_tensor({}, a.dtype(), a.device());
    backend_of(a).sum_axis(array_of(a), array_of(out), 1, a.numel(), 1, scale);
    return out;
}

void copy_range_into(const Tensor& dst, std::int64_t offset, const Tensor& src_in) {
    check_same_kind("copy_range_into", dst, src_in);
    const Tensor src = contiguous_op(src_in);
    (void)array_of(dst);  // dst must be dense
    if (offset < 0 || offset + src.numel() > dst.numel())
        throw Error("copy_range_into: " + std::to_string(src.numel()) + " elements at " +
                    std::to_string(offset) + " do not fit in " + describe(dst));
    const std::size_t elem = dtype_size(dst.dtype());
    if (src.numel() == 0) return;
    backend_of(dst).copy(static_cast<char*>(dst.data_ptr()) + static_cast<std::size_t>(offset) * elem,
                         src.data_ptr(), elem * static_cast<std::size_t>(src.numel()),
                         dst.device().index);
}

Tensor copy_range(const Tensor& src_in, std::int64_t offset, std::int64_t count) {
    check_defined("copy_range", src_in);
    const Tensor src = contiguous_op(src_in);
    if (offset < 0 || count < 0 || offset + count > src.numel())
        throw Error("copy_range: elements [" + std::to_string(offset) + ", " +
                    std::to_string(offset + count) + ") are outside " + describe(src));
    Tensor out = make_tensor({count}, src.dtype(), src.device());
    const std::size_t elem = dtype_size(src.dtype());
    if (count == 0) return out;
    backend_of(src).copy(out.data_ptr(),
                         static_cast<const char*>(src.data_ptr()) + static_cast<std::size_t>(offset) * elem,
                         elem * static_cast<std::size_t>(count), src.device().index);
    return out;
}

Tensor max_all_op(const Tensor& a_in) {
    check_defined("max", a_in);
    const Tensor a = contiguous_op(a_in);
    if (a.numel() == 0) throw Error("max: the tensor of shape " + shape_str(a.shape()) + " is empty");
    Tensor out = make_tensor({}, a.dtype(), a.device());
    backend_of(a).max_all(array_of(a), array_of(out));
    return out;
}

Tensor where_op(const char* name, const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_same_kind(name, a, b);
    check_same_kind(name, cond, a);
    const Shape shape =
        broadcast_shapes(name, broadcast_shapes(name, cond.shape(), a.shape()), b.shape());
    SelectIndex ix;
    ix.rank = static_cast<int>(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) ix.shape[i] = shape[i];
    broadcast_strides(cond.shape(), cond.strides(), shape, ix.strides[0]);
    broadcast_strides(a.shape(), a.strides(), shape, ix.strides[1]);
    broadcast_strides(b.shape(), b.strides(), shape, ix.strides[2]);
    Tensor out = make_tensor(shape, a.dtype(), a.device());
    backend_of(a).where(strided_array_of(cond), strided_array_of(a), strided_array_of(b),
                        array_of(out), ix);
    return out;
}

namespace {

// Positions along an axis are returned as numbers of the input's dtype: every one must be
// exact (f32 has integers exactly up to 2^24).
void check_positions_fit(const char* name, const Tensor& a, std::int64_t len,
                         const std::string& what) {
    const std::int64_t limit = a.dtype() == DType::f32 ? (std::int64_t(1) << 24)
                                                       : (std::int64_t(1) << 53);
    if (len > limit)
        throw Error(std::string(name) + ": " + what + " of shape " + shape_str(a.shape()) +
                    " has " + std::to_string(len) + " positions, more than " +
                    dtype_name(a.dtype()) + " holds exactly (" + std::to_string(limit) +
                    "); convert to f64 with to(DType)");
}

Extremum extremum(const Tensor& a_in, const Shape& out_shape, std::int64_t outer, std::int64_t len,
                  std::int64_t inner, bool largest, bool with_indices) {
    const Tensor a = contiguous_op(a_in);
    Extremum r;
    r.values = make_tensor(out_shape, a.dtype(), a.device());
    Array indices{nullptr, a.dtype(), 0, a.device().index};
    if (with_indices) {
        r.indices = make_tensor(out_shape, a.dtype(), a.device());
        indices = array_of(r.indices);
    }
    backend_of(a).extremum_axis(largest, array_of(a), array_of(r.values), indices, outer, len,
                                inner);
    return r;
}

// The shortest text that reads back as v ("2.5", "1e+30", "nan").
std::string number_text(double v) {
    char buf[32];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

// t's values on the host, each checked to be an integer in [0, limit); `position(k)` names
// entry k in the error ("index[3]", "row 3").
template <class Position>
std::vector<std::int64_t> read_integers(const char* name, const Tensor& t, std::int64_t limit,
                                        const std::string& range, Position position) {
    const std::vector<double> values = t.to_vector<double>();
    std::vector<std::int64_t> out(values.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
        const double v = values[k];
        if (!(v == std::floor(v)))  // also NaN and infinities
            throw Error(std::string(name) + ": " + position(k) + " = " + number_text(v) +
                        " is not an integer");
        if (v < 0 || v >= double(limit))
            throw Error(std::string(name) + ": " + position(k) + " = " + number_text(v) +
                        " is out of range " + range);
        out[k] = static_cast<std::int64_t>(v);
    }
    return out;
}

}  // namespace

Extremum extremum_axis_op(const char* name, const Tensor& a, std::int64_t axis, bool keepdim,
                          bool largest, bool with_indices) {
    check_defined(name, a);
    const std::int64_t ax = normalize_axis(name, axis, a.shape());
    const Shape& s = a.shape();
    if (s[ax] == 0)
        throw Error(std::string(name) + ": axis " + std::to_string(axis) + " of shape " +
                    shape_str(s) + " is empty");
    if (with_indices) check_positions_fit(name, a, s[ax], "axis " + std::to_string(axis));
    const AxisSplit split = split_axis(s, ax, keepdim);
    const std::int64_t outer = split.outer, inner = split.inner;
    const Shape& out_shape = split.out_shape;
    return extremum(a, out_shape, outer, s[ax], inner, largest, with_indices);
}

Extremum extremum_all_op(const char* name, const Tensor& a, bool largest, bool with_indices) {
    check_defined(name, a);
    if (a.numel() == 0)
        throw Error(std::string(name) + ": the tensor of shape " + shape_str(a.shape()) + " is empty");
    if (with_indices) check_positions_fit(name, a, a.numel(), "the tensor");
    return extremum(a, {}, 1, a.numel(), 1, largest, with_indices);
}

IndexList index_list(const char* name, const Tensor& index, std::int64_t len) {
    check_defined(name, index);
    if (index.dim() != 1)
        throw Error(std::string(name) + ": index must be a vector (1-D), got shape " +
                    shape_str(index.shape()));
    IndexList r;
    r.len = len;
    r.index = read_integers(name, index, len, "[0, " + std::to_string(len) + ")",
                            [](std::size_t k) { return "index[" + std::to_string(k) + "]"; });
    const auto count = static_cast<std::int64_t>(r.index.size());
    r.order.resize(r.index.size());
    for (std::int64_t j = 0; j < count; ++j) r.order[j] = j;
    std::stable_sort(r.order.begin(), r.order.end(),
                     [&](std::int64_t x, std::int64_t y) { return r.index[x] < r.index[y]; });
    r.offsets.assign(static_cast<std::size_t>(len) + 1, 0);
    for (std::int64_t v : r.index) ++r.offsets[static_cast<std::size_t>(v) + 1];
    for (std::int64_t l = 0; l < len; ++l) r.offsets[l + 1] += r.offsets[l];
    return r;
}

std::vector<std::int64_t> class_labels(const char* name, const Tensor& values,
                                       std::int64_t classes, const char* what) {
    return read_integers(name, values, classes,
                         "[0, " + std::to_string(classes) + ") of the " +
                             std::to_string(classes) + " classes",
                         [what](std::size_t k) { return std::string(what) + " " + std::to_string(k); });
}

namespace {

// (outer, len, inner) of `shape` around `axis` (already normalised).
void split_at(const Shape& shape, std::int64_t axis, std::int64_t& outer, std::int64_t& inner) {
    outer = 1;
    inner = 1;
    for (std::int64_t i = 0; i < axis; ++i) outer *= shape[i];
    for (std::size_t i = static_cast<std::size_t>(axis) + 1; i < shape.size(); ++i) inner *= shape[i];
}

}  // namespace

Tensor index_select_op(const char* name, const Tensor& a_in, std::int64_t axis, const IndexList& index) {
    const Tensor a = contiguous_op(a_in);
    const std::int64_t ax = normalize_axis(name, axis, a.shape());
    if (a.shape()[ax] != index.len)
        throw Error(std::string(name) + ": axis " + std::to_string(axis) + " of shape " +
                    shape_str(a.shape()) + " does not have the index's " +
                    std::to_string(index.len) + " positions");
    std::int64_t outer = 0, inner = 0;
    split_at(a.shape(), ax, outer, inner);
    Shape out_shape = a.shape();
    out_shape[ax] = static_cast<std::int64_t>(index.index.size());
    Tensor out = make_tensor(out_shape, a.dtype(), a.device());
    backend_of(a).index_select(array_of(a), array_of(out), outer, index.len, inner,
                               index.index.data(), out_shape[ax]);
    return out;
}

Tensor index_add_op(const char* name, const Tensor& src_in, std::int64_t axis, const IndexList& index) {
    const Tensor src = contiguous_op(src_in);
    const std::int64_t ax = normalize_axis(name, axis, src.shape());
    const auto count = static_cast<std::int64_t>(index.index.size());
    if (src.shape()[ax] != count)
        throw Error(std::string(name) + ": axis " + std::to_string(axis) + " of shape " +
                    shape_str(src.shape()) + " does not have the index's " +
                    std::to_string(count) + " entries");
    std::int64_t outer = 0, inner = 0;
    split_at(src.shape(), ax, outer, inner);
    Shape out_shape = src.shape();
    out_shape[ax] = index.len;
    Tensor out = make_tensor(out_shape, src.dtype(), src.device());
    backend_of(src).index_add(array_of(src), array_of(out), outer, index.len, inner,
                              index.order.data(), index.offsets.data(), count);
    return out;
}

Tensor cast_op(const Tensor& a_in, DType dtype) {
    check_defined("to", a_in);
    const Tensor a = contiguous_op(a_in);
    Tensor out = make_tensor(a.shape(), dtype, a.device());
    backend_of(a).cast(array_of(a), array_of(out));
    return out;
}

Tensor device_copy_op(const Tensor& a_in, Device device) {
    check_defined("to", a_in);
    const Device from = a_in.device();
    if (from == device) return a_in;
    const Tensor a = contiguous_op(a_in);
    Tensor out = make_tensor(a.shape(), a.dtype(), device);
    const std::size_t bytes = static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype());
    if (from.is_cpu()) {
        backend_for(device).copy_from_host(out.data_ptr(), a.data_ptr(), bytes, device.index);
    } else if (device.is_cpu()) {
        backend_for(from).copy_to_host(out.data_ptr(), a.data_ptr(), bytes, from.index);
    } else {
        // Between two CUDA devices: stage through the host (rare; correctness over speed).
        std::vector<unsigned char> staging(bytes);
        backend_for(from).copy_to_host(staging.data(), a.data_ptr(), bytes, from.index);
        backend_for(device).copy_from_host(out.data_ptr(), staging.data(), bytes, device.index);
    }
    return out;
}

void fill_op(const Tensor& t, double value) {
    check_defined("fill_", t);
    if (!t.is_contiguous()) {
        Tensor dense = make_tensor(t.shape(), t.dtype(), t.device());
        backend_of(t).fill(array_of(dense), value);
        write_into(t, dense);
        return;
    }
    backend_of(t).fill(array_of(t), value);
}

void copy_op(const Tensor& dst, const Tensor& src) {
    Tensor moved = contiguous_op(device_copy_op(src, dst.device()));
    if (moved.dtype() != dst.dtype() && dst.is_contiguous()) {
        if (dst.numel() > 0) backend_of(dst).cast(array_of(moved), array_of(dst));  // no temporary
        return;
    }
    if (moved.dtype() != dst.dtype()) {
        moved = cast_op(moved, dst.dtype());
    } else if (moved.impl()->storage == dst.impl()->storage) {
        if (moved.data_ptr() == dst.data_ptr() && dst.is_contiguous()) return;  // the same elements
        moved = fresh_copy(moved);  // overlapping: read the source in full before writing
    }
    write_into(dst, moved);
}

}  // namespace descent::detail
