// Autodiff from Python: backward, grad (torch.autograd.grad), hvp / hessian / jacobian of a
// Python function, gradcheck, and the guards behind descent.no_grad() / enable_grad().
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <memory>

#include "binding.hpp"

namespace descent::python {

namespace {

// A guard object: alive between __enter__ and __exit__ of descent.no_grad / enable_grad.
template <class Guard>
struct GuardHolder {
    std::unique_ptr<Guard> guard;
    void enter() {
        if (guard) throw nb::value_error("descent: this grad-mode guard is already active");
        guard = std::make_unique<Guard>();
    }
    void exit() { guard.reset(); }
};

std::vector<Tensor> as_list(nb::handle h) {
    if (nb::isinstance<Tensor>(h)) return {nb::cast<Tensor>(h)};
    std::vector<Tensor> out;
    for (nb::handle item : h) {
        if (item.is_none()) out.emplace_back();
        else out.push_back(nb::cast<Tensor>(item));
    }
    return out;
}

// A Python callable f(x) -> Tensor as the library's function type (called with the GIL held:
// these entry points never release it).
std::function<Tensor(const Tensor&)> tensor_function(nb::callable f) {
    return [f](const Tensor& x) { return nb::cast<Tensor>(f(x)); };
}

nb::dict gradcheck_dict(const GradcheckResult& r) {
    nb::dict d;
    d["ok"] = r.ok;
    d["max_abs_error"] = r.max_abs_error;
    d["max_rel_error"] = r.max_rel_error;
    d["message"] = r.message;
    return d;
}

}  // namespace

void bind_autograd(nb::module_& m) {
    m.def("backward", [](const Tensor& t, std::optional<Tensor> g, bool retain, bool create) {
            nb::gil_scoped_release unlocked;
            backward(t, g ? *g : Tensor(), retain, create);
        }, nb::arg("tensor"), nb::arg("grad_tensors") = nb::none(),
        nb::arg("retain_graph") = false, nb::arg("create_graph") = false,
        "tensor.backward(grad_tensors, retain_graph, create_graph): gradients into the leaves.");
    m.def("grad", [](nb::handle outputs, nb::handle inputs, nb::handle grad_outputs,
                     std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
            const bool single_input = nb::isinstance<Tensor>(inputs);
            std::vector<Tensor> outs = as_list(outputs), ins = as_list(inputs);
            std::vector<Tensor> gos = grad_outputs.is_none() ? std::vector<Tensor>{}
                                                              : as_list(grad_outputs);
            std::vector<Tensor> result;
            {
                nb::gil_scoped_release unlocked;
                result = grad(outs, ins, gos, create_graph, retain_graph, allow_unused);
            }
            nb::list l;
            for (const Tensor& r : result) l.append(tensor_or_none(r));
            (void)single_input;
            return nb::tuple(l);
        }, nb::arg("outputs"), nb::arg("inputs"), nb::arg("grad_outputs") = nb::none(),
        nb::arg("retain_graph") = nb::none(), nb::arg("create_graph") = false,
        nb::arg("allow_unused") = false,
        "torch.autograd.grad: the gradients of sum <outputs, grad_outputs> with respect to "
        "each input, as a tuple (None for an unused input with allow_unused).");
    m.def("hvp", [](nb::callable f, const Tensor& x, const Tensor& v) {
            return hvp(tensor_function(f), x, v);
        }, nb::arg("func"), nb::arg("x"), nb::arg("v"),
        "H(x) v for a scalar function f, reverse over reverse (returns H v only).");
    m.def("hessian", [](nb::callable f, const Tensor& x) { return hessian(tensor_function(f), x); },
          nb::arg("func"), nb::arg("x"),
          "The Hessian of a scalar f at x, (numel(x), numel(x)).");
    m.def("jacobian", [](nb::callable f, const Tensor& x) { return jacobian(tensor_function(f), x); },
          nb::arg("func"), nb::arg("x"), "The Jacobian of f at x, (numel(f(x)), numel(x)).");
    // torch refuses a check with nothing to check: a forgotten requires_grad would pass.
    auto require_grad_input = [](const std::vector<Tensor>& inputs) {
        for (const Tensor& t : inputs)
            if (t.defined() && t.requires_grad()) return;
        throw nb::value_error("descent: gradcheck expects at least one input that requires grad");
    };
    auto list_function = [](nb::callable f) {
        return [f](const std::vector<Tensor>& xs) {
            nb::list l;
            for (const Tensor& x : xs) l.append(x);
            return nb::cast<Tensor>(f(*nb::tuple(l)));
        };
    };
    m.def("gradcheck", [list_function, require_grad_input](nb::callable f,
                                                           std::vector<Tensor> inputs, double eps,
                                                           double rtol, double atol) {
            require_grad_input(inputs);
            return gradcheck_dict(gradcheck(list_function(f), inputs, {eps, rtol, atol}));
        }, nb::arg("func"), nb::arg("inputs"), nb::arg("eps") = 1e-6, nb::arg("rtol") = 1e-6,
        nb::arg("atol") = 1e-9,
        "Compares the autodiff Jacobian of func(*inputs) (f64 inputs) with central differences.");
    m.def("gradgradcheck", [list_function, require_grad_input](nb::callable f,
                                                               std::vector<Tensor> inputs,
                                                               double eps, double rtol, double atol) {
            require_grad_input(inputs);
            return gradcheck_dict(gradgradcheck(list_function(f), inputs, {eps, rtol, atol}));
        }, nb::arg("func"), nb::arg("inputs"), nb::arg("eps") = 1e-6, nb::arg("rtol") = 1e-6,
        nb::arg("atol") = 1e-9,
        "gradcheck of the autodiff gradient: the second derivatives against central "
        "differences of the first (f64 inputs).");
    m.def("is_grad_enabled", &grad_enabled, "False inside no_grad() (on this thread).");

    nb::class_<GuardHolder<NoGrad>>(m, "_NoGradGuard")
        .def(nb::init<>())
        .def("enter", &GuardHolder<NoGrad>::enter)
        .def("exit", &GuardHolder<NoGrad>::exit);
    nb::class_<GuardHolder<EnableGrad>>(m, "_EnableGradGuard")
        .def(nb::init<>())
        .def("enter", &GuardHolder<EnableGrad>::enter)
        .def("exit", &GuardHolder<EnableGrad>::exit);
}

}  // namespace descent::python
