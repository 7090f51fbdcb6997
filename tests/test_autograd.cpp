// The autodiff engine: accumulation, upstream gradients, graph reuse, NoGrad, detach.
// Expected gradients are derived by hand in each test.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "descent/descent.hpp"

using namespace descent;

namespace {
Tensor vec(std::vector<double> v) { return from_vector(v); }
}  // namespace

TEST_CASE("backward from a scalar fills leaf gradients", "[autograd]") {
    Tensor x = vec({1, 2, 3}).requires_grad_();
    const Tensor y = sum(square(x) * 3.0);  // dy/dx = 6x
    CHECK(y.requires_grad());
    CHECK_FALSE(y.is_leaf());
    y.backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 12, 18});
}

TEST_CASE("gradients accumulate until zero_grad", "[autograd]") {
    Tensor x = vec({1, -1}).requires_grad_();
    sum(x * 2.0).backward();
    sum(x * 2.0).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{4, 4});
    const void* buffer = x.grad().data_ptr();
    x.zero_grad();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0});
    sum(x).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
    CHECK(x.grad().data_ptr() == buffer);  // accumulation reuses the buffer
}

TEST_CASE("backward from a non-scalar takes an explicit upstream gradient", "[autograd]") {
    Tensor x = vec({1, 2}).requires_grad_();
    const Tensor y = x * x;  // dy_i/dx_i = 2 x_i
    y.backward(vec({10, 100}));
    CHECK(x.grad().to_vector<double>() == std::vector<double>{20, 400});
}

TEST_CASE("a tensor used twice gets both contributions", "[autograd]") {
    Tensor x = vec({3}).requires_grad_();
    const Tensor a = x * 2.0;
    const Tensor y = sum(a * a + a);  // y = 4x^2 + 2x, dy/dx = 8x + 2 = 26
    y.backward();
    CHECK(x.grad().item() == 26.0);
}

TEST_CASE("only tensors that require grad get gradients", "[autograd]") {
    Tensor x = vec({1, 2}).requires_grad_();
    Tensor c = vec({5, 7});
    sum(x * c).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7});
    CHECK_FALSE(c.grad().defined());
    CHECK_FALSE(c.requires_grad());
}

TEST_CASE("NoGrad builds no graph and restores the mode", "[autograd]") {
    Tensor x = vec({1}).requires_grad_();
    CHECK(grad_enabled());
    {
        NoGrad guard;
        CHECK_FALSE(grad_enabled());
        const Tensor y = x * 2.0;
        CHECK_FALSE(y.requires_grad());
        {
            NoGrad nested;
        }
        CHECK_FALSE(grad_enabled());
    }
    CHECK(grad_enabled());
    CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach cuts the graph but shares data", "[autograd]") {
    Tensor x = vec({2}).requires_grad_();
    const Tensor d = x.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.is_leaf());
    sum(x * d).backward();  // d is a constant: gradient d = 2, not 2x = 4
    CHECK(x.grad().item() == 2.0);
}

TEST_CASE("retain_graph allows a second pass", "[autograd]") {
    Tensor x = vec({1.5}).requires_grad_();
    const Tensor y = sum(exp(x));
    y.backward(Tensor(), true);
    y.backward();
    CHECK(x.grad().item() == Approx(2 * std::exp(1.5)).epsilon(1e-15));
    CHECK_THROWS_AS(y.backward(), Error);  // the second pass released it
}

TEST_CASE("backward on a leaf and through to(), clone and reshape", "[autograd]") {
    Tensor x = vec({1, 2, 3, 4}).requires_grad_();
    x.backward(vec({1, 1, 1, 1}));
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1, 1, 1});
    x.zero_grad();
    const Tensor y = sum(x.to(DType::f32).to(DType::f64).clone().reshape({2, 2}) * 3.0);
    y.backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 3, 3, 3});
}

TEST_CASE("deep graphs do not overflow the stack", "[autograd]") {
    Tensor x = vec({1}).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y + 1.0;
    sum(y).backward();
    CHECK(x.grad().item() == 1.0);
}

TEST_CASE("f32 graphs produce f32 gradients", "[autograd]") {
    Tensor x = from_vector(std::vector<float>{1.f, 2.f}).requires_grad_();
    mean(square(x)).backward();  // d/dx mean(x^2) = x
    CHECK(x.grad().dtype() == DType::f32);
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1.f, 2.f});
}

TEST_CASE("an activation's one-pass first-order backward gives the composed rule's bits", "[autograd]") {
    // backward() runs tanh/sigmoid/relu's fused gradient op; with create_graph the
    // differentiable composition g (1 - t²), g s (1 - s), g step(x) runs instead. Equal bits,
    // f32 and f64, over values that round differently, zeros, huge values and NaN.
    std::vector<double> xs, gs;
    for (int i = 0; i < 257; ++i) {
        xs.push_back(std::sin(0.37 * i) * (i % 7 == 0 ? 30.0 : 3.0));
        gs.push_back(std::cos(0.11 * i) * 1.7 + (i % 5 == 0 ? 1e-3 : 0.0));
    }
    xs[3] = 0.0;
    xs[4] = -0.0;
    xs[5] = 1e30;
    xs[6] = std::nan("");
    gs[7] = -0.0;
    for (DType dt : {DType::f32, DType::f64}) {
        for (const char* name : {"tanh", "sigmoid", "relu"}) {
            INFO(name << " " << dtype_name(dt));
            const auto act = [name](const Tensor& t) {
                const std::string n = name;
                return n == "tanh" ? descent::tanh(t) : n == "sigmoid" ? descent::sigmoid(t) : descent::relu(t);
            };
            const Tensor g = from_vector(gs, {257}, dt);
            Tensor a = from_vector(xs, {257}, dt).requires_grad_();
            Tensor b = from_vector(xs, {257}, dt).requires_grad_();
            act(a).backward(g);
            act(b).backward(g, false, true);
            const std::vector<double> fused = a.grad().to_vector<double>(), composed = b.grad().to_vector<double>();
            REQUIRE(fused.size() == composed.size());
            for (std::size_t i = 0; i < fused.size(); ++i) {
                INFO("element " << i);
                CHECK(std::memcmp(&fused[i], &composed[i], sizeof(double)) == 0);
            }
            b.set_grad(Tensor());  // b.grad's graph holds b: the create_graph cycle, as in torch
        }
    }
}

TEST_CASE("gradients land in existing grad buffers as if summed before any is written",
          "[autograd]") {
    // backward() adds into grad() buffers in place; a contribution that reads a buffer being
    // written (the seed is a.grad() itself) must see it as it was before the pass.
    Tensor a = vec({1, 1}).requires_grad_();
    Tensor b = vec({5, 5}).requires_grad_();
    sum(a).backward();                  // a.grad = 1
    sum(b * 5.0).backward();            // b.grad = 5
    (a + b).backward(a.grad());         // both get the seed: 1
    CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 2});
    CHECK(b.grad().to_vector<double>() == std::vector<double>{6, 6});
    Tensor c = vec({1, 1}).requires_grad_();
    sum(c).backward();                  // c.grad = 1
    (c + c).backward(c.grad());         // two contributions of the seed 1: 1 + 1 + 1
    CHECK(c.grad().to_vector<double>() == std::vector<double>{3, 3});
    // A leaf used many times: grad + g1 + g2 + ... in order.
    Tensor w = vec({0.1, 0.2}).requires_grad_();
    sum(w).backward();
    Tensor acc = w * 1.0;
    for (int i = 0; i < 50; ++i) acc = acc + w * 0.5;
    sum(acc).backward();
    double want = 1.0;
    want += 1.0;
    for (int i = 0; i < 50; ++i) want += 0.5;
    // (the order of the 51 contributions is the walk's; all are exact here)
    CHECK(w.grad().to_vector<double>() == std::vector<double>{want, want});
}
