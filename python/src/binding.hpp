// What the parts of the Python module share: how strings become devices and dtypes, how an
// undefined Tensor becomes None, and the bind_* functions module.cpp calls in order.
#pragma once

#include <nanobind/nanobind.h>

#include <optional>
#include <string>

#include "descent/descent.hpp"

namespace descent::python {

namespace nb = nanobind;

// "cpu", "cuda", "cuda:N" (None: the cpu).
Device device_arg(const std::optional<std::string>& text);
// "f32"/"float32"/"float" or "f64"/"float64"/"double" (None: `fallback`).
DType dtype_arg(const std::optional<std::string>& text, DType fallback = DType::f32);
// A Python str as text; TypeError naming `what` otherwise.
std::string text_arg(nb::handle h, const char* what);
// None for an undefined tensor (torch's None: no gradient yet, an unused input).
nb::object tensor_or_none(const Tensor& t);

// Shares an array's memory (numpy, or any DLPack producer: torch, cupy, jax) as a Tensor; the
// tensor holds the array alive. TypeError for a wrong type or dtype, ValueError for a
// non-contiguous or read-only array or one on a device descent cannot use.
Tensor tensor_from_array(nb::handle array);
// A numpy array over a cpu tensor's memory (the tensor kept alive by it); TypeError for a
// CUDA tensor (copy it to the cpu first), as torch's Tensor.numpy().
nb::object numpy_view(const Tensor& t);
// A DLPack capsule of the tensor (its __dlpack__), and its (device type, id).
nb::object dlpack_capsule(const Tensor& t, nb::kwargs kwargs);
nb::tuple dlpack_device(const Tensor& t);

void bind_errors(nb::module_& m);
void bind_tensor(nb::module_& m);
void bind_arrays(nb::module_& m);
void bind_ops(nb::module_& m);
void bind_autograd(nb::module_& m);
void bind_optim(nb::module_& m);
void bind_training(nb::module_& m);

}  // namespace descent::python
