// Second-order autodiff: descent::grad (torch.autograd.grad semantics), backward with
// create_graph, hvp/hessian/jacobian, third derivatives, the clean errors of issue 12 item 6,
// and that graphs built with create_graph are freed when the last handle dies (no reference
// cycle through a saved output). Expected values are derived by hand in each test; the
// references from torch are in test_hessian_torch.cpp, finite differences in
// test_gradgradcheck.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "descent/descent.hpp"
#include "error_of.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {
Tensor vec(std::vector<double> v) { return from_vector(v, {std::int64_t(v.size())}, DType::f64); }
Tensor scalar64(double v) { return scalar(v, DType::f64); }
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST_CASE("grad returns one gradient per input and leaves grad() alone", "[functional]") {
    Tensor x = vec({1, 2, 3}).requires_grad_();
    Tensor w = vec({4, 5, 6}).requires_grad_();
    const Tensor y = sum(x * w);
    const std::vector<Tensor> g = grad({y}, {x, w});
    REQUIRE(g.size() == 2);
    CHECK(values(g[0]) == std::vector<double>{4, 5, 6});
    CHECK(values(g[1]) == std::vector<double>{1, 2, 3});
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(w.grad().defined());
    CHECK_FALSE(g[0].requires_grad());  // no create_graph: values only
}

TEST_CASE("grad sums over several outputs with their grad_outputs", "[functional]") {
    Tensor x = vec({1, 2}).requires_grad_();
    const Tensor a = x * 3.0;     // d<a, u>/dx = 3u
    const Tensor b = square(x);   // d<b, v>/dx = 2 x v
    const std::vector<Tensor> g = grad({a, b}, {x}, {vec({1, 10}), vec({100, 1000})});
    CHECK(values(g[0]) == std::vector<double>{3 + 200, 30 + 4000});
}

TEST_CASE("grad with respect to an intermediate tensor", "[functional]") {
    Tensor x = vec({1, 2}).requires_grad_();
    const Tensor h = x * 2.0;
    const Tensor y = sum(square(h));  // dy/dh = 2h = 4x
    const std::vector<Tensor> g = grad({y}, {h, x});
    CHECK(values(g[0]) == std::vector<double>{4, 8});
    CHECK(values(g[1]) == std::vector<double>{8, 16});
}

TEST_CASE("grad's results are fresh buffers, never the caller's grad_outputs", "[functional]") {
    Tensor x = vec({1, 2}).requires_grad_();
    const Tensor v = vec({7, 8});
    const Tensor g = grad({x + 1.0}, {x}, {v})[0];
    CHECK(values(g) == std::vector<double>{7, 8});
    CHECK(g.data_ptr() != v.data_ptr());
}

TEST_CASE("third order: x^3 differentiated three times is 6", "[functional]") {
    Tensor x = scalar64(2.0).requires_grad_();
    const Tensor y = pow(x, 3.0);
    const Tensor d1 = grad({y}, {x}, {}, true)[0];  // 3x^2 = 12
    const Tensor d2 = grad({d1}, {x}, {}, true)[0];  // 6x = 12
    const Tensor d3 = grad({d2}, {x}, {}, true)[0];  // 6
    CHECK(d1.item() == 12.0);
    CHECK(d2.item() == 12.0);
    CHECK(d3.item() == 6.0);
    // and through products (x * x * x): the same derivatives from mul's rules
    const Tensor z = x * x * x;
    const Tensor e1 = grad({z}, {x}, {}, true)[0];
    const Tensor e2 = grad({e1}, {x}, {}, true)[0];
    const Tensor e3 = grad({e2}, {x}, {}, true)[0];
    CHECK(e1.item() == 12.0);
    CHECK(e2.item() == 12.0);
    CHECK(e3.item() == 6.0);
}

TEST_CASE("second derivatives through saved outputs (exp, sqrt, tanh, sigmoid)", "[functional]") {
    const double x0 = 0.7;
    Tensor x = scalar64(x0).requires_grad_();
    const auto second = [&](const Tensor& y) {
        const Tensor d1 = grad({y}, {x}, {}, true)[0];
        return grad({d1}, {x})[0].item();
    };
    CHECK(second(exp(x)) == Approx(std::exp(x0)).epsilon(1e-14));
    CHECK(second(sqrt(x)) == Approx(-0.25 * std::pow(x0, -1.5)).epsilon(1e-14));
    const double t = std::tanh(x0);
    CHECK(second(tanh(x)) == Approx(-2.0 * t * (1 - t * t)).epsilon(1e-14));
    const double s = 1.0 / (1.0 + std::exp(-x0));
    CHECK(second(sigmoid(x)) == Approx(s * (1 - s) * (1 - 2 * s)).epsilon(1e-14));
}

TEST_CASE("backward with create_graph gives a grad() that can be differentiated", "[functional]") {
    Tensor x = vec({1, 2}).requires_grad_();
    sum(pow(x, 3.0)).backward(Tensor(), false, true);  // grad = 3x^2, with its graph
    const Tensor g = x.grad();
    REQUIRE(g.requires_grad());
    CHECK(values(g) == std::vector<double>{3, 12});
    x.set_grad(Tensor());  // break the cycle x -> grad -> graph -> x before going on
    sum(g).backward();  // d/dx sum(3x^2) = 6x
    CHECK(values(x.grad()) == std::vector<double>{6, 12});
}

TEST_CASE("hvp, hessian and jacobian of small functions", "[functional]") {
    // f(x) = x0^2 x1 + x1^3: H = [[2 x1, 2 x0], [2 x0, 6 x1]]
    const auto f = [](const Tensor& x) {
        const Tensor sel0 = from_vector(std::vector<double>{1, 0}, {2}, DType::f64);
        const Tensor sel1 = from_vector(std::vector<double>{0, 1}, {2}, DType::f64);
        const Tensor x0 = sum(x * sel0), x1 = sum(x * sel1);
        return square(x0) * x1 + pow(x1, 3.0);
    };
    const Tensor x = vec({3, 2});
    CHECK(values(hessian(f, x)) == std::vector<double>{4, 6, 6, 12});
    CHECK(hessian(f, x).shape() == Shape{2, 2});
    CHECK(values(hvp(f, x, vec({1, -1}))) == std::vector<double>{4 - 6, 6 - 12});
    CHECK_FALSE(x.requires_grad());
    CHECK_FALSE(x.grad().defined());

    // jacobian of g(x) = (x0 x1, x0 + x1, x1^2): (3, 2)
    const auto g = [](const Tensor& x) {
        const Tensor m = from_vector(std::vector<double>{1, 0, 0, 1}, {2, 2}, DType::f64);
        (void)m;
        const Tensor x0 = sum(x * from_vector(std::vector<double>{1, 0}, {2}, DType::f64));
        const Tensor x1 = sum(x * from_vector(std::vector<double>{0, 1}, {2}, DType::f64));
        const Tensor e0 = from_vector(std::vector<double>{1, 0, 0}, {3}, DType::f64);
        const Tensor e1 = from_vector(std::vector<double>{0, 1, 0}, {3}, DType::f64);
        const Tensor e2 = from_vector(std::vector<double>{0, 0, 1}, {3}, DType::f64);
        return e0 * (x0 * x1) + e1 * (x0 + x1) + e2 * square(x1);
    };
    const Tensor j = jacobian(g, x);
    CHECK(j.shape() == Shape{3, 2});
    CHECK(values(j) == std::vector<double>{2, 3, 1, 1, 0, 4});
}

TEST_CASE("a linear function has a zero Hessian, not an error", "[functional]") {
    const auto f = [](const Tensor& x) { return sum(x * 3.0); };
    CHECK(values(hessian(f, vec({1, 2}))) == std::vector<double>{0, 0, 0, 0});
    CHECK(values(hvp(f, vec({1, 2}), vec({1, 1}))) == std::vector<double>{0, 0});
}

TEST_CASE("hvp and hessian work in f32 too", "[functional]") {
    const auto f = [](const Tensor& x) { return sum(pow(x, 3.0)); };  // H = diag(6x)
    const Tensor x = from_vector(std::vector<float>{1, 2}, {2}, DType::f32);
    const Tensor h = hessian(f, x);
    CHECK(h.dtype() == DType::f32);
    CHECK(h.to_vector<float>() == std::vector<float>{6, 0, 0, 12});
}

TEST_CASE("clean errors: scalars, shapes, unused inputs, freed graphs", "[functional]") {
    const auto vector_f = [](const Tensor& x) { return x * 2.0; };
    CHECK_THAT(error_of([&] { hvp(vector_f, vec({1, 2}), vec({1, 1})); }),
               Contains("hvp: f must return a scalar (one element), got shape (2,)"));
    CHECK_THAT(error_of([&] { hessian(vector_f, vec({1, 2})); }),
               Contains("hessian: f must return a scalar"));
    const auto f = [](const Tensor& x) { return sum(square(x)); };
    CHECK_THAT(error_of([&] { hvp(f, vec({1, 2}), vec({1, 2, 3})); }),
               Contains("hvp: v (3,) f64 cpu must have x's shape, dtype and device (2,) f64 cpu"));

    Tensor a = vec({1}).requires_grad_();
    Tensor b = vec({2}).requires_grad_();
    const Tensor y = sum(a * 2.0);
    CHECK_THAT(error_of([&] { grad({y}, {a, b}); }),
               Contains("grad: input 1 (1,) f64 cpu was not used to compute the outputs"));
    const std::vector<Tensor> g = grad({y}, {a, b}, {}, false, true, true);
    CHECK(g[0].defined());
    CHECK_FALSE(g[1].defined());
    CHECK_THAT(error_of([&] { grad({y}, {vec({1})}); }), Contains("grad: input 0"));
    CHECK_THAT(error_of([&] { grad({y}, {a}, {vec({1, 2})}); }), Contains("grad_outputs[0]"));
    CHECK_THAT(error_of([&] { grad({a * 2.0}, {a}, {vec({1}), vec({1})}); }),
               Contains("2 grad_outputs for 1 outputs"));

    // A graph freed by a first-order pass cannot be differentiated again, with or without
    // create_graph.
    const Tensor z = sum(exp(a));
    grad({z}, {a});  // retain_graph defaults to create_graph = false: the graph is freed
    CHECK_THAT(error_of([&] { grad({z}, {a}, {}, true); }),
               Contains("was already freed by an earlier backward()"));
}

TEST_CASE("graphs built with create_graph are freed when the last handle dies", "[functional]") {
    std::weak_ptr<detail::TensorImpl> out_impl, grad_impl, second_impl;
    std::weak_ptr<detail::Node> out_node, grad_node, exp_node, tanh_node, sigmoid_node;
    Tensor x = vec({0.3, -0.2, 0.5}).requires_grad_();
    {
        // exp, tanh and sigmoid save their own outputs: the case a naive rule makes a cycle.
        const Tensor e = exp(x);
        const Tensor t = tanh(e * x);
        const Tensor s = sigmoid(t);
        exp_node = e.impl()->grad_fn;
        tanh_node = t.impl()->grad_fn;
        sigmoid_node = s.impl()->grad_fn;
        const Tensor y = sum(s);
        const Tensor g = grad({y}, {x}, {}, true)[0];
        const Tensor h = grad({sum(g)}, {x}, {}, true)[0];
        out_impl = y.impl();
        grad_impl = g.impl();
        second_impl = h.impl();
        out_node = y.impl()->grad_fn;
        grad_node = g.impl()->grad_fn;
        REQUIRE_FALSE(out_node.expired());
        REQUIRE_FALSE(grad_node.expired());
    }
    CHECK(out_impl.expired());
    CHECK(grad_impl.expired());
    CHECK(second_impl.expired());
    CHECK(out_node.expired());
    CHECK(grad_node.expired());
    CHECK(exp_node.expired());
    CHECK(tanh_node.expired());
    CHECK(sigmoid_node.expired());

    // The same through a single exp node, whose saved output is handed back with the node.
    std::weak_ptr<detail::Node> single_exp;
    {
        const Tensor e = exp(x);
        single_exp = e.impl()->grad_fn;
        const Tensor g = grad({sum(e)}, {x}, {}, true)[0];
        CHECK(g.requires_grad());
    }
    CHECK(single_exp.expired());
}

TEST_CASE("a first-order pass still builds no graph and gives the same values", "[functional]") {
    Tensor x = vec({0.3, -0.2}).requires_grad_();
    const Tensor y = sum(tanh(x) * exp(x));
    const Tensor g1 = grad({y}, {x}, {}, false, true)[0];
    const Tensor g2 = grad({y}, {x}, {}, true)[0];
    CHECK_FALSE(g1.requires_grad());
    CHECK(g2.requires_grad());
    CHECK(values(g1) == values(g2));
}

TEST_CASE("max_all: the largest element, NaN when any is NaN, any length", "[functional][norms]") {
    for (const DType dt : {DType::f64, DType::f32}) {
        for (const std::int64_t n : {1, 3, 255, 256, 257, 1000}) {
            INFO(dtype_name(dt) << " n = " << n);
            std::vector<double> v(static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i) v[std::size_t(i)] = -double((i * 37) % 101) - 1.0;
            v[std::size_t(n / 2)] = 5.0;
            const Tensor t = from_vector(v, {n}, dt);
            CHECK(detail::max_all_op(t).item() == 5.0);
            v[std::size_t(n - 1)] = NAN;
            CHECK(std::isnan(detail::max_all_op(from_vector(v, {n}, dt)).item()));
        }
    }
    CHECK_THROWS_WITH(detail::max_all_op(zeros({0}, DType::f64)), Catch::Contains("empty"));
}

TEST_CASE("backward with create_graph gives each leaf its own new grad()", "[functional]") {
    // Two leaves holding one grad tensor: without create_graph both see the in-place sum
    // (one buffer); with it each becomes grad + its own contribution, as in torch.
    Tensor a = vec({1, 2}).requires_grad_();
    Tensor b = vec({3, 4}).requires_grad_();
    const Tensor shared = vec({10, 10});
    a.set_grad(shared);
    b.set_grad(shared);
    sum(a * 2.0 + b * 3.0).backward(Tensor(), false, true);
    CHECK(values(a.grad()) == std::vector<double>{12, 12});
    CHECK(values(b.grad()) == std::vector<double>{13, 13});
    CHECK(values(shared) == std::vector<double>{10, 10});  // untouched: new tensors
}
