// Arrays in and out without copies: numpy arrays and DLPack producers become Tensors over the
// same memory (the tensor keeps the array alive), and Tensors hand their memory to numpy
// (.numpy(), __array__) and to any DLPack consumer (__dlpack__), the consumer keeping the
// tensor alive.
#include <nanobind/ndarray.h>

#include <string>
#include <vector>

#include "binding.hpp"

namespace descent::python {

namespace {

// DLPack device types (dlpack.h): only these two hold memory descent can address.
constexpr int kDLCPU = 1;
constexpr int kDLCUDA = 2;

std::string python_type_name(nb::handle h) {
    return std::string(nb::str(h.type().attr("__qualname__")).c_str());
}

std::string dtype_text(const nb::dlpack::dtype& t) {
    const char* code = "?";
    switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
        case nb::dlpack::dtype_code::Int: code = "int"; break;
        case nb::dlpack::dtype_code::UInt: code = "uint"; break;
        case nb::dlpack::dtype_code::Float: code = "float"; break;
        case nb::dlpack::dtype_code::Bfloat: code = "bfloat"; break;
        case nb::dlpack::dtype_code::Complex: code = "complex"; break;
        case nb::dlpack::dtype_code::Bool: code = "bool"; break;
        default: break;
    }
    return std::string(code) + std::to_string(t.bits);
}

bool python_alive() {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsInitialized() && !Py_IsFinalizing();
#else
    return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

}  // namespace

Tensor tensor_from_array(nb::handle array) {
    if (nb::isinstance<Tensor>(array)) return nb::cast<Tensor>(array);  // already one
    nb::ndarray<> a;
    if (!nb::try_cast<nb::ndarray<>>(array, a, /*convert=*/false)) {
        nb::ndarray<nb::ro> readonly;
        if (nb::try_cast<nb::ndarray<nb::ro>>(array, readonly, false))
            throw nb::value_error(
                "descent: the array is read-only and a Tensor shares (and may write) its memory; "
                "pass a writable array (numpy: a.copy(), or np.require(a, requirements='W'))");
        throw nb::type_error(("descent: expected a numpy array or a DLPack producer (torch, "
                              "cupy, jax), got " + python_type_name(array)).c_str());
    }
    const auto dt = a.dtype();
    DType dtype;
    if (dt == nb::dtype<float>()) {
        dtype = DType::f32;
    } else if (dt == nb::dtype<double>()) {
        dtype = DType::f64;
    } else {
        throw nb::type_error(("descent: expected an array of float32 or float64, got " +
                              dtype_text(dt) + " (convert it first, e.g. a.astype(np.float64))")
                                 .c_str());
    }
    Shape shape(a.ndim());
    for (std::size_t i = 0; i < a.ndim(); ++i) shape[i] = static_cast<std::int64_t>(a.shape(i));
    // C order, in elements; dimensions of size 1 (and empty arrays) place no constraint.
    std::int64_t expected = 1;
    bool contiguous = true;
    for (std::size_t i = a.ndim(); i-- > 0;) {
        if (shape[i] != 1 && a.stride(i) != expected) contiguous = false;
        expected *= shape[i];
    }
    if (!contiguous && shape_numel(shape) > 0)
        throw nb::value_error(("descent: expected a C-contiguous array, got one of shape " +
                               shape_str(shape) + " with other strides (a transpose or a slice "
                               "with a step); numpy: np.ascontiguousarray(a) copies it")
                                  .c_str());
    Device device;
    if (a.device_type() == kDLCPU) {
        device = Device::cpu();
    } else if (a.device_type() == kDLCUDA) {
        device = Device::cuda(a.device_id());
    } else {
        throw nb::value_error(("descent: the array lives on DLPack device type " +
                               std::to_string(a.device_type()) +
                               "; descent takes cpu (1) and cuda (2) memory")
                                  .c_str());
    }
    // The tensor's storage holds the array: its handle keeps the producer's buffer alive, and
    // dropping it needs the interpreter (the last tensor may go while the GIL is released).
    auto* keep = new nb::ndarray<>(a);
    auto release = [keep, device](void*) {
        // descent's queued kernels may still use the memory: finish them before the producer
        // may reuse it.
        if (device.is_cuda()) synchronize(device);
        if (!python_alive()) return;  // the interpreter is gone: nothing left to release
        nb::gil_scoped_acquire gil;
        delete keep;
    };
    try {
        return from_blob(a.data(), shape, dtype, device, release);
    } catch (...) {
        delete keep;
        throw;
    }
}

namespace {

// The owner of an exported view: a capsule holding a handle to the tensor.
nb::capsule tensor_owner(const Tensor& t) {
    return nb::capsule(new Tensor(t), [](void* p) noexcept { delete static_cast<Tensor*>(p); });
}

nb::dlpack::dtype dlpack_dtype(DType d) {
    return d == DType::f32 ? nb::dtype<float>() : nb::dtype<double>();
}

template <class... Framework>
nb::object export_view(const Tensor& t, int device_type, int device_id) {
    std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    std::vector<std::int64_t> strides(t.strides().begin(), t.strides().end());
    nb::ndarray<Framework...> view(t.data_ptr(), shape.size(), shape.data(), tensor_owner(t),
                                strides.data(), dlpack_dtype(t.dtype()), device_type, device_id);
    return view.cast(nb::rv_policy::reference);
}

}  // namespace

nb::object numpy_view(const Tensor& t) {
    if (!t.defined()) throw nb::value_error("descent: numpy() of an undefined tensor");
    if (!t.device().is_cpu())
        throw nb::type_error(("descent: numpy() needs a cpu tensor, this one is on " +
                              t.device().str() + "; copy it first: t.cpu().numpy()")
                                 .c_str());
    if (t.requires_grad())
        throw nb::type_error(
            "descent: numpy() of a tensor that requires grad; use t.detach().numpy()");
    return export_view<nb::numpy>(t, kDLCPU, 0);
}

nb::object dlpack_capsule(const Tensor& t, nb::kwargs kwargs) {
    if (!t.defined()) throw nb::value_error("descent: __dlpack__ of an undefined tensor");
    if (t.requires_grad())
        throw nb::type_error(
            "descent: __dlpack__ of a tensor that requires grad; use t.detach()");
    const Device d = t.device();
    // The consumer reads on its own stream: finish descent's queued work on the memory first.
    if (d.is_cuda()) synchronize(d);
    nb::dict forwarded;
    for (auto [key, value] : kwargs)
        if (std::string(nb::str(key).c_str()) != "stream") forwarded[key] = value;
    nb::object view = export_view<nb::array_api>(t, d.is_cuda() ? kDLCUDA : kDLCPU, d.index);
    return view.attr("__dlpack__")(**forwarded);
}

nb::tuple dlpack_device(const Tensor& t) {
    const Device d = t.device();
    return nb::make_tuple(d.is_cuda() ? kDLCUDA : kDLCPU, d.is_cuda() ? d.index : 0);
}

void bind_arrays(nb::module_& m) {
    m.def("from_numpy", &tensor_from_array, nb::arg("array"),
          "A Tensor sharing the memory of a C-contiguous float32/float64 numpy array (no "
          "copy): writes through either are seen by the other; the tensor keeps the array "
          "alive.");
    m.def("from_dlpack", &tensor_from_array, nb::arg("array"),
          "A Tensor sharing the memory of any DLPack producer (torch, cupy, jax, numpy), on "
          "the cpu or a CUDA device, without a copy.");
}

}  // namespace descent::python
