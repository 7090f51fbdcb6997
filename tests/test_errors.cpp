// One case per kind of failure: each asserts that descent throws descent::Error (or a
// subclass) and that the message names the op and the offending shapes, dtypes or values.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/device.hpp"
#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"

using Catch::Matchers::Contains;
using descent::Device;
using descent::DType;
using descent::Shape;
using descent::Tensor;

static_assert(std::is_base_of<std::runtime_error, descent::Error>::value,
              "descent::Error must derive from std::runtime_error");
static_assert(std::is_base_of<descent::Error, descent::CudaError>::value,
              "descent::CudaError must derive from descent::Error");

// Catch prints a failed match's exception through this.
namespace Catch {
template <>
struct StringMaker<descent::Error> {
    static std::string convert(const descent::Error& e) { return std::string("Error: ") + e.what(); }
};
}  // namespace Catch

namespace {

// Adapts a string matcher (Contains(...) && ...) to match a descent::Error's what(), so that
// REQUIRE_THROWS_MATCHES checks the exception type and its message in one step.
template <class Inner>
class WhatMatcher : public Catch::MatcherBase<descent::Error> {
public:
    explicit WhatMatcher(Inner inner) : m_inner(std::move(inner)) {}
    bool match(const descent::Error& e) const override { return m_inner.match(e.what()); }
    std::string describe() const override { return "what() " + m_inner.describe(); }

private:
    Inner m_inner;
};

template <class Inner>
WhatMatcher<Inner> What(Inner inner) {
    return WhatMatcher<Inner>(std::move(inner));
}

// The expression must throw descent::Error (or a subclass) whose message matches `matcher`.
#define REQUIRE_ERROR(expr, matcher) REQUIRE_THROWS_MATCHES(expr, descent::Error, What(matcher))

// An f64 tensor of the given shape with values 0, 1, 2, ...
Tensor iota(const Shape& shape, DType dtype = DType::f64) {
    std::vector<double> v(static_cast<std::size_t>(descent::shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i);
    return descent::from_vector(v, shape, dtype);
}

Tensor param(const Shape& shape) {
    Tensor t = iota(shape);
    t.requires_grad_();
    return t;
}

}  // namespace

// --- type hierarchy -----------------------------------------------------------------------

TEST_CASE("errors: descent::Error is catchable as std::runtime_error", "[errors]") {
    const Tensor a = iota({2, 3});
    const Tensor b = iota({4});
    REQUIRE_THROWS_AS(descent::add(a, b), std::runtime_error);
    const descent::CudaError e("cudaMalloc(&p, n)", "memory.cpp", 42, "out of memory");
    const descent::Error& base = e;
    CHECK_THAT(std::string(base.what()), Contains("cudaMalloc(&p, n)") && Contains("memory.cpp:42") &&
                                             Contains("out of memory"));
    CHECK(e.call() == "cudaMalloc(&p, n)");
    CHECK(e.file() == "memory.cpp");
    CHECK(e.line() == 42);
    CHECK(e.cuda_message() == "out of memory");
}

// --- broadcasting -------------------------------------------------------------------------

TEST_CASE("errors: non-broadcastable shapes in add, sub, mul, div", "[errors]") {
    const Tensor a = iota({2, 3});
    const Tensor b = iota({4});
    SECTION("add") {
        REQUIRE_ERROR(descent::add(a, b),
                               Contains("add") && Contains("(2, 3)") && Contains("(4,)"));
        REQUIRE_ERROR(a + b,
                               Contains("add") && Contains("(2, 3)") && Contains("(4,)"));
    }
    SECTION("sub") {
        REQUIRE_ERROR(descent::sub(a, b),
                               Contains("sub") && Contains("(2, 3)") && Contains("(4,)"));
        REQUIRE_ERROR(b - a,
                               Contains("sub") && Contains("(2, 3)") && Contains("(4,)"));
    }
    SECTION("mul") {
        REQUIRE_ERROR(descent::mul(a, b),
                               Contains("mul") && Contains("(2, 3)") && Contains("(4,)"));
        REQUIRE_ERROR(a * b,
                               Contains("mul") && Contains("(2, 3)") && Contains("(4,)"));
    }
    SECTION("div") {
        REQUIRE_ERROR(descent::div(a, b),
                               Contains("div") && Contains("(2, 3)") && Contains("(4,)"));
        REQUIRE_ERROR(a / b,
                               Contains("div") && Contains("(2, 3)") && Contains("(4,)"));
    }
    SECTION("column against row of the wrong length") {
        REQUIRE_ERROR(descent::add(iota({3, 1}), iota({2, 4})),
                               Contains("add") && Contains("(3, 1)") && Contains("(2, 4)"));
    }
}

TEST_CASE("errors: broadcast_to and sum_to with incompatible shapes", "[errors]") {
    REQUIRE_ERROR(descent::broadcast_to(iota({3}), {2, 4}),
                           Contains("broadcast_to") && Contains("(3,)") && Contains("(2, 4)"));
    // Broadcasting may not shrink a dimension.
    REQUIRE_ERROR(descent::broadcast_to(iota({2, 3}), {3}),
                           Contains("broadcast_to") && Contains("(2, 3)") && Contains("(3,)"));
    REQUIRE_ERROR(descent::sum_to(iota({2, 3}), {2}),
                           Contains("sum_to") && Contains("(2, 3)") && Contains("(2,)"));
    REQUIRE_ERROR(descent::sum_to(iota({3}), {2, 3}),
                           Contains("sum_to") && Contains("(3,)") && Contains("(2, 3)"));
}

// --- dtypes -------------------------------------------------------------------------------

TEST_CASE("errors: dtype mismatch between f32 and f64 operands", "[errors]") {
    const Tensor a32 = iota({2, 3}, DType::f32);
    const Tensor b64 = iota({2, 3}, DType::f64);
    SECTION("add") {
        REQUIRE_ERROR(descent::add(a32, b64),
                               Contains("add") && Contains("f32") && Contains("f64"));
    }
    SECTION("mul, f64 first") {
        REQUIRE_ERROR(descent::mul(b64, a32),
                               Contains("mul") && Contains("f32") && Contains("f64"));
    }
    SECTION("matmul") {
        REQUIRE_ERROR(descent::matmul(a32, iota({3, 2}, DType::f64)),
                               Contains("matmul") && Contains("f32") && Contains("f64"));
    }
    SECTION("mse_loss") {
        REQUIRE_ERROR(descent::mse_loss(a32, b64),
                               Contains("mse_loss") && Contains("f32") && Contains("f64"));
    }
    SECTION("linear_mse_value_and_grad") {
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({4, 2}, DType::f64), iota({4}, DType::f32),
                                               iota({2}, DType::f64)),
            Contains("linear_mse_value_and_grad") && Contains("f32") && Contains("f64"));
    }
}

// --- matmul -------------------------------------------------------------------------------

TEST_CASE("errors: matmul inner-dimension mismatch", "[errors]") {
    SECTION("matrix-matrix") {
        REQUIRE_ERROR(descent::matmul(iota({2, 3}), iota({4, 5})),
                               Contains("matmul") && Contains("(2, 3)") && Contains("(4, 5)"));
    }
    SECTION("matrix-vector") {
        REQUIRE_ERROR(descent::matmul(iota({2, 3}), iota({2})),
                               Contains("matmul") && Contains("(2, 3)") && Contains("(2,)"));
    }
    SECTION("vector-matrix") {
        REQUIRE_ERROR(descent::matmul(iota({3}), iota({2, 3})),
                               Contains("matmul") && Contains("(3,)") && Contains("(2, 3)"));
    }
    SECTION("vector-vector") {
        REQUIRE_ERROR(descent::matmul(iota({3}), iota({4})),
                               Contains("matmul") && Contains("(3,)") && Contains("(4,)"));
    }
}

TEST_CASE("errors: matmul with rank-3 or rank-0 operands", "[errors]") {
    SECTION("rank 3 on the left") {
        REQUIRE_ERROR(descent::matmul(iota({2, 2, 2}), iota({2, 2})),
                               Contains("matmul") && Contains("(2, 2, 2)") && Contains("(2, 2)"));
    }
    SECTION("rank 3 on the right") {
        REQUIRE_ERROR(descent::matmul(iota({2}), iota({2, 2, 2})),
                               Contains("matmul") && Contains("(2,)") && Contains("(2, 2, 2)"));
    }
    SECTION("rank 0 on the left") {
        REQUIRE_ERROR(descent::matmul(iota({}), iota({1, 2})),
                               Contains("matmul") && Contains("()") && Contains("(1, 2)"));
    }
    SECTION("rank 0 on the right") {
        REQUIRE_ERROR(descent::matmul(iota({3}), iota({})),
                               Contains("matmul") && Contains("(3,)") && Contains("()"));
    }
}

TEST_CASE("errors: transpose of a rank-3 tensor", "[errors]") {
    REQUIRE_ERROR(descent::transpose(iota({2, 3, 4})),
                           Contains("transpose") && Contains("(2, 3, 4)"));
}

// --- reshape ------------------------------------------------------------------------------

TEST_CASE("errors: reshape to an incompatible size", "[errors]") {
    const Tensor a = iota({2, 3});
    SECTION("explicit shape") {
        REQUIRE_ERROR(descent::reshape(a, {4}),
                               Contains("reshape") && Contains("(2, 3)") && Contains("(4,)"));
        REQUIRE_ERROR(a.reshape({5, 2}),
                               Contains("reshape") && Contains("(2, 3)") && Contains("(5, 2)"));
    }
    SECTION("inferred dimension that does not divide") {
        REQUIRE_ERROR(descent::reshape(a, {4, -1}),
                               Contains("reshape") && Contains("(2, 3)") && Contains("(4, -1)"));
    }
    SECTION("two inferred dimensions") {
        REQUIRE_ERROR(descent::reshape(a, {-1, -1}),
                               Contains("reshape") && Contains("(-1, -1)"));
    }
    SECTION("negative dimension") {
        REQUIRE_ERROR(descent::reshape(a, {-2, -3}),
                               Contains("reshape") && Contains("(-2, -3)"));
    }
    SECTION("scalar to two elements") {
        REQUIRE_ERROR(descent::reshape(iota({}), {2}),
                               Contains("reshape") && Contains("()") && Contains("(2,)"));
    }
}

// --- reductions ---------------------------------------------------------------------------

TEST_CASE("errors: sum and mean with an out-of-range axis", "[errors]") {
    const Tensor a = iota({2, 3});
    SECTION("sum, axis 2") {
        REQUIRE_ERROR(descent::sum(a, 2),
                               Contains("sum") && Contains("axis 2") && Contains("(2, 3)"));
    }
    SECTION("sum, axis -3") {
        REQUIRE_ERROR(descent::sum(a, -3, true),
                               Contains("sum") && Contains("axis -3") && Contains("(2, 3)"));
    }
    SECTION("mean, axis 5") {
        REQUIRE_ERROR(descent::mean(a, 5),
                               Contains("mean") && Contains("axis 5") && Contains("(2, 3)"));
    }
    SECTION("mean of a scalar along axis 0") {
        REQUIRE_ERROR(descent::mean(iota({}), 0),
                               Contains("mean") && Contains("axis 0") && Contains("()"));
    }
}

TEST_CASE("errors: mean of an empty tensor", "[errors]") {
    SECTION("whole tensor, shape (0,)") {
        REQUIRE_ERROR(descent::mean(descent::zeros({0}, DType::f64)),
                               Contains("mean") && Contains("(0,)") && Contains("empty"));
    }
    SECTION("whole tensor, shape (2, 0)") {
        REQUIRE_ERROR(descent::zeros({2, 0}, DType::f64).mean(),
                               Contains("mean") && Contains("(2, 0)") && Contains("empty"));
    }
    SECTION("along an empty axis") {
        REQUIRE_ERROR(descent::mean(descent::zeros({0, 3}, DType::f64), 0),
                               Contains("mean") && Contains("(0, 3)") && Contains("empty"));
    }
}

// --- losses -------------------------------------------------------------------------------

TEST_CASE("errors: mse_loss with different shapes", "[errors]") {
    REQUIRE_ERROR(descent::mse_loss(iota({3}), iota({4})),
                           Contains("mse_loss") && Contains("(3,)") && Contains("(4,)"));
    // Broadcastable is not enough: mse_loss needs identical shapes.
    REQUIRE_ERROR(descent::mse_loss(iota({3, 1}), iota({3})),
                           Contains("mse_loss") && Contains("(3, 1)") && Contains("(3,)"));
}

TEST_CASE("errors: mse_loss with empty tensors", "[errors]") {
    const Tensor e = descent::zeros({0}, DType::f64);
    REQUIRE_ERROR(descent::mse_loss(e, e),
                           Contains("mse_loss") && Contains("(0,)") && Contains("empty"));
}

TEST_CASE("errors: linear_mse_value_and_grad with wrong shapes", "[errors]") {
    SECTION("X not 2-D") {
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({6}), iota({6}), iota({1})),
            Contains("linear_mse_value_and_grad") && Contains("X (6,)"));
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({2, 3, 1}), iota({2}), iota({3})), Contains("linear_mse_value_and_grad") && Contains("X (2, 3, 1)"));
    }
    SECTION("y of the wrong length") {
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({4, 2}), iota({5}), iota({2})),
            Contains("linear_mse_value_and_grad") && Contains("X (4, 2)") && Contains("y (5,)"));
    }
    SECTION("y 2-D") {
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({4, 2}), iota({4, 1}), iota({2})),
            Contains("linear_mse_value_and_grad") && Contains("y (4, 1)"));
    }
    SECTION("w of the wrong length") {
        REQUIRE_ERROR(
            descent::linear_mse_value_and_grad(iota({4, 2}), iota({4}), iota({3})),
            Contains("linear_mse_value_and_grad") && Contains("X (4, 2)") && Contains("w (3,)"));
    }
    SECTION("the Hessian variant checks the same") {
        REQUIRE_ERROR(
            descent::linear_mse_value_grad_hessian(iota({4, 2}), iota({4}), iota({3})),
            Contains("linear_mse_value_grad_hessian") && Contains("w (3,)"));
    }
}

TEST_CASE("errors: linear_mse_value_and_grad with n == 0", "[errors]") {
    const Tensor X = descent::zeros({0, 2}, DType::f64);
    const Tensor y = descent::zeros({0}, DType::f64);
    const Tensor w = descent::zeros({2}, DType::f64);
    REQUIRE_ERROR(descent::linear_mse_value_and_grad(X, y, w),
                           Contains("linear_mse_value_and_grad") && Contains("(0, 2)") &&
                               Contains("empty"));
    REQUIRE_ERROR(descent::linear_mse_value_grad_hessian(X, y, w),
                           Contains("linear_mse_value_grad_hessian") && Contains("(0, 2)"));
}

TEST_CASE("errors: linear_mse_hessian needs a matrix with rows", "[errors]") {
    SECTION("1-D") {
        REQUIRE_ERROR(descent::linear_mse_hessian(iota({5})),
                               Contains("linear_mse_hessian") && Contains("(5,)"));
    }
    SECTION("no rows") {
        REQUIRE_ERROR(descent::linear_mse_hessian(descent::zeros({0, 3}, DType::f64)),
                               Contains("linear_mse_hessian") && Contains("(0, 3)"));
    }
}

// --- autograd -----------------------------------------------------------------------------

TEST_CASE("errors: backward on a tensor that does not require grad", "[errors]") {
    const Tensor a = iota({3});
    const Tensor s = descent::sum(a);
    REQUIRE_FALSE(s.requires_grad());
    REQUIRE_ERROR(s.backward(),
                           Contains("backward") && Contains("does not require grad"));
    REQUIRE_ERROR(descent::backward(s),
                           Contains("backward") && Contains("does not require grad"));
}

TEST_CASE("errors: backward from a non-scalar without an upstream gradient", "[errors]") {
    const Tensor x = param({3});
    const Tensor y = descent::square(x);
    REQUIRE_ERROR(y.backward(),
                           Contains("backward") && Contains("(3,)"));
    // Nothing was accumulated by the failed call.
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("errors: backward with an upstream gradient of the wrong shape", "[errors]") {
    const Tensor x = param({3});
    const Tensor y = descent::square(x);
    SECTION("wrong shape") {
        REQUIRE_ERROR(y.backward(descent::ones({2}, DType::f64)),
                               Contains("backward") && Contains("(2,)") && Contains("(3,)"));
    }
    SECTION("right numel, wrong rank") {
        REQUIRE_ERROR(y.backward(descent::ones({3, 1}, DType::f64)),
                               Contains("backward") && Contains("(3, 1)") && Contains("(3,)"));
    }
    SECTION("wrong dtype") {
        REQUIRE_ERROR(y.backward(descent::ones({3}, DType::f32)),
                               Contains("backward") && Contains("f32") && Contains("f64"));
    }
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("errors: a second backward through a freed graph", "[errors]") {
    const Tensor x = param({3});
    const Tensor loss = descent::sum(descent::square(x));
    loss.backward();
    REQUIRE(x.grad().defined());
    REQUIRE_ERROR(loss.backward(),
                           Contains("backward") && Contains("retain_graph"));
}

TEST_CASE("errors: retain_graph=true allows a second backward that accumulates", "[errors]") {
    const Tensor x = descent::from_vector(std::vector<double>{1.0, -2.0, 3.5});
    Tensor leaf = x;
    leaf.requires_grad_();
    const Tensor loss = descent::sum(descent::square(x));
    loss.backward(Tensor(), /*retain_graph=*/true);
    // d/dx sum(x^2) = 2x: exact in binary floating point for these values.
    CHECK(x.grad().to_vector<double>() == std::vector<double>{2.0, -4.0, 7.0});
    REQUIRE_NOTHROW(loss.backward(Tensor(), /*retain_graph=*/true));
    CHECK(x.grad().to_vector<double>() == std::vector<double>{4.0, -8.0, 14.0});
    // A third call without retain_graph still works and then frees the graph.
    REQUIRE_NOTHROW(descent::backward(loss));
    CHECK(x.grad().to_vector<double>() == std::vector<double>{6.0, -12.0, 21.0});
    REQUIRE_ERROR(loss.backward(), Contains("retain_graph"));
}

TEST_CASE("errors: requires_grad_ on a non-leaf", "[errors]") {
    const Tensor x = param({2});
    Tensor y = x * 2.0;
    REQUIRE_FALSE(y.is_leaf());
    REQUIRE_ERROR(y.requires_grad_(),
                           Contains("requires_grad_") && Contains("leaf") && Contains("mul"));
    // detach() gives a leaf that can be marked.
    Tensor d = y.detach();
    REQUIRE_NOTHROW(d.requires_grad_());
}

TEST_CASE("errors: in-place writes to a tensor requiring grad outside NoGrad", "[errors]") {
    Tensor x = param({2, 2});
    SECTION("fill_") {
        REQUIRE_ERROR(x.fill_(1.0),
                               Contains("fill_") && Contains("requires grad") &&
                                   Contains("(2, 2)") && Contains("NoGrad"));
    }
    SECTION("zero_") {
        REQUIRE_ERROR(x.zero_(),
                               Contains("requires grad") && Contains("(2, 2)"));
    }
    SECTION("copy_") {
        REQUIRE_ERROR(x.copy_(descent::ones({2, 2}, DType::f64)),
                               Contains("copy_") && Contains("requires grad") &&
                                   Contains("(2, 2)"));
    }
    SECTION("allowed inside NoGrad") {
        descent::NoGrad guard;
        REQUIRE_NOTHROW(x.fill_(3.0));
        CHECK(x.to_vector<double>() == std::vector<double>{3.0, 3.0, 3.0, 3.0});
        REQUIRE_NOTHROW(x.copy_(descent::ones({2, 2}, DType::f32)));
        CHECK(x.to_vector<double>() == std::vector<double>{1.0, 1.0, 1.0, 1.0});
    }
}

TEST_CASE("errors: copy_ with a different shape", "[errors]") {
    Tensor x = iota({2, 3});
    REQUIRE_ERROR(x.copy_(iota({3, 2})),
                           Contains("copy_") && Contains("(3, 2)") && Contains("(2, 3)"));
}

// --- tensors ------------------------------------------------------------------------------

TEST_CASE("errors: item() on a multi-element tensor", "[errors]") {
    REQUIRE_ERROR(iota({2}).item(),
                           Contains("item") && Contains("(2,)"));
    REQUIRE_ERROR(iota({2, 3}).item(),
                           Contains("item") && Contains("(2, 3)"));
    REQUIRE_ERROR(descent::zeros({0}).item(),
                           Contains("item") && Contains("(0,)"));
    // One element of any rank is fine.
    CHECK(descent::full({1, 1}, 2.5, DType::f64).item() == 2.5);
}

TEST_CASE("errors: from_vector with data that does not fill the shape", "[errors]") {
    REQUIRE_ERROR(descent::from_vector(std::vector<double>{1, 2, 3}, {2, 2}),
                           Contains("from_vector") && Contains("3") && Contains("(2, 2)"));
    REQUIRE_ERROR(descent::from_vector(std::vector<float>{1, 2, 3, 4, 5}, {2, 2}),
                           Contains("from_vector") && Contains("5") && Contains("(2, 2)"));
    REQUIRE_ERROR(descent::from_vector(std::vector<double>{1, 2}, {1}),
                           Contains("from_vector") && Contains("2 values") && Contains("(1,)"));
}

TEST_CASE("errors: parse_device and parse_dtype reject unknown names", "[errors]") {
    REQUIRE_ERROR(descent::parse_device("gpu"),
                           Contains("device") && Contains("'gpu'"));
    REQUIRE_ERROR(descent::parse_device("cuda:x"),
                           Contains("device") && Contains("'cuda:x'"));
    REQUIRE_ERROR(descent::parse_dtype("f16"),
                           Contains("dtype") && Contains("'f16'"));
    // The accepted spellings still parse.
    CHECK(descent::parse_device("cuda:1") == Device::cuda(1));
    CHECK(descent::parse_dtype("float64") == DType::f64);
}

TEST_CASE("errors: a CUDA tensor without a usable device throws, never crashes", "[errors]") {
    if (descent::cuda_available()) {
        WARN("a CUDA device is present; this case checks the CPU-only path");
        return;
    }
    REQUIRE_THROWS_AS(descent::zeros({2}, DType::f32, Device::cuda()), descent::Error);
    try {
        (void)descent::zeros({2}, DType::f32, Device::cuda());
        FAIL("no exception");
    } catch (const descent::CudaError& e) {
        // Built with CUDA but no device: a CUDA error naming the failed call.
        CHECK(descent::built_with_cuda());
        CHECK_FALSE(e.call().empty());
    } catch (const descent::Error& e) {
        if (descent::built_with_cuda()) {
            CHECK_THAT(std::string(e.what()), Contains("cuda", Catch::CaseSensitive::No));
        } else {
            CHECK_THAT(std::string(e.what()), Contains("built without CUDA"));
            CHECK_THAT(std::string(e.what()), Contains("cuda:0"));
        }
    }
    // Other entry points that touch the device fail the same way.
    REQUIRE_THROWS_AS(descent::from_vector(std::vector<double>{1, 2}, {2}, DType::f64,
                                           Device::cuda()),
                      descent::Error);
    REQUIRE_THROWS_AS(descent::ones({2}, DType::f64).to(Device::cuda()), descent::Error);
}
