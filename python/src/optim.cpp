// The optimizers, constructed with torch.optim's keyword arguments (SGD, Adam, AdamW,
// Adagrad, RMSprop, LBFGS) and descent's curvature methods (Newton, NewtonCG), plus
// make_optimizer, the factory the CLI uses (blog or torch presets). They update the Python
// tensors in place: a Tensor object and the optimizer's parameter are one tensor.
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "binding.hpp"

namespace descent::python {

namespace {

using optim::Optimizer;

std::vector<Tensor> params_arg(nb::handle params) {
    std::vector<Tensor> out;
    for (nb::handle p : params) {
        if (!nb::isinstance<Tensor>(p))
            throw nb::type_error("descent: an optimizer's params are Tensors (an iterable of them)");
        out.push_back(nb::cast<Tensor>(p));
    }
    return out;
}

std::pair<double, double> betas_arg(nb::handle betas) {
    auto t = nb::cast<std::vector<double>>(betas);
    if (t.size() != 2) throw nb::value_error("descent: betas is a pair (beta1, beta2)");
    return {t[0], t[1]};
}

nb::dict state_dict(const Optimizer& o) {
    const optim::OptimizerState s = o.state();
    nb::list params;
    for (const auto& p : s.params) {
        nb::dict d;
        d["step"] = p.step;
        nb::dict buffers;
        for (const auto& [name, t] : p.buffers) buffers[name.c_str()] = t;
        d["buffers"] = buffers;
        params.append(d);
    }
    nb::dict d;
    d["optimizer"] = s.optimizer;
    d["params"] = params;
    return d;
}

void load_state_dict(Optimizer& o, nb::dict d) {
    optim::OptimizerState s;
    s.optimizer = text_arg(d["optimizer"], "optimizer");
    for (nb::handle p : d["params"]) {
        optim::ParamState ps;
        ps.step = nb::cast<std::int64_t>(p["step"]);
        for (auto [k, v] : nb::cast<nb::dict>(p["buffers"]))
            ps.buffers[text_arg(k, "a buffer name")] = nb::cast<Tensor>(v);
        s.params.push_back(std::move(ps));
    }
    o.load_state(s);
}

// The Python callables an optimizer calls (NewtonCG's hvp, Newton's Hessian) are kept in the
// Python object's __dict__ (the classes have dynamic attributes), so a callable that refers
// back to its optimizer makes a cycle the garbage collector sees and frees. The C++ side keeps
// a borrowed pointer to that Python object: it owns the optimizer, so it outlives it.
constexpr const char* kHvpAttr = "_hvp_callable";
constexpr const char* kHessianAttr = "_hessian_callable";

optim::HvpFn stored_hvp(nb::handle owner, nb::callable f) {
    nb::setattr(owner, kHvpAttr, f);
    PyObject* self = owner.ptr();
    return [self](const Tensor& v) {
        nb::gil_scoped_acquire gil;
        return nb::cast<Tensor>(nb::handle(self).attr(kHvpAttr)(v));
    };
}

}  // namespace

void bind_optim(nb::module_& m) {
    nb::class_<Optimizer>(m, "Optimizer",
        "Base class: step(closure=None), zero_grad(), lr, state_dict() / load_state_dict().",
        nb::dynamic_attr(), nb::is_weak_referenceable())
        .def("step", [](Optimizer& o, std::optional<nb::callable> closure) -> nb::object {
                if (!closure) {
                    nb::gil_scoped_release unlocked;
                    o.step();
                    return nb::none();
                }
                nb::callable c = *closure;
                const Tensor& first = o.params().front();
                return nb::cast(o.step([c, &first]() {
                    nb::gil_scoped_acquire gil;
                    nb::object loss = c();
                    if (nb::isinstance<Tensor>(loss)) return nb::cast<Tensor>(loss);
                    // torch lets a closure return a number (loss.item()).
                    if (PyFloat_Check(loss.ptr()) || PyLong_Check(loss.ptr()))
                        return scalar(nb::cast<double>(loss), first.dtype(), first.device());
                    throw nb::type_error("descent: the closure must return the loss (a Tensor or "
                                         "a number) after calling backward()");
                }));
            }, nb::arg("closure") = nb::none(),
            "One update. With a closure (which recomputes the loss, calls backward() and "
            "returns the loss) as torch.optim: LBFGS and NewtonCG need one.")
        .def("zero_grad", &Optimizer::zero_grad)
        .def_prop_ro("name", &Optimizer::name)
        .def_prop_ro("params", &Optimizer::params)
        .def_prop_ro("needs_closure", &Optimizer::needs_closure)
        .def("step_count", &Optimizer::step_count)
        .def_prop_rw("lr", &Optimizer::lr, &Optimizer::set_lr,
                     "The learning rate (what a schedule changes); ValueError without one.")
        .def("set_hessian", &Optimizer::set_hessian, nb::arg("hessian"))
        .def("set_hvp", [](nb::pointer_and_handle<Optimizer> self, nb::callable f) {
                self.p->set_hvp(stored_hvp(self.h, f));
            },
             nb::arg("hvp"), "NewtonCG: v -> H v at the current parameters (e.g. descent.hvp).")
        .def("state_dict", &state_dict)
        .def("load_state_dict", &load_state_dict, nb::arg("state"))
        .def("__repr__", [](const Optimizer& o) { return "<descent optimizer " + o.name() + ">"; });

    nb::class_<optim::Sgd, Optimizer>(m, "SGD",
        "torch.optim.SGD: gradient descent with optional momentum (heavy ball or Nesterov).")
        .def("__init__", [](optim::Sgd* self, nb::handle params, double lr, double momentum,
                            double dampening, double weight_decay, bool nesterov) {
                new (self) optim::Sgd(params_arg(params),
                                      {lr, momentum, dampening, weight_decay, nesterov});
            }, nb::arg("params"), nb::arg("lr") = 0.01, nb::arg("momentum") = 0.0,
            nb::arg("dampening") = 0.0, nb::arg("weight_decay") = 0.0, nb::arg("nesterov") = false);

    // AdamW (python/descent/optim.py) is this class with decoupled_weight_decay, as in torch.
    nb::class_<optim::Adam, Optimizer>(m, "Adam", "torch.optim.Adam (and AdamW's base).")
        .def("__init__", [](optim::Adam* self, nb::handle params, double lr, nb::handle betas,
                            double eps, double weight_decay, bool amsgrad,
                            bool decoupled_weight_decay) {
                optim::AdamOptions o;
                o.lr = lr;
                std::tie(o.beta1, o.beta2) = betas_arg(betas);
                o.eps = eps;
                o.weight_decay = weight_decay;
                o.amsgrad = amsgrad;
                o.decoupled_weight_decay = decoupled_weight_decay;
                new (self) optim::Adam(params_arg(params), o);
            }, nb::arg("params"), nb::arg("lr") = 1e-3,
            nb::arg("betas") = nb::make_tuple(0.9, 0.999), nb::arg("eps") = 1e-8,
            nb::arg("weight_decay") = 0.0, nb::arg("amsgrad") = false,
            nb::arg("decoupled_weight_decay") = false);

    nb::class_<optim::Adagrad, Optimizer>(m, "Adagrad",
        "torch.optim.Adagrad: steps scaled by the root of the summed squared gradients.")
        .def("__init__", [](optim::Adagrad* self, nb::handle params, double lr, double lr_decay,
                            double weight_decay, double initial_accumulator_value, double eps) {
                optim::AdagradOptions o;
                o.lr = lr;
                o.lr_decay = lr_decay;
                o.weight_decay = weight_decay;
                o.initial_accumulator_value = initial_accumulator_value;
                o.eps = eps;
                new (self) optim::Adagrad(params_arg(params), o);
            }, nb::arg("params"), nb::arg("lr") = 1e-2, nb::arg("lr_decay") = 0.0,
            nb::arg("weight_decay") = 0.0, nb::arg("initial_accumulator_value") = 0.0,
            nb::arg("eps") = 1e-10);

    nb::class_<optim::RmsProp, Optimizer>(m, "RMSprop",
        "torch.optim.RMSprop: steps scaled by a running root mean square of the gradients.")
        .def("__init__", [](optim::RmsProp* self, nb::handle params, double lr, double alpha,
                            double eps, double weight_decay, double momentum, bool centered) {
                optim::RmsPropOptions o;
                o.lr = lr;
                o.alpha = alpha;
                o.eps = eps;
                o.weight_decay = weight_decay;
                o.momentum = momentum;
                o.centered = centered;
                new (self) optim::RmsProp(params_arg(params), o);
            }, nb::arg("params"), nb::arg("lr") = 1e-2, nb::arg("alpha") = 0.99,
            nb::arg("eps") = 1e-8, nb::arg("weight_decay") = 0.0, nb::arg("momentum") = 0.0,
            nb::arg("centered") = false);

    nb::class_<optim::Lbfgs, Optimizer>(m, "LBFGS",
        "torch.optim.LBFGS (one parameter tensor): step(closure) runs up to max_iter "
        "iterations; line_search_fn None or 'strong_wolfe'.")
        .def("__init__", [](optim::Lbfgs* self, nb::handle params, double lr,
                            std::int64_t max_iter, std::optional<std::int64_t> max_eval,
                            double tolerance_grad, double tolerance_change,
                            std::int64_t history_size, std::optional<std::string> line_search_fn) {
                optim::LbfgsOptions o;
                o.lr = lr;
                o.max_iter = max_iter;
                o.max_eval = max_eval;
                o.tolerance_grad = tolerance_grad;
                o.tolerance_change = tolerance_change;
                o.history_size = history_size;
                o.line_search = line_search_fn ? optim::parse_line_search(*line_search_fn)
                                               : optim::LineSearch::none;
                new (self) optim::Lbfgs(params_arg(params), o);
            }, nb::arg("params"), nb::arg("lr") = 1.0, nb::arg("max_iter") = 20,
            nb::arg("max_eval") = nb::none(), nb::arg("tolerance_grad") = 1e-7,
            nb::arg("tolerance_change") = 1e-9, nb::arg("history_size") = 100,
            nb::arg("line_search_fn") = nb::none());

    nb::class_<optim::Newton, Optimizer>(m, "Newton",
        "w -= lr (H + damping I)^-1 g (Cholesky); the Hessian from set_hessian() or a "
        "callable returning it.")
        .def("__init__", [](nb::pointer_and_handle<optim::Newton> self, nb::handle params,
                            double lr, double damping, std::optional<nb::callable> hessian) {
                optim::Newton::HessianFn fn;
                if (hessian) {
                    nb::setattr(self.h, kHessianAttr, *hessian);
                    PyObject* owner = self.h.ptr();
                    fn = [owner]() {
                        nb::gil_scoped_acquire gil;
                        return nb::cast<Tensor>(nb::handle(owner).attr(kHessianAttr)());
                    };
                }
                new (self.p) optim::Newton(params_arg(params), {lr, damping}, fn);
            }, nb::arg("params"), nb::arg("lr") = 1.0, nb::arg("damping") = 0.0,
            nb::arg("hessian") = nb::none());

    nb::class_<optim::NewtonCG, Optimizer>(m, "NewtonCG",
        "scipy's Newton-CG, one outer iteration per step(closure); Hessian-vector products "
        "from `hvp` (v -> H v), e.g. lambda v: descent.hvp(loss_fn, w, v).")
        .def("__init__", [](nb::pointer_and_handle<optim::NewtonCG> self, nb::handle params,
                            std::optional<nb::callable> hvp, double xtol,
                            std::optional<std::int64_t> cg_max_iter, double cg_tol) {
                optim::NewtonCgOptions o;
                o.xtol = xtol;
                o.cg_max_iter = cg_max_iter;
                o.cg_tol = cg_tol;
                new (self.p) optim::NewtonCG(params_arg(params), o,
                                             hvp ? stored_hvp(self.h, *hvp) : optim::HvpFn());
            }, nb::arg("params"), nb::arg("hvp") = nb::none(), nb::arg("xtol") = 1e-5,
            nb::arg("cg_max_iter") = nb::none(), nb::arg("cg_tol") = 0.5)
        .def_prop_ro("status", [](const optim::NewtonCG& o) {
            return std::string(optim::newton_cg_status_text(o.status()));
        });

    m.def("make_optimizer", [](const std::string& name, nb::handle params,
                               const std::string& preset, nb::kwargs options) {
            optim::OptimizerConfig c;
            c.name = name;
            c.preset = optim::parse_preset(preset);
            for (auto item : options) {
                const std::string k = nb::str(item.first).c_str();
                const nb::handle value = item.second;
                auto real = [&](std::optional<double>& slot) { slot = nb::cast<double>(value); };
                auto flag = [&](std::optional<bool>& slot) { slot = nb::cast<bool>(value); };
                auto count = [&](std::optional<std::int64_t>& slot) {
                    slot = nb::cast<std::int64_t>(value);
                };
                if (k == "betas") {  // torch's name for (beta1, beta2)
                    std::tie(c.beta1, c.beta2) = betas_arg(value);
                } else if (k == "line_search_fn") {  // torch.optim.LBFGS's name
                    if (!value.is_none()) c.line_search = text_arg(value, "line_search_fn");
                } else if (k == "lr") real(c.lr);
                else if (k == "momentum") real(c.momentum);
                else if (k == "dampening") real(c.dampening);
                else if (k == "alpha") real(c.alpha);
                else if (k == "beta1") real(c.beta1);
                else if (k == "beta2") real(c.beta2);
                else if (k == "eps") real(c.eps);
                else if (k == "weight_decay") real(c.weight_decay);
                else if (k == "damping") real(c.damping);
                else if (k == "lr_decay") real(c.lr_decay);
                else if (k == "initial_accumulator_value") real(c.initial_accumulator_value);
                else if (k == "nesterov") flag(c.nesterov);
                else if (k == "centered") flag(c.centered);
                else if (k == "amsgrad") flag(c.amsgrad);
                else if (k == "cg_max_iter") count(c.cg_max_iter);
                else if (k == "cg_tol") real(c.cg_tol);
                else if (k == "xtol") real(c.xtol);
                else if (k == "max_iter") count(c.max_iter);
                else if (k == "max_eval") count(c.max_eval);
                else if (k == "history_size") count(c.history_size);
                else if (k == "line_search") c.line_search = text_arg(value, "line_search");
                else if (k == "tolerance_grad") real(c.tolerance_grad);
                else if (k == "tolerance_change") real(c.tolerance_change);
                else throw nb::type_error(("descent: make_optimizer() got an unexpected option '" +
                                           k + "'").c_str());
            }
            return optim::make_optimizer(c, params_arg(params));
        }, nb::arg("name"), nb::arg("params"), nb::arg("preset") = "torch", nb::arg("options"),
        "The optimizer `name` (gd, newton, momentum, adagrad, rmsprop, adam, adamw, "
        "newton-cg, lbfgs) with the blog's or torch's defaults, options overriding them (an "
        "option that does not apply is an error), as descent train --optimizer.");
    m.def("optimizer_names", &optim::optimizer_names,
          "The names make_optimizer accepts, in the blog's order, then newton-cg and lbfgs.");
}

}  // namespace descent::python
