// Tensor handles, storage and factories. Data movement goes through dispatch so that every
// factory works on every device.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>
#include <utility>

#include "autograd_internal.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "backend_call.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent {

std::int64_t shape_numel(const Shape& shape) {
    // Empty whatever the order of its dimensions: (huge, huge, 0) is as empty as (0, huge, huge).
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
    std::int64_t n = 1;
    for (auto s : shape) {
        if (s > 0 && n > std::numeric_limits<std::int64_t>::max() / s)
            throw Error("shape " + shape_str(shape) + " has more elements than fit in 64 bits");
        n *= s;
    }
    return n;
}

std::string shape_str(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

namespace detail {

Storage::Storage(std::size_t n_bytes, Device dev) : bytes(n_bytes), device(dev) {
    data = backend_for(device).allocate(bytes, device.index);
}

Storage::Storage(void* borrowed, std::size_t n_bytes, Device dev)
    : data(borrowed), bytes(n_bytes), device(dev), owned(false) {}

Storage::~Storage() {
    if (data && owned) backend_for(device).deallocate(data, device.index);
    if (!owned && deleter) {
        try {
            deleter(data);
        } catch (...) {
            // A destructor cannot report it; the caller's deleter should not throw.
        }
    }
}

Tensor borrow_memory(void* data, const Shape& shape, DType dtype, Device device) {
    auto impl = std::make_shared<TensorImpl>();
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->numel = shape_numel(shape);
    impl->dtype = dtype;
    impl->storage = std::make_shared<Storage>(
        data, static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype), device);
    return Tensor(std::move(impl));
}

}  // namespace detail

Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device,
                 std::function<void(void*)> deleter) {
    for (std::int64_t s : shape)
        if (s < 0) throw Error("from_blob: negative dimension in shape " + shape_str(shape));
    if (static_cast<int>(shape.size()) > detail::kMaxRank)
        throw Error("from_blob: rank " + std::to_string(shape.size()) + " above " +
                    std::to_string(detail::kMaxRank));
    const std::int64_t numel = shape_numel(shape);
    if (!data && numel > 0) throw Error("from_blob: a null pointer for " + shape_str(shape));
    if (reinterpret_cast<std::uintptr_t>(data) % dtype_size(dtype) != 0)
        throw Error(std::string("from_blob: the pointer is not aligned to ") +
                    std::to_string(dtype_size(dtype)) + " bytes (" + dtype_name(dtype) + ")");
    if (!device.is_cpu()) detail::require_backend(device);
    Tensor t = detail::borrow_memory(data, shape, dtype, device);
    t.impl()->storage->deleter = std::move(deleter);
    return t;
}

namespace detail {

Tensor make_tensor(const Shape& shape, DType dtype, Device device) {
    if (static_cast<int>(shape.size()) > kMaxRank)
        throw Error("tensor: rank " + std::to_string(shape.size()) + " of shape " +
                    shape_str(shape) + " exceeds the supported " + std::to_string(kMaxRank));
    for (auto s : shape)
        if (s < 0) throw Error("tensor: negative dimension in shape " + shape_str(shape));
    const std::int64_t numel = shape_numel(shape);
    if (numel > std::numeric_limits<std::int64_t>::max() / 8)
        throw Error("tensor: shape " + shape_str(shape) + " needs more bytes than fit in 64 bits");
    auto impl = std::make_shared<TensorImpl>();
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->numel = numel;
    impl->dtype = dtype;
    impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(numel) * dtype_size(dtype),
                                              device);
    return Tensor(std::move(impl));
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    std::int64_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        // An empty tensor may have dimensions whose product overflows (numel is 0 anyway, and
        // its strides are never used to address an element): saturate instead.
        if (__builtin_mul_overflow(stride, std::max<std::int64_t>(shape[i], 1), &stride))
            stride = std::numeric_limits<std::int64_t>::max();
    }
    return strides;
}

void set_storage_offset(const Tensor& view, std::int64_t offset) {
    TensorImpl& impl = *view.impl();
    // An empty view addresses nothing (and its strides may be saturated): only the offset counts.
    std::int64_t last = offset;
    if (impl.numel > 0)
        for (std::size_t i = 0; i < impl.shape.size(); ++i)
            last += (impl.shape[i] - 1) * impl.strides[i];
    const auto capacity = static_cast<std::int64_t>(impl.storage->bytes / dtype_size(impl.dtype));
    if (offset < 0 || (impl.numel > 0 && last >= capacity))
        throw Error("internal error: a view " + describe(view) + " moved to offset " +
                    std::to_string(offset) + " would reach past its storage of " +
                    std::to_string(capacity) + " elements");
    impl.offset = offset;
}

Tensor make_view(const Tensor& base, const Shape& shape) {
    const TensorImpl& b = *base.impl();
    if (shape == b.shape) return make_strided_view(base, shape, b.strides, b.offset);
    if (!base.is_contiguous())
        throw Error("internal error: a flat view of the non-contiguous tensor " + describe(base) +
                    " was asked for; make it contiguous() first");
    return make_strided_view(base, shape, contiguous_strides(shape), b.offset);
}

namespace {
// Dense row-major: dimensions of size 1 and empty tensors place no constraint (torch's rule).
bool dense_row_major(const Shape& shape, const Shape& strides) {
    // Empty first: the product of the other dimensions of an empty tensor may overflow.
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return true;
    std::int64_t expected = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        const std::int64_t n = shape[i];
        if (n != 1 && strides[i] != expected) return false;
        expected *= n;
    }
    return true;
}
}  // namespace

Tensor make_strided_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->contiguous = dense_row_major(shape, strides);
    impl->numel = shape_numel(shape);
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    impl->dtype = base.dtype();
    impl->storage = base.impl()->storage;
    return Tensor(std::move(impl));
}

}  // namespace detail

using detail::check_defined;

namespace {
const detail::TensorImpl& checked(const Tensor& t, const char* what) {
    if (!t.defined()) throw Error(std::string(what) + ": the tensor is undefined");
    return *t.impl();
}
}  // namespace

DType Tensor::dtype() const { return checked(*this, "dtype").dtype; }
Device Tensor::device() const { return checked(*this, "device").storage->device; }
const Shape& Tensor::shape() const { return checked(*this, "shape").shape; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(shape().size()); }
std::int64_t Tensor::numel() const { return checked(*this, "numel").numel; }

std::int64_t Tensor::size(std::int64_t axis) const {
    return shape()[static_cast<std::size_t>(detail::normalize_axis("size", axis, shape()))];
}

const Shape& Tensor::strides() const { return checked(*this, "strides").strides; }
std::int64_t Tensor::storage_offset() const { return checked(*this, "storage_offset").offset; }

std::int64_t Tensor::stride(std::int64_t axis) const {
    return strides()[static_cast<std::size_t>(detail::normalize_axis("stride", axis, shape()))];
}

bool Tensor::is_contiguous() const { return checked(*this, "is_contiguous").contiguous; }

void* Tensor::data_ptr() const {
    const detail::TensorImpl& impl = checked(*this, "data_ptr");
    return static_cast<char*>(impl.storage->data) +
           static_cast<std::size_t>(impl.offset) * dtype_size(impl.dtype);
}

template <class T>
T* Tensor::data() const {
    const DType want = std::is_same<T, float>::value ? DType::f32 : DType::f64;
    if (dtype() != want)
        throw Error(std::string("data<") + dtype_name(want) + ">: tensor is " + dtype_name(dtype()));
    if (!device().is_cpu())
        throw Error("data(): tensor is on " + device().str() + "; copy it with to(Device::cpu())");
    if (!is_contiguous())
        throw Error("data(): the view " + detail::describe(*this) +
                    " is not contiguous; call contiguous() first");
    return static_cast<T*>(data_ptr());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;

Tensor Tensor::to(Device target) const {
    check_defined("to", *this);
    if (target == device()) return *this;
    Tensor out = detail::device_copy_op(*this, target);
    const Device source = device();
    return detail::record("to", out, {*this}, [source](const Tensor& g) {
        return std::vector<Tensor>{g.to(source)};
    });
}

Tensor Tensor::to(DType target) const {
    check_defined("to", *this);
    if (target == dtype()) return *this;
    Tensor out = detail::cast_op(*this, target);
    const DType source = dtype();
    return detail::record("to", out, {*this}, [source](const Tensor& g) {
        return std::vector<Tensor>{g.to(source)};
    });
}

Tensor Tensor::clone() const {
    check_defined("clone", *this);
    Tensor out = detail::make_tensor(shape(), dtype(), device());
    detail::copy_op(out, *this);
    return detail::record("clone", out, {*this},
                          [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::detach() const {
    check_defined("detach", *this);
    return detail::make_view(*this, shape());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
    check_defined("to_vector", *this);
    Tensor host = detail::contiguous_op(detail::device_copy_op(*this, Device::cpu()));
    std::vector<T> out(static_cast<std::size_t>(numel()));
    if (out.empty()) return out;
    // Converted element by element straight into the vector (no converted tensor in between:
    // the training loop reads the weights back at every sync point).
    if (host.dtype() == DType::f32) {
        const float* src = static_cast<const float*>(host.data_ptr());
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(src[i]);
    } else {
        const double* src = static_cast<const double*>(host.data_ptr());
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(src[i]);
    }
    return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

double Tensor::item() const {
    check_defined("item", *this);
    if (numel() != 1)
        throw Error("item: needs a tensor with exactly one element, got shape " +
                    shape_str(shape()));
    return to_vector<double>()[0];
}

bool Tensor::requires_grad() const { return checked(*this, "requires_grad").requires_grad; }
bool Tensor::is_leaf() const { return checked(*this, "is_leaf").grad_fn == nullptr; }

Tensor& Tensor::requires_grad_(bool on) {
    auto& impl = const_cast<detail::TensorImpl&>(checked(*this, "requires_grad_"));
    if (impl.grad_fn)
        throw Error("requires_grad_: only leaf tensors can be marked; this one is the output of '" +
                    std::string(impl.grad_fn->name) + "' (use detach() to make a leaf)");
    impl.requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return checked(*this, "grad").grad; }

void Tensor::set_grad(const Tensor& g) {
    auto& impl = const_cast<detail::TensorImpl&>(checked(*this, "set_grad"));
    if (g.defined() && (g.shape() != shape() || g.dtype() != dtype() || g.device() != device()))
        throw Error("set_grad: gradient " + detail::describe(g) + " does not match tensor " +
                    detail::describe(*this));
    impl.grad = g;
}

void Tensor::zero_grad() {
    auto& impl = const_cast<detail::TensorImpl&>(checked(*this, "zero_grad"));
    if (impl.grad.defined()) detail::fill_op(impl.grad, 0.0);
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
    detail::run_backward(*this, grad, retain_graph, create_graph);
}

namespace {
void check_writable(const char* op, const Tensor& t) {
    check_defined(op, t);
    if (t.requires_grad() && grad_enabled())
        throw Error(std::string(op) + ": in-place write to a tensor that requires grad " +
                    detail::describe(t) + "; wrap it in descent::NoGrad");
}
}  // namespace

Tensor& Tensor::fill_(double value) {
    check_writable("fill_", *this);
    detail::fill_op(*this, value);
    return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
    check_writable("copy_", *this);
    check_defined("copy_", src);
    if (src.shape() != shape())
        throw Error("copy_: source shape " + shape_str(src.shape()) + " differs from " +
                    shape_str(shape()));
    detail::copy_op(*this, src);
    return *this;
}

Tensor Tensor::reshape(const Shape& s) const { return descent::reshape(*this, s); }
Tensor Tensor::narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const {
    return descent::narrow(*this, dim, start, length);
}
Tensor Tensor::select(std::int64_t dim, std::int64_t index) const {
    return descent::select(*this, dim, index);
}
Tensor Tensor::unsqueeze(std::int64_t dim) const { return descent::unsqueeze(*this, dim); }
Tensor Tensor::squeeze() const { return descent::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t dim) const { return descent::squeeze(*this, dim); }
Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
    return descent::permute(*this, dims);
}
Tensor Tensor::contiguous() const { return descent::contiguous(*this); }
Tensor Tensor::t() const { return descent::transpose(*this); }
Tensor Tensor::sum() const { return descent::sum(*this); }
Tensor Tensor::mean() const { return descent::mean(*this); }

// --- factories ---------------------------------------------------------------------------

Tensor empty(const Shape& shape, DType dtype, Device device) {
    return detail::make_tensor(shape, dtype, device);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = detail::make_tensor(shape, dtype, device);
    detail::fill_op(t, value);
    return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

namespace {
template <class T>
Tensor from_host(const std::vector<T>& data, const Shape& shape_in, DType dtype, Device device) {
    // No shape: a vector of data.size() values, except that a single value with no shape is
    // a scalar (shape () is also how a caller asks for one explicitly).
    const Shape shape = shape_in.empty() && data.size() != 1
                            ? Shape{static_cast<std::int64_t>(data.size())}
                            : shape_in;
    if (shape_numel(shape) != static_cast<std::int64_t>(data.size()))
        throw Error("from_vector: " + std::to_string(data.size()) +
                    " values do not fill shape " + shape_str(shape));
    const DType host_dtype = std::is_same<T, float>::value ? DType::f32 : DType::f64;
    Tensor host = detail::make_tensor(shape, host_dtype, Device::cpu());
    if (!data.empty()) std::memcpy(host.data_ptr(), data.data(), data.size() * sizeof(T));
    Tensor typed = dtype == host_dtype ? host : detail::cast_op(host, dtype);
    return device.is_cpu() ? typed : detail::device_copy_op(typed, device);
}
}  // namespace

Tensor from_vector(const std::vector<double>& data, const Shape& shape, DType dtype, Device device) {
    return from_host(data, shape, dtype, device);
}
Tensor from_vector(const std::vector<float>& data, const Shape& shape, DType dtype, Device device) {
    return from_host(data, shape, dtype, device);
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
    if (step == 0.0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(end))
        throw Error("arange: needs finite start, end and a non-zero step (got start=" +
                    std::to_string(start) + ", end=" + std::to_string(end) +
                    ", step=" + std::to_string(step) + ")");
    const double count = std::ceil((end - start) / step);
    if (!(count < 9.0e15))  // also catches inf and NaN; far beyond any memory anyway
        throw Error("arange: start=" + std::to_string(start) + ", end=" + std::to_string(end) +
                    ", step=" + std::to_string(step) + " would make " + std::to_string(count) +
                    " elements");
    const auto n = static_cast<std::size_t>(count > 0 ? count : 0);
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = start + double(i) * step;
    return from_vector(v, {static_cast<std::int64_t>(n)}, dtype, device);
}

Tensor linspace(double start, double end, std::int64_t steps, DType dtype, Device device) {
    if (steps < 0) throw Error("linspace: steps must be >= 0, got " + std::to_string(steps));
    // numpy's formula, so that linspace(-10, 10, 100) matches numpy bit for bit.
    std::vector<double> v(static_cast<std::size_t>(steps));
    const double delta = end - start;
    const double div = double(steps - 1);
    const double step = steps > 1 ? delta / div : 0.0;
    for (std::int64_t i = 0; i < steps; ++i)
        v[i] = (steps > 1 && step == 0.0) ? double(i) / div * delta + start
                                          : double(i) * step + start;
    if (steps > 1) v[steps - 1] = end;
    return from_vector(v, {steps}, dtype, device);
}

// --- printing ---------------------------------------------------------------------------

namespace {
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape,
                  std::size_t dim, std::size_t offset, int indent) {
    const std::int64_t n = shape[dim];
    const std::int64_t stride = shape_numel(Shape(shape.begin() + dim + 1, shape.end()));
    const bool summarize = v.size() > 1000 && n > 6;
    os << '[';
    for (std::int64_t i = 0; i < n; ++i) {
        if (summarize && i == 3) {
            os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
            i = n - 3;
        }
        if (dim + 1 == shape.size()) {
            os << v[offset + i];
        } else {
            print_values(os, v, shape, dim + 1, offset + i * stride, indent + 1);
        }
        if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    const std::vector<double> v = t.to_vector<double>();
    std::ostringstream body;
    body << std::setprecision(t.dtype() == DType::f32 ? 6 : 8);
    if (t.dim() == 0) {
        body << v[0];
    } else {
        print_values(body, v, t.shape(), 0, 0, 7);
    }
    os << "tensor(" << body.str() << ", shape=" << shape_str(t.shape())
       << ", dtype=" << dtype_name(t.dtype()) << ", device=" << t.device();
    if (t.requires_grad()) os << ", requires_grad";
    return os << ')';
}

}  // namespace descent
