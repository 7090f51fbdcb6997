// The autodiff engine: accumulation, upstream gradients, graph reuse, NoGrad, detach.
// Expected gradients are derived by hand in each test.
#include <catch2/catch.hpp>

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
