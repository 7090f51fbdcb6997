// Tensor: an n-dimensional array of f32 or f64 on the cpu or a CUDA device, with autograd.
// Verified by tests/test_tensor.cpp (factories, conversions, copies) and the op gradchecks.
//
// Copy semantics (as in PyTorch):
//  - Copying a Tensor copies a handle. Both handles name the same tensor: same storage, same
//    grad, same place in the autodiff graph.
//  - Views share storage with their base (writes through one are seen through the other):
//    detach(), reshape() of a contiguous tensor, and narrow(), select(), unsqueeze(),
//    squeeze(), permute(). Views are differentiable. clone() and contiguous() of a
//    non-contiguous tensor copy; to(device) and to(dtype) copy unless nothing changes, in
//    which case they return the same tensor.
//  - A tensor addresses its storage through strides and a storage offset (in elements), as
//    in PyTorch. Fresh tensors are dense and row-major (C order), i.e. contiguous; a view
//    may not be. Every op accepts views; data() and data_ptr() describe the elements only
//    through strides(), so data() refuses a non-contiguous tensor (call contiguous()).
//    Rank 0 is a scalar with numel() == 1.
//  - In-place writes (fill_, zero_, copy_) are refused on a tensor that requires grad while
//    grad mode is on (wrap them in descent::NoGrad, as optimizers do). Tensors saved by the
//    autodiff graph carry no version counter: do not write in place into a tensor that a
//    graph still needs for its backward pass.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descent/device.hpp"
#include "descent/dtype.hpp"

namespace descent {

using Shape = std::vector<std::int64_t>;

std::int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3)", "()" for a scalar

namespace detail {
struct TensorImpl;
}

class Tensor {
public:
    Tensor() = default;  // an undefined tensor; most calls on it throw descent::Error
    explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : m_impl(std::move(impl)) {}

    bool defined() const { return m_impl != nullptr; }

    // --- metadata -----------------------------------------------------------------------
    DType dtype() const;
    Device device() const;
    const Shape& shape() const;
    std::int64_t dim() const;
    std::int64_t size(std::int64_t axis) const;  // negative axes count from the end
    std::int64_t numel() const;
    const Shape& strides() const;                 // in elements, one per dimension
    std::int64_t stride(std::int64_t axis) const;  // negative axes count from the end
    std::int64_t storage_offset() const;          // in elements
    // Whether the elements lie dense in row-major order (dimensions of size 1 and empty
    // tensors place no constraint), as torch's is_contiguous().
    bool is_contiguous() const;

    // --- copies and conversions ---------------------------------------------------------
    Tensor to(Device device) const;  // differentiable; returns *this when already there
    Tensor to(DType dtype) const;    // differentiable; returns *this when the dtype matches
    Tensor clone() const;            // deep copy, differentiable
    Tensor detach() const;           // shares storage, outside the graph
    // Copies the elements to the host, converted to T (float or double).
    template <class T>
    std::vector<T> to_vector() const;
    double item() const;  // the single element of a one-element tensor

    // --- autograd -----------------------------------------------------------------------
    bool requires_grad() const;
    // Marks a leaf as a parameter whose gradient backward() accumulates into grad().
    Tensor& requires_grad_(bool on = true);
    bool is_leaf() const;
    Tensor grad() const;         // undefined until a backward pass reaches this leaf
    void set_grad(const Tensor& g);
    // Zeroes the accumulated gradient in place (keeping its buffer; no-op when undefined).
    void zero_grad();
    // Reverse-mode pass from this tensor. A scalar may omit `grad` (taken as 1); any other
    // tensor needs an upstream gradient of its own shape. Unless retain_graph, the graph's
    // saved tensors are released afterwards and a second backward through it throws. A
    // backward() that throws changes no grad() and releases nothing. With create_graph the
    // backward rules record their own graph, so grad() can be differentiated again, and the
    // graph is kept (as torch's default retain_graph = create_graph). (For
    // Hessians, prefer descent::grad of functional.hpp: as in PyTorch, a leaf whose grad()
    // holds a graph through itself is a reference cycle until set_grad(Tensor()) clears it).
    void backward(const Tensor& grad = Tensor(), bool retain_graph = false,
                  bool create_graph = false) const;

    // --- in-place writes (never recorded by autograd) ------------------------------------
    Tensor& fill_(double value);
    Tensor& zero_();
    Tensor& copy_(const Tensor& src);  // same shape; dtype and device may differ

    // --- raw access, for backends and interop --------------------------------------------
    void* data_ptr() const;  // the first element (storage + storage_offset())
    template <class T>
    T* data() const;  // checks that T matches dtype(); contiguous cpu tensors only

    // --- shape ops and reductions (see ops.hpp for the full list) -----------------------
    Tensor reshape(const Shape& shape) const;
    Tensor t() const;
    // Views (see ops.hpp): share storage, differentiable.
    Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
    Tensor select(std::int64_t dim, std::int64_t index) const;
    Tensor unsqueeze(std::int64_t dim) const;
    Tensor squeeze() const;
    Tensor squeeze(std::int64_t dim) const;
    Tensor permute(const std::vector<std::int64_t>& dims) const;
    Tensor contiguous() const;  // *this when contiguous, else a dense copy
    Tensor sum() const;
    Tensor mean() const;

    const std::shared_ptr<detail::TensorImpl>& impl() const { return m_impl; }

private:
    std::shared_ptr<detail::TensorImpl> m_impl;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- factories -------------------------------------------------------------------------
// Defaults follow PyTorch: f32 on the cpu.
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
            Device device = Device::cpu());
Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());
// From host data in row-major order. Without a shape: a vector of data.size() elements, but
// a single value gives a scalar (shape ()); pass {1} for a one-element vector.
Tensor from_vector(const std::vector<double>& data, const Shape& shape = {},
                   DType dtype = DType::f64, Device device = Device::cpu());
Tensor from_vector(const std::vector<float>& data, const Shape& shape = {},
                   DType dtype = DType::f32, Device device = Device::cpu());
// Wraps existing memory without a copy (torch.from_blob): `data` holds shape's elements of
// `dtype`, contiguous and row-major, in host memory for Device::cpu() or in the memory of the
// CUDA device for Device::cuda(i). The tensor and every view of it share that memory (writes
// through either are seen by the other); `deleter`, when given, is called with `data` once the
// last of them goes; without one the caller keeps the memory alive while they live. Throws
// descent::Error for a null pointer with elements, a pointer not aligned to the dtype, a
// negative dimension, or a CUDA device this process cannot use.
Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device = Device::cpu(),
                 std::function<void(void*)> deleter = {});
// numpy.arange: start, start+step, ... while < end (> end for a negative step).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::f32,
              Device device = Device::cpu());
// numpy.linspace with endpoint=True, value for value (start + i*step, last exactly `end`).
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = DType::f32,
                Device device = Device::cpu());

}  // namespace descent
