// The differentiable ops of ops.hpp and loss.hpp as functions and Tensor methods, and
// Python's operators on Tensors (with floats on either side). Each releases the GIL while it
// runs, so other Python threads go on during a large op.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>

#include "binding.hpp"

namespace descent::python {

namespace {

using TT = Tensor (*)(const Tensor&, const Tensor&);
using TS = Tensor (*)(const Tensor&, double);
using T1 = Tensor (*)(const Tensor&);
using Unlocked = nb::call_guard<nb::gil_scoped_release>;

}  // namespace

void bind_ops(nb::module_& m) {
    auto cls = nb::borrow<nb::class_<Tensor>>(m.attr("Tensor"));

    // Binary elementwise (broadcasting), tensor-tensor and tensor-float.
    struct Binary {
        const char* name;
        TT tt;
        TS ts;
        const char* doc;
    };
    const Binary binaries[] = {
        {"add", static_cast<TT>(&add), static_cast<TS>(&add), "input + other, broadcasting as numpy."},
        {"sub", static_cast<TT>(&sub), static_cast<TS>(&sub), "input - other, broadcasting as numpy."},
        {"mul", static_cast<TT>(&mul), static_cast<TS>(&mul), "input * other, broadcasting as numpy."},
        {"div", static_cast<TT>(&div), static_cast<TS>(&div), "input / other, broadcasting as numpy."},
        {"maximum", static_cast<TT>(&maximum), nullptr,
         "The larger of the two, elementwise (the gradient split in half where equal; NaN wins)."},
        {"minimum", static_cast<TT>(&minimum), nullptr,
         "The smaller of the two, elementwise (the gradient split in half where equal; NaN wins)."},
        {"eq", static_cast<TT>(&eq), static_cast<TS>(&eq), "1 where input == other, else 0 (input's dtype; no gradient)."},
        {"ne", static_cast<TT>(&ne), static_cast<TS>(&ne), "1 where input != other, else 0 (input's dtype; no gradient)."},
        {"lt", static_cast<TT>(&lt), static_cast<TS>(&lt), "1 where input < other, else 0 (input's dtype; no gradient)."},
        {"le", static_cast<TT>(&le), static_cast<TS>(&le), "1 where input <= other, else 0 (input's dtype; no gradient)."},
        {"gt", static_cast<TT>(&gt), static_cast<TS>(&gt), "1 where input > other, else 0 (input's dtype; no gradient)."},
        {"ge", static_cast<TT>(&ge), static_cast<TS>(&ge), "1 where input >= other, else 0 (input's dtype; no gradient)."},
    };
    for (const Binary& b : binaries) {
        m.def(b.name, b.tt, nb::arg("input"), nb::arg("other"), Unlocked(), b.doc);
        cls.def(b.name, b.tt, nb::arg("other"), Unlocked(), b.doc);
        if (b.ts) {
            m.def(b.name, b.ts, nb::arg("input"), nb::arg("other"), Unlocked(), b.doc);
            cls.def(b.name, b.ts, nb::arg("other"), Unlocked(), b.doc);
        }
    }
    // Python's operators.
    const std::pair<const char*, const char*> dunders[] = {
        {"__add__", "add"}, {"__sub__", "sub"}, {"__mul__", "mul"}, {"__truediv__", "div"},
        {"__eq__", "eq"},   {"__ne__", "ne"},   {"__lt__", "lt"},   {"__le__", "le"},
        {"__gt__", "gt"},   {"__ge__", "ge"}};
    for (const auto& [dunder, name] : dunders)
        for (const Binary& b : binaries)
            if (std::string(b.name) == name) {
                cls.def(dunder, b.tt, nb::is_operator(), Unlocked());
                cls.def(dunder, b.ts, nb::is_operator(), Unlocked());
            }
    cls.def("__radd__", [](const Tensor& a, double s) { return add(a, s); }, nb::is_operator(), Unlocked())
        .def("__rsub__", [](const Tensor& a, double s) { return rsub(s, a); }, nb::is_operator(), Unlocked())
        .def("__rmul__", [](const Tensor& a, double s) { return mul(a, s); }, nb::is_operator(), Unlocked())
        .def("__rtruediv__", [](const Tensor& a, double s) { return rdiv(s, a); }, nb::is_operator(), Unlocked())
        .def("__neg__", static_cast<T1>(&neg), Unlocked())
        .def("__abs__", static_cast<T1>(&abs), Unlocked())
        .def("__pow__", [](const Tensor& a, double e) { return pow(a, e); }, nb::is_operator(), Unlocked())
        .def("__matmul__", &matmul, nb::is_operator(), Unlocked())
        // __eq__ returns a mask, so tensors hash by identity, as torch's.
        .def("__hash__", [](nb::handle self) { return reinterpret_cast<std::intptr_t>(self.ptr()); });
    // numpy must not take over `np.float64(2) * t` or `t * array` (it would detach the tensor
    // through __array__): numpy defers to Tensor's operators, as it does for torch.
    cls.attr("__array_ufunc__") = nb::none();
    cls.attr("__array_priority__") = 1000;
    // In-place arithmetic, torch's: the result written back into the tensor (never recorded:
    // refused on a tensor that requires grad while grad mode is on, as copy_), the same object.
    struct InPlace {
        const char* name;
        const char* dunder;
        TT tt;
        TS ts;
    };
    const InPlace in_place[] = {
        {"add_", "__iadd__", static_cast<TT>(&add), static_cast<TS>(&add)},
        {"sub_", "__isub__", static_cast<TT>(&sub), static_cast<TS>(&sub)},
        {"mul_", "__imul__", static_cast<TT>(&mul), static_cast<TS>(&mul)},
        {"div_", "__itruediv__", static_cast<TT>(&div), static_cast<TS>(&div)}};
    for (const InPlace& op : in_place) {
        auto tensor_form = [f = op.tt](nb::pointer_and_handle<Tensor> self, const Tensor& other) {
            {
                nb::gil_scoped_release unlocked;
                Tensor r;
                {
                    NoGrad no_graph;  // the value only; copy_ refuses what torch refuses
                    r = f(*self.p, other);
                }
                self.p->copy_(r);
            }
            return nb::borrow(self.h);
        };
        auto scalar_form = [f = op.ts](nb::pointer_and_handle<Tensor> self, double other) {
            {
                nb::gil_scoped_release unlocked;
                Tensor r;
                {
                    NoGrad no_graph;
                    r = f(*self.p, other);
                }
                self.p->copy_(r);
            }
            return nb::borrow(self.h);
        };
        cls.def(op.name, tensor_form, nb::arg("other"));
        cls.def(op.name, scalar_form, nb::arg("other"));
        cls.def(op.dunder, tensor_form, nb::is_operator());
        cls.def(op.dunder, scalar_form, nb::is_operator());
    }
    cls.def("__rpow__", [](const Tensor& a, double base) {
                if (!(base > 0)) throw Error("base ** tensor: the base must be > 0, got " + std::to_string(base));
                return exp(mul(a, std::log(base)));
            },
            nb::is_operator(), Unlocked());
    m.def("rsub", [](double s, const Tensor& a) { return rsub(s, a); }, nb::arg("scalar"),
          nb::arg("input"), Unlocked(), "scalar - input.");
    m.def("rdiv", [](double s, const Tensor& a) { return rdiv(s, a); }, nb::arg("scalar"),
          nb::arg("input"), Unlocked(), "scalar / input.");

    // Unary elementwise.
    const std::tuple<const char*, T1, const char*> unaries[] = {
        {"neg", &neg, "-input."},
        {"square", &square, "input * input."},
        {"sqrt", &sqrt, "The square root, elementwise."},
        {"exp", &exp, "e ** input, elementwise."},
        {"log", &log, "The natural logarithm, elementwise."},
        {"tanh", &tanh, "The hyperbolic tangent, elementwise."},
        {"sigmoid", &sigmoid, "1 / (1 + exp(-input)), elementwise, without overflow."},
        {"relu", &relu, "max(input, 0), elementwise (gradient 0 at 0, as torch)."},
        {"abs", &abs, "|input|, elementwise (gradient 0 at 0, as torch)."},
        {"log1p", &log1p, "log(1 + input), accurate for small input."},
        {"contiguous", &contiguous, "input itself when contiguous, else a dense row-major copy."},
        {"transpose", &transpose, "The two axes of a matrix swapped (a view); rank 0 or 1 as it is."}};
    for (const auto& [name, f, doc] : unaries) {
        m.def(name, f, nb::arg("input"), Unlocked(), doc);
        if (std::string(name) != "contiguous") cls.def(name, f, Unlocked(), doc);
    }
    m.def("pow", [](const Tensor& a, double e) { return pow(a, e); }, nb::arg("input"),
          nb::arg("exponent"), Unlocked(), "input ** exponent, elementwise (a float exponent).");
    cls.def("pow", [](const Tensor& a, double e) { return pow(a, e); }, nb::arg("exponent"), Unlocked());
    auto clamp_fn = [](const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
        return clamp(a, lo, hi);
    };
    m.def("clamp", clamp_fn, nb::arg("input"), nb::arg("min") = nb::none(),
          nb::arg("max") = nb::none(), Unlocked(),
          "input limited to [min, max] (either bound may be None, not both; min > max gives max).");
    cls.def("clamp", clamp_fn, nb::arg("min") = nb::none(), nb::arg("max") = nb::none(), Unlocked());
    m.def("clamp_min", &clamp_min, nb::arg("input"), nb::arg("min"), Unlocked(),
          "max(input, min), elementwise.");
    m.def("clamp_max", &clamp_max, nb::arg("input"), nb::arg("max"), Unlocked(),
          "min(input, max), elementwise.");
    m.def("where", &where, nb::arg("condition"), nb::arg("input"), nb::arg("other"), Unlocked(),
          "input where condition is nonzero, else other (condition: a mask of input's dtype); "
          "the unchosen side never leaks an inf or NaN into the gradient.");

    // Linear algebra and shape.
    m.def("matmul", &matmul, nb::arg("input"), nb::arg("other"), Unlocked(),
          "Matrix product: (m,k)@(k,n), (m,k)@(k), (k)@(k,n), (k)@(k) as torch.matmul.");
    cls.def("matmul", &matmul, nb::arg("other"), Unlocked());
    m.def("linear", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
            return linear(x, w, b ? *b : Tensor());
        }, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(), Unlocked(),
        "input @ weight.T + bias (torch.nn.functional.linear), one op.");
    m.def("reshape", [](const Tensor& a, const Shape& s) { return reshape(a, s); },
          nb::arg("input"), nb::arg("shape"), Unlocked(),
          "The same elements in a new shape (one entry may be -1): a view of a contiguous "
          "tensor, else a copy.");
    m.def("narrow", [](const Tensor& a, std::int64_t d, std::int64_t s, std::int64_t l) {
            return narrow(a, d, s, l);
        }, nb::arg("input"), nb::arg("dim"), nb::arg("start"), nb::arg("length"), Unlocked(),
        "Elements [start, start + length) along dim: a view.");
    m.def("select", [](const Tensor& a, std::int64_t d, std::int64_t i) { return select(a, d, i); },
          nb::arg("input"), nb::arg("dim"), nb::arg("index"), Unlocked(),
          "Index `index` along dim, which is removed: a view.");
    m.def("unsqueeze", [](const Tensor& a, std::int64_t d) { return unsqueeze(a, d); },
          nb::arg("input"), nb::arg("dim"), Unlocked(), "A new dimension of size 1 at dim: a view.");
    m.def("squeeze", [](const Tensor& a, std::optional<std::int64_t> d) {
            return d ? squeeze(a, *d) : squeeze(a);
        }, nb::arg("input"), nb::arg("dim") = nb::none(), Unlocked(),
        "Without the dimensions of size 1 (or just dim, when it has size 1): a view.");
    m.def("permute", [](const Tensor& a, const std::vector<std::int64_t>& d) { return permute(a, d); },
          nb::arg("input"), nb::arg("dims"), Unlocked(),
          "The dimensions reordered: output dimension i is input dimension dims[i] (a view).");
    m.def("cat", &concat, nb::arg("tensors"), nb::arg("dim") = 0, Unlocked(),
          "Tensors joined along dim (torch.cat): a new tensor.");
    m.def("concat", &concat, nb::arg("tensors"), nb::arg("dim") = 0, Unlocked(),
          "Tensors joined along dim (torch.cat): a new tensor.");
    m.def("stack", &stack, nb::arg("tensors"), nb::arg("dim") = 0, Unlocked(),
          "Tensors of one shape stacked along a new dimension dim.");
    m.def("broadcast_to", &broadcast_to, nb::arg("input"), nb::arg("shape"), Unlocked(),
          "input repeated along its broadcast dimensions to reach shape (numpy's rules).");
    m.def("sum_to", &sum_to, nb::arg("input"), nb::arg("shape"), Unlocked(),
          "input summed down to shape: the adjoint of broadcast_to.");
    cls.def("expand", [](const Tensor& a, const Shape& s) { return broadcast_to(a, s); }, Unlocked());

    // Reductions: over everything, or along `dim` (torch's names).
    using Along = Tensor (*)(const Tensor&, std::int64_t, bool);
    const std::tuple<const char*, T1, Along, const char*> reductions[] = {
        {"sum", static_cast<T1>(&sum), static_cast<Along>(&sum),
         "The sum of all elements, or along dim (keepdim keeps it with size 1); fixed-order, "
         "bitwise the same for any thread count."},
        {"mean", static_cast<T1>(&mean), static_cast<Along>(&mean),
         "The mean of all elements, or along dim."},
        {"max", static_cast<T1>(&max), static_cast<Along>(&max),
         "The largest element, or the largest along dim (max(input, other): elementwise)."},
        {"min", static_cast<T1>(&min), static_cast<Along>(&min),
         "The smallest element, or the smallest along dim (min(input, other): elementwise)."},
        {"argmax", static_cast<T1>(&argmax), static_cast<Along>(&argmax),
         "The position of the first largest element (flattened, or along dim), as a number of "
         "input's dtype."},
        {"argmin", static_cast<T1>(&argmin), static_cast<Along>(&argmin),
         "The position of the first smallest element (flattened, or along dim), as a number "
         "of input's dtype."}};
    for (const auto& [name, all, along, doc] : reductions) {
        auto f = [all = all, along = along](const Tensor& a, std::optional<std::int64_t> dim,
                                            bool keepdim) {
            return dim ? along(a, *dim, keepdim) : all(a);
        };
        m.def(name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
              Unlocked(), doc);
        cls.def(name, f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, Unlocked(), doc);
    }
    m.def("max", static_cast<TT>(&max), nb::arg("input"), nb::arg("other"), Unlocked(),
          "The larger of the two, elementwise (torch.max(input, other)).");
    m.def("min", static_cast<TT>(&min), nb::arg("input"), nb::arg("other"), Unlocked(),
          "The smaller of the two, elementwise (torch.min(input, other)).");
    const char* lse_doc = "log(sum(exp(input), dim)) without overflow (accurate at |input| = 1e4).";
    m.def("logsumexp", &logsumexp, nb::arg("input"), nb::arg("dim"), nb::arg("keepdim") = false,
          Unlocked(), lse_doc);
    cls.def("logsumexp", &logsumexp, nb::arg("dim"), nb::arg("keepdim") = false, Unlocked(), lse_doc);
    const char* softmax_doc = "exp(input) normalised along dim, from input - max: no overflow.";
    const char* log_softmax_doc = "log(softmax(input, dim)), computed stably.";
    m.def("softmax", &softmax, nb::arg("input"), nb::arg("dim"), Unlocked(), softmax_doc);
    m.def("log_softmax", &log_softmax, nb::arg("input"), nb::arg("dim"), Unlocked(), log_softmax_doc);
    cls.def("softmax", &softmax, nb::arg("dim"), Unlocked(), softmax_doc);
    cls.def("log_softmax", &log_softmax, nb::arg("dim"), Unlocked(), log_softmax_doc);
    m.def("index_select", &index_select, nb::arg("input"), nb::arg("dim"), nb::arg("index"),
          Unlocked(),
          "The slices of input at index (integers held in input's dtype) along dim; repeats "
          "allowed; the backward adds back in a fixed order.");
    m.def("dropout", &dropout, nb::arg("input"), nb::arg("p"), nb::arg("seed"),
          nb::arg("offset") = 0, Unlocked(),
          "torch's dropout in training, with a counter-based mask: the same for (seed, "
          "offset) on every device.");
    m.def("dropout_mask", &dropout_mask, nb::arg("input"), nb::arg("p"), nb::arg("seed"),
          nb::arg("offset") = 0, Unlocked(),
          "dropout's mask alone: 1 / (1 - p) where kept, 0 where dropped.");

    // Losses (mean over rows, torch's reduction='mean').
    m.def("mse_loss", &mse_loss, nb::arg("input"), nb::arg("target"), Unlocked(),
          "mean((input - target) ** 2).");
    m.def("binary_cross_entropy_with_logits", &binary_cross_entropy_with_logits,
          nb::arg("input"), nb::arg("target"), Unlocked(),
          "mean(max(x, 0) - x y + log1p(exp(-|x|))): torch's stable logistic loss of logits x.");
    m.def("cross_entropy", &cross_entropy, nb::arg("input"), nb::arg("target"), Unlocked(),
          "Softmax cross-entropy of logits (n, k) against class indices (n) held as numbers "
          "of the logits' dtype.");
}

}  // namespace descent::python
