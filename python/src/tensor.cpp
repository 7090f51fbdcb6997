// descent.Tensor: metadata, conversions, autograd state and views, with torch's names.
// Operators and the ops of ops.hpp are in ops.cpp; array interop in arrays.cpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <sstream>

#include "binding.hpp"

namespace descent::python {

namespace {

nb::tuple shape_tuple(const Shape& s) {
    nb::list l;
    for (auto v : s) l.append(v);
    return nb::tuple(l);
}

// t[i], t[a:b], t[i, a:b, ...]: select and narrow (views). Steps other than 1 are refused.
Tensor index_tensor(const Tensor& t, nb::handle key) {
    nb::tuple keys = nb::isinstance<nb::tuple>(key) ? nb::borrow<nb::tuple>(key)
                                                     : nb::make_tuple(key);
    if (static_cast<std::int64_t>(keys.size()) > t.dim())
        throw nb::index_error(("descent: too many indices (" + std::to_string(keys.size()) +
                               ") for a tensor of rank " + std::to_string(t.dim()))
                                  .c_str());
    Tensor r = t;
    std::int64_t dim = 0;
    for (nb::handle k : keys) {
        if (nb::isinstance<nb::slice>(k)) {
            auto [start, stop, step, length] =
                nb::borrow<nb::slice>(k).compute(static_cast<std::size_t>(r.size(dim)));
            if (step != 1)
                throw nb::value_error("descent: slices with a step other than 1 are not supported");
            r = r.narrow(dim, static_cast<std::int64_t>(start), static_cast<std::int64_t>(length));
            ++dim;
        } else if (PyIndex_Check(k.ptr())) {
            std::int64_t i = nb::cast<std::int64_t>(nb::int_(k));
            const std::int64_t n = r.size(dim);
            if (i < -n || i >= n)
                throw nb::index_error(("descent: index " + std::to_string(i) +
                                       " is out of bounds for dimension " + std::to_string(dim) +
                                       " of size " + std::to_string(n))
                                          .c_str());
            r = r.select(dim, i);
        } else {
            throw nb::type_error("descent: a tensor index is an int, a slice or a tuple of them");
        }
    }
    return r;
}

std::string repr(const Tensor& t) {
    if (!t.defined()) return "tensor(undefined)";
    std::ostringstream os;
    os << t;
    return os.str();
}

}  // namespace

void bind_tensor(nb::module_& m) {
    nb::class_<Tensor> cls(m, "Tensor",
        "An n-dimensional array of float32 or float64 on the cpu or a CUDA device, with "
        "reverse-mode autodiff (torch.Tensor's names). Copying the Python object copies a "
        "handle: views share storage.");
    cls.def_prop_ro("shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
        .def("size", [](const Tensor& t, std::optional<std::int64_t> dim) -> nb::object {
                if (dim) return nb::int_(t.size(*dim));
                return shape_tuple(t.shape());
            }, nb::arg("dim") = nb::none())
        .def_prop_ro("ndim", &Tensor::dim)
        .def("dim", &Tensor::dim)
        .def("numel", &Tensor::numel)
        .def("__len__", [](const Tensor& t) {
            if (t.dim() == 0) throw nb::type_error("descent: len() of a 0-d tensor");
            return t.size(0);
        })
        .def_prop_ro("dtype", [](const Tensor& t) { return std::string(dtype_name(t.dtype())); },
                     "'f32' or 'f64'")
        .def_prop_ro("device", [](const Tensor& t) { return t.device().str(); },
                     "'cpu' or 'cuda:N'")
        .def_prop_ro("is_cuda", [](const Tensor& t) { return t.device().is_cuda(); })
        .def("stride", [](const Tensor& t) { return shape_tuple(t.strides()); })
        .def("storage_offset", &Tensor::storage_offset)
        .def("is_contiguous", &Tensor::is_contiguous)
        .def("data_ptr", [](const Tensor& t) {
            return reinterpret_cast<std::uintptr_t>(t.data_ptr());
        })
        // --- conversions
        .def("to", [](const Tensor& t, std::optional<std::string> device,
                      std::optional<std::string> dtype) {
                Tensor r = t;
                if (dtype) r = r.to(parse_dtype(*dtype));
                if (device) r = r.to(parse_device(*device));
                return r;
            }, nb::arg("device") = nb::none(), nb::arg("dtype") = nb::none(),
            "A copy on `device` and/or in `dtype`; the tensor itself when nothing changes.")
        .def("cpu", [](const Tensor& t) { return t.to(Device::cpu()); })
        .def("cuda", [](const Tensor& t, int index) { return t.to(Device::cuda(index)); },
             nb::arg("device") = 0)
        .def("float", [](const Tensor& t) { return t.to(DType::f32); })
        .def("double", [](const Tensor& t) { return t.to(DType::f64); })
        .def("clone", &Tensor::clone)
        .def("detach", &Tensor::detach)
        .def("contiguous", &Tensor::contiguous)
        .def("item", &Tensor::item)
        .def("__int__", [](const Tensor& t) { return static_cast<std::int64_t>(t.item()); })
        .def("__format__", [](const Tensor& t, nb::handle spec) -> nb::object {
                if (t.numel() == 1) return nb::steal(PyObject_Format(nb::float_(t.item()).ptr(), spec.ptr()));
                return nb::str(nb::cast(t));
            })
        .def("__float__", &Tensor::item)
        .def("tolist", [](const Tensor& t) -> nb::object {
            const std::vector<double> v = t.to_vector<double>();
            if (t.dim() == 0) return nb::float_(v.at(0));
            // Nested lists in row-major order.
            std::function<nb::list(std::int64_t, std::size_t&)> build =
                [&](std::int64_t d, std::size_t& pos) {
                    nb::list l;
                    for (std::int64_t i = 0; i < t.size(d); ++i) {
                        if (d + 1 == t.dim()) l.append(v[pos++]);
                        else l.append(build(d + 1, pos));
                    }
                    return l;
                };
            std::size_t pos = 0;
            return build(0, pos);
        })
        .def("numpy", &numpy_view,
             "A numpy array over this cpu tensor's memory (no copy; as torch, not for a "
             "tensor that requires grad or lives on a GPU).")
        // numpy's protocol: a view unless a copy is asked for (copy=True) or needed for
        // `dtype` (refused with copy=False); refused as numpy() is (requires grad, a GPU).
        .def("__array__", [](const Tensor& t, nb::handle dtype, nb::handle copy) {
                nb::object a = numpy_view(t);
                const bool convert = !dtype.is_none() &&
                    !nb::cast<bool>(a.attr("dtype").attr("__eq__")(dtype));
                if (convert && copy.ptr() == Py_False)
                    throw nb::value_error("descent: __array__(copy=False) cannot convert the "
                                          "dtype without a copy");
                if (convert) return a.attr("astype")(dtype);
                if (copy.ptr() == Py_True) return a.attr("copy")();
                return a;
            }, nb::arg("dtype") = nb::none(), nb::arg("copy") = nb::none())
        .def("__dlpack__", &dlpack_capsule)
        .def("__dlpack_device__", &dlpack_device)
        // --- autograd
        .def_prop_rw("requires_grad", &Tensor::requires_grad,
                     [](Tensor& t, bool on) { t.requires_grad_(on); })
        .def("requires_grad_", [](Tensor& t, bool on) { t.requires_grad_(on); return t; },
             nb::arg("requires_grad") = true)
        .def_prop_ro("is_leaf", &Tensor::is_leaf)
        .def_prop_rw("grad", [](const Tensor& t) { return tensor_or_none(t.grad()); },
                     [](Tensor& t, std::optional<Tensor> g) { t.set_grad(g ? *g : Tensor()); },
                     nb::arg("grad").none(), "The accumulated gradient; None until backward() reaches this leaf.")
        .def("zero_grad", &Tensor::zero_grad)
        .def("backward", [](const Tensor& t, std::optional<Tensor> grad, bool retain_graph,
                            bool create_graph) {
                nb::gil_scoped_release unlocked;
                t.backward(grad ? *grad : Tensor(), retain_graph, create_graph);
            }, nb::arg("gradient") = nb::none(), nb::arg("retain_graph") = false,
            nb::arg("create_graph") = false,
            "Reverse-mode pass from this tensor into the grad of every leaf that requires it.")
        // --- in place (never recorded)
        // In place: the same Python object back, as torch.
        .def("fill_", [](nb::pointer_and_handle<Tensor> t, double v) {
                t.p->fill_(v);
                return nb::borrow(t.h);
            })
        .def("zero_", [](nb::pointer_and_handle<Tensor> t) {
                t.p->zero_();
                return nb::borrow(t.h);
            })
        .def("copy_", [](nb::pointer_and_handle<Tensor> t, const Tensor& src) {
                t.p->copy_(src);
                return nb::borrow(t.h);
            })
        // --- views and shape
        .def("reshape", [](const Tensor& t, nb::args shape) {
                Shape s;
                if (shape.size() == 1 && !PyIndex_Check(shape[0].ptr()))
                    s = nb::cast<Shape>(shape[0]);
                else
                    s = nb::cast<Shape>(shape);
                return t.reshape(s);
            })
        .def("view", [](const Tensor& t, nb::args shape) {
                if (!t.is_contiguous())
                    throw nb::value_error("descent: view() of a non-contiguous tensor; use reshape()");
                Shape s = shape.size() == 1 && !PyIndex_Check(shape[0].ptr())
                              ? nb::cast<Shape>(shape[0]) : nb::cast<Shape>(shape);
                return t.reshape(s);
            })
        .def("t", &Tensor::t)
        .def_prop_ro("T", [](const Tensor& t) {
            std::vector<std::int64_t> dims(static_cast<std::size_t>(t.dim()));
            for (std::int64_t i = 0; i < t.dim(); ++i) dims[static_cast<std::size_t>(i)] = t.dim() - 1 - i;
            return t.permute(dims);
        })
        .def("narrow", &Tensor::narrow, nb::arg("dim"), nb::arg("start"), nb::arg("length"))
        .def("select", &Tensor::select, nb::arg("dim"), nb::arg("index"))
        .def("unsqueeze", &Tensor::unsqueeze, nb::arg("dim"))
        .def("squeeze", [](const Tensor& t, std::optional<std::int64_t> dim) {
                return dim ? t.squeeze(*dim) : t.squeeze();
            }, nb::arg("dim") = nb::none())
        .def("permute", [](const Tensor& t, nb::args dims) {
                std::vector<std::int64_t> d = dims.size() == 1 && !PyIndex_Check(dims[0].ptr())
                    ? nb::cast<std::vector<std::int64_t>>(dims[0])
                    : nb::cast<std::vector<std::int64_t>>(dims);
                return t.permute(d);
            })
        .def("__getitem__", &index_tensor)
        .def("__repr__", &repr)
        .def("__bool__", [](const Tensor& t) {
            if (t.numel() != 1)
                throw nb::value_error("descent: the truth value of a tensor with more than one "
                                      "element is ambiguous");
            return t.item() != 0.0;
        });

    // --- factories (python/descent/__init__.py wraps them with torch's *size forms)
    auto factory = [&](const char* name, Tensor (*make)(const Shape&, DType, Device)) {
        m.def(name, [make](const Shape& shape, std::optional<std::string> dtype,
                           std::optional<std::string> device, bool requires_grad) {
                Tensor t = make(shape, dtype_arg(dtype), device_arg(device));
                if (requires_grad) t.requires_grad_(true);
                return t;
            }, nb::arg("shape"), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
            nb::arg("requires_grad") = false);
    };
    factory("_zeros", [](const Shape& s, DType d, Device v) { return zeros(s, d, v); });
    factory("_ones", [](const Shape& s, DType d, Device v) { return ones(s, d, v); });
    factory("_empty", [](const Shape& s, DType d, Device v) { return empty(s, d, v); });
    m.def("_full", [](const Shape& shape, double value, std::optional<std::string> dtype,
                      std::optional<std::string> device, bool requires_grad) {
            Tensor t = full(shape, value, dtype_arg(dtype), device_arg(device));
            if (requires_grad) t.requires_grad_(true);
            return t;
        }, nb::arg("shape"), nb::arg("fill_value"), nb::arg("dtype") = nb::none(),
        nb::arg("device") = nb::none(), nb::arg("requires_grad") = false);
    m.def("arange", [](double start, std::optional<double> end, double step,
                       std::optional<std::string> dtype, std::optional<std::string> device) {
            return end ? arange(start, *end, step, dtype_arg(dtype), device_arg(device))
                       : arange(0.0, start, step, dtype_arg(dtype), device_arg(device));
        }, nb::arg("start"), nb::arg("end") = nb::none(), nb::arg("step") = 1.0,
        nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
        "numpy.arange: start, start + step, ... while < end (arange(n): 0 .. n-1).");
    m.def("linspace", [](double start, double end, std::int64_t steps,
                         std::optional<std::string> dtype, std::optional<std::string> device) {
            return linspace(start, end, steps, dtype_arg(dtype), device_arg(device));
        }, nb::arg("start"), nb::arg("end"), nb::arg("steps"), nb::arg("dtype") = nb::none(),
        nb::arg("device") = nb::none(),
        "numpy.linspace with endpoint=True: `steps` values from start to end, the last exactly end.");

    // --- devices
    m.def("cuda_available", &cuda_available, "True when a CUDA device can be used.");
    m.def("device_count", &device_count, "The number of usable CUDA devices (0 without a driver).");
    m.def("built_with_cuda", &built_with_cuda, "Whether this build has the CUDA backend.");
    m.def("cuda_unavailable_reason", &cuda_unavailable_reason,
          "Why cuda_available() is False (no CUDA in this build, no device, the backend module "
          "missing); empty when it is True.");
    m.def("set_num_threads", &set_cpu_threads, nb::arg("threads"),
          "Threads of the CPU backend (results do not depend on it).");
    m.def("get_num_threads", &cpu_threads, "Threads of the CPU backend.");
    m.def("synchronize", [](std::optional<std::string> device) {
            nb::gil_scoped_release unlocked;
            synchronize(device_arg(device ? device : std::optional<std::string>("cuda")));
        }, nb::arg("device") = nb::none(),
        "Waits for the work queued on a CUDA device (default cuda:0); a no-op for the cpu.");
}

}  // namespace descent::python
