// Views: narrow, select, unsqueeze, squeeze and permute give a tensor on the same storage
// with other strides and storage offset; contiguous() copies a view that is not dense. The
// backward rules are written with differentiable ops (the adjoint of narrow and select is a
// differentiable op of its own), so second derivatives flow through views as well.
#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent {

using detail::record;
using Grads = std::vector<Tensor>;

namespace {

std::string range_str(std::int64_t begin, std::int64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// The storage offset of index `index` along dim `d` of `t`. An empty tensor addresses no
// element, and its strides may be saturated (huge dimensions), so it stays where it is.
std::int64_t offset_along(const Tensor& t, std::int64_t d, std::int64_t index) {
    if (t.numel() == 0) return t.storage_offset();
    return t.storage_offset() + index * t.strides()[static_cast<std::size_t>(d)];
}

// The adjoint of narrow: g placed at [start, start + g.size(dim)) along `dim` of a zero
// tensor of `shape`. Its own adjoint is narrow again.
Tensor narrow_adjoint(const Tensor& g, const Shape& shape, std::int64_t dim, std::int64_t start) {
    Tensor out = zeros(shape, g.dtype(), g.device());
    const std::int64_t length = g.shape()[static_cast<std::size_t>(dim)];
    const Tensor window =
        detail::make_strided_view(out, g.shape(), out.strides(), offset_along(out, dim, start));
    detail::copy_op(window, g);
    return record("narrow_backward", out, {g}, [dim, start, length](const Tensor& gg) {
        return Grads{narrow(gg, dim, start, length)};
    });
}

// record() for a view of `a`, building the rule only when it will be recorded: views are made
// per mini-batch in the training loops, where a std::function and an inputs vector per
// call would cost more than the batch's own work.
template <class MakeRule>
Tensor record_view(const char* name, const Tensor& out, const Tensor& a, MakeRule make_rule) {
    if (!grad_enabled() || !a.requires_grad()) return out;
    return record(name, out, {a}, detail::Node::BackwardFn(make_rule()));
}

Shape erased(Shape s, std::int64_t dim) {
    s.erase(s.begin() + dim);
    return s;
}

Shape inserted(Shape s, std::int64_t dim, std::int64_t value) {
    s.insert(s.begin() + dim, value);
    return s;
}

}  // namespace

Tensor narrow(const Tensor& a, std::int64_t dim_in, std::int64_t start_in, std::int64_t length) {
    detail::check_defined("narrow", a);
    if (a.dim() == 0) throw Error("narrow: a scalar (shape ()) has no dimension to narrow");
    const std::int64_t dim = detail::normalize_axis("narrow", dim_in, a.shape());
    const std::int64_t size = a.shape()[static_cast<std::size_t>(dim)];
    const std::int64_t start = start_in < 0 ? start_in + size : start_in;
    if (start < 0 || length < 0 || start > size || length > size - start)
        throw Error("narrow: elements " + range_str(start_in, start_in + length) +
                    " along dim " + std::to_string(dim_in) + " are outside " +
                    range_str(0, size) + " of the tensor " + detail::describe(a));
    Shape shape = a.shape();
    shape[static_cast<std::size_t>(dim)] = length;
    const Tensor out =
        detail::make_strided_view(a, std::move(shape), a.strides(), offset_along(a, dim, start));
    return record_view("narrow", out, a, [&] {
        return [from = a.shape(), dim, start](const Tensor& g) {
            return Grads{narrow_adjoint(g, from, dim, start)};
        };
    });
}

Tensor select(const Tensor& a, std::int64_t dim_in, std::int64_t index_in) {
    detail::check_defined("select", a);
    if (a.dim() == 0) throw Error("select: a scalar (shape ()) has no dimension to select from");
    const std::int64_t dim = detail::normalize_axis("select", dim_in, a.shape());
    const std::int64_t size = a.shape()[static_cast<std::size_t>(dim)];
    const std::int64_t index = index_in < 0 ? index_in + size : index_in;
    if (index < 0 || index >= size)
        throw Error("select: index " + std::to_string(index_in) + " is out of range for dim " +
                    std::to_string(dim_in) + " of size " + std::to_string(size) + " of " +
                    detail::describe(a));
    const Tensor out = detail::make_strided_view(a, erased(a.shape(), dim),
                                                 erased(a.strides(), dim),
                                                 offset_along(a, dim, index));
    return record_view("select", out, a, [&] {
        return [from = a.shape(), dim, index](const Tensor& g) {
            return Grads{narrow_adjoint(unsqueeze(g, dim), from, dim, index)};
        };
    });
}

Tensor unsqueeze(const Tensor& a, std::int64_t dim_in) {
    detail::check_defined("unsqueeze", a);
    const std::int64_t rank = a.dim();
    const std::int64_t dim = dim_in < 0 ? dim_in + rank + 1 : dim_in;
    if (dim < 0 || dim > rank)
        throw Error("unsqueeze: dim " + std::to_string(dim_in) + " is out of range " +
                    range_str(-rank - 1, rank + 1) + " for shape " + shape_str(a.shape()));
    if (rank + 1 > detail::kMaxRank)
        throw Error("unsqueeze: rank of the result would exceed the supported " +
                    std::to_string(detail::kMaxRank) + " (shape " + shape_str(a.shape()) + ")");
    // torch's choice of the new stride: what a dense tensor of the new shape would have there.
    const auto d = static_cast<std::size_t>(dim);
    // (Saturated for an empty tensor whose dimensions overflow, as contiguous_strides.)
    std::int64_t stride = 1;
    if (dim < rank && __builtin_mul_overflow(a.strides()[d], a.shape()[d], &stride))
        stride = std::numeric_limits<std::int64_t>::max();
    const Tensor out = detail::make_strided_view(a, inserted(a.shape(), dim, 1),
                                                 inserted(a.strides(), dim, stride),
                                                 a.storage_offset());
    return record_view("unsqueeze", out, a, [&] {
        return [dim](const Tensor& g) { return Grads{squeeze(g, dim)}; };
    });
}

Tensor squeeze(const Tensor& a, std::int64_t dim_in) {
    detail::check_defined("squeeze", a);
    if (a.dim() == 0) {
        if (dim_in != 0 && dim_in != -1)
            throw Error("squeeze: dim " + std::to_string(dim_in) + " is out of range for a scalar");
        return record_view("squeeze", detail::make_view(a, a.shape()), a, [&] {
            return [](const Tensor& g) { return Grads{g}; };
        });
    }
    const std::int64_t dim = detail::normalize_axis("squeeze", dim_in, a.shape());
    if (a.shape()[static_cast<std::size_t>(dim)] != 1)  // as torch: nothing to squeeze
        return record_view("squeeze", detail::make_view(a, a.shape()), a, [&] {
            return [](const Tensor& g) { return Grads{g}; };
        });
    const Tensor out = detail::make_strided_view(a, erased(a.shape(), dim),
                                                 erased(a.strides(), dim), a.storage_offset());
    return record_view("squeeze", out, a, [&] {
        return [dim](const Tensor& g) { return Grads{unsqueeze(g, dim)}; };
    });
}

Tensor squeeze(const Tensor& a) {
    detail::check_defined("squeeze", a);
    Shape shape, strides;
    for (std::size_t i = 0; i < a.shape().size(); ++i) {
        if (a.shape()[i] == 1) continue;
        shape.push_back(a.shape()[i]);
        strides.push_back(a.strides()[i]);
    }
    const Tensor out = detail::make_strided_view(a, std::move(shape), std::move(strides),
                                                 a.storage_offset());
    return record_view("squeeze", out, a, [&] {
        return [from = a.shape()](const Tensor& g) { return Grads{reshape(g, from)}; };
    });
}

Tensor permute(const Tensor& a, const std::vector<std::int64_t>& dims) {
    detail::check_defined("permute", a);
    const std::int64_t rank = a.dim();
    if (static_cast<std::int64_t>(dims.size()) != rank)
        throw Error("permute: " + std::to_string(dims.size()) + " dims given for shape " +
                    shape_str(a.shape()) + " of rank " + std::to_string(rank));
    std::vector<std::int64_t> inverse(dims.size(), -1);
    Shape shape(dims.size()), strides(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) {
        const std::int64_t d = detail::normalize_axis("permute", dims[i], a.shape());
        if (inverse[static_cast<std::size_t>(d)] >= 0)
            throw Error("permute: dim " + std::to_string(dims[i]) + " appears twice in the order "
                        "given for shape " + shape_str(a.shape()));
        inverse[static_cast<std::size_t>(d)] = static_cast<std::int64_t>(i);
        shape[i] = a.shape()[static_cast<std::size_t>(d)];
        strides[i] = a.strides()[static_cast<std::size_t>(d)];
    }
    const Tensor out = detail::make_strided_view(a, std::move(shape), std::move(strides),
                                                 a.storage_offset());
    return record_view("permute", out, a, [&] {
        return [inverse](const Tensor& g) { return Grads{permute(g, inverse)}; };
    });
}

Tensor contiguous(const Tensor& a) {
    detail::check_defined("contiguous", a);
    if (a.is_contiguous()) return a;
    return record("contiguous", detail::contiguous_op(a), {a},
                  [](const Tensor& g) { return Grads{g}; });
}

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim_in) {
    if (tensors.empty()) throw Error("concat: needs at least one tensor");
    const Tensor& first = tensors.front();
    detail::check_defined("concat", first);
    if (first.dim() == 0) throw Error("concat: a scalar (shape ()) has no dimension to join along");
    const std::int64_t dim = detail::normalize_axis("concat", dim_in, first.shape());
    const auto d = static_cast<std::size_t>(dim);
    Shape shape = first.shape();
    shape[d] = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        detail::check_same_kind("concat", first, t);
        Shape other = t.shape();
        if (other.size() == shape.size()) other[d] = 0;  // the joined dim may differ
        if (other != shape) {
            throw Error("concat: tensor " + std::to_string(i) + " has shape " +
                        shape_str(t.shape()) + "; every tensor must match " +
                        shape_str(first.shape()) + " except along dim " + std::to_string(dim_in));
        }
    }
    for (const Tensor& t : tensors) shape[d] += t.shape()[d];
    Tensor out = empty(shape, first.dtype(), first.device());
    std::vector<std::int64_t> starts;
    std::int64_t at = 0;
    for (const Tensor& t : tensors) {
        starts.push_back(at);
        const Tensor window = detail::make_strided_view(
            out, t.shape(), out.strides(), offset_along(out, dim, at));
        detail::copy_op(window, t);
        at += t.shape()[d];
    }
    bool any = false;
    for (const Tensor& t : tensors) any = any || t.requires_grad();
    if (!grad_enabled() || !any) return out;
    std::vector<std::int64_t> lengths;
    for (const Tensor& t : tensors) lengths.push_back(t.shape()[d]);
    return record("concat", out, tensors, [dim, starts, lengths](const Tensor& g) {
        Grads grads;
        for (std::size_t i = 0; i < starts.size(); ++i)
            grads.push_back(narrow(g, dim, starts[i], lengths[i]));
        return grads;
    });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim_in) {
    if (tensors.empty()) throw Error("stack: needs at least one tensor");
    detail::check_defined("stack", tensors.front());
    const Shape& shape = tensors.front().shape();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        detail::check_defined("stack", tensors[i]);
        if (tensors[i].shape() != shape)
            throw Error("stack: tensor " + std::to_string(i) + " has shape " +
                        shape_str(tensors[i].shape()) + ", tensor 0 " + shape_str(shape) +
                        "; stack needs one shape");
    }
    const auto rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t dim = dim_in < 0 ? dim_in + rank + 1 : dim_in;
    if (dim < 0 || dim > rank)
        throw Error("stack: dim " + std::to_string(dim_in) + " is out of range " +
                    range_str(-rank - 1, rank + 1) + " for tensors of shape " + shape_str(shape));
    std::vector<Tensor> columns;
    for (const Tensor& t : tensors) columns.push_back(unsqueeze(t, dim));
    return concat(columns, dim);
}

}  // namespace descent
