// Finite-difference checks of second derivatives (descent::gradgradcheck, default options:
// eps 1e-6, rtol 1e-6, atol 1e-9): for every differentiable op of ops.hpp and loss.hpp, the
// autodiff gradient G_i = grad(f(inputs), inputs[i], v, create_graph = true) is differentiated
// again by the engine (through the op's own backward rule) and compared with central
// differences of G_i, in f64, on fresh random inputs drawn from a per-test-case seeded
// std::mt19937_64, over the shapes and broadcasting cases of tests/test_gradcheck.cpp (rank 0,
// 1, 2 where the op allows). Ops that are linear in an input (add, reshape, sum, ...) have no
// second derivative of their own, so each is also checked followed by a nonlinear op: then the
// upstream gradient reaching its backward rule depends on the inputs, and that rule must be
// differentiable for the check to pass. Also a custom op whose first derivative is right and
// whose second is wrong (gradcheck passes, gradgradcheck must not), and the refusal of f32
// inputs. Composite graphs (linear regression, a sigmoid-tanh product, a 2-layer tanh MLP,
// diamonds) are checked to second order in tests/test_gradcheck.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <tuple>
#include <sstream>
#include <string>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"
#include "gradcheck_inputs.hpp"
#include "tensor_impl.hpp"  // detail::record, for the hand-written ops of the failure cases

namespace {

using namespace gradcheck_inputs;

void check(const std::string& what, const Fn& f, const Inputs& inputs) {
    check_with([](const Fn& fn, const Inputs& in) { return descent::gradgradcheck(fn, in); }, what, f,
               inputs);
}

// x*x*x as one hand-written op: the forward runs under NoGrad, the backward is the rule given.
// With `correct`, the rule g * 3 * square(x) is built from differentiable ops on x, so its own
// derivative (6 x g) is right. Without, the rule g * 3 * square(x.detach()) has the right
// value (gradcheck passes) but hides x from the second pass: the engine then sees a second
// derivative of 0 instead of 6 x g, which gradgradcheck must catch.
Tensor cube(const Tensor& x, bool correct) {
    Tensor out;
    {
        descent::NoGrad no_grad;
        out = x * x * x;
    }
    return descent::detail::record("cube", out, {x}, [x, correct](const Tensor& g) {
        const Tensor base = correct ? x : x.detach();
        return std::vector<Tensor>{g * 3.0 * descent::square(base)};
    });
}

}  // namespace

// --- elementwise binary, tensor-tensor ----------------------------------------------------

TEST_CASE("gradgradcheck: add, sub, mul, div with equal and broadcast shapes", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0001);
    for (const auto& [sa, sb] : kBinaryShapes) {
        // Divisors stay in [0.5, 2) so that 1/b and its derivatives are smooth and well scaled.
        check("add", [](const Inputs& v) { return descent::add(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("sub", [](const Inputs& v) { return descent::sub(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("mul", [](const Inputs& v) { return descent::mul(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("div", [](const Inputs& v) { return descent::div(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, 0.5, 2)});
        check("div (negative divisor)", [](const Inputs& v) { return descent::div(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -2, -0.5)});
        // Followed by square: the upstream gradient reaching the op's backward rule (and its
        // sum_to over broadcast dimensions) then depends on the inputs.
        check("square(add)", [](const Inputs& v) { return descent::square(descent::add(v[0], v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("square(sub)", [](const Inputs& v) { return descent::square(descent::sub(v[0], v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("square(mul)", [](const Inputs& v) { return descent::square(descent::mul(v[0], v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("square(div)", [](const Inputs& v) { return descent::square(descent::div(v[0], v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, 0.5, 2)});
    }
}

TEST_CASE("gradgradcheck: binary operators +, -, *, / between tensors", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0002);
    for (const auto& [sa, sb] : kBinaryShapes) {
        check("operator+", [](const Inputs& v) { return v[0] + v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator-", [](const Inputs& v) { return v[0] - v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator*", [](const Inputs& v) { return v[0] * v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator/", [](const Inputs& v) { return v[0] / v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, 0.5, 2)});
        // Each operator's result used twice: a diamond above the op.
        check("(a + b) * (a - b) / b", [](const Inputs& v) { return (v[0] + v[1]) * (v[0] - v[1]) / v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, 0.5, 2)});
    }
}

TEST_CASE("gradgradcheck: binary ops with one operand held constant", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0003);
    for (const auto& [sa, sb] : kBinaryShapes) {
        const Tensor b = constant(rng, sb, 0.5, 2);
        check("mul, b constant", [](const Inputs& v) { return v[0] * v[1]; },
              {uniform(rng, sa, -1, 1), b});
        check("div, b constant", [](const Inputs& v) { return v[0] / v[1]; },
              {uniform(rng, sa, -1, 1), b});
        check("square(a * b), b constant", [](const Inputs& v) { return descent::square(v[0] * v[1]); },
              {uniform(rng, sa, -1, 1), b});
        check("square(a + b), b constant", [](const Inputs& v) { return descent::square(v[0] + v[1]); },
              {uniform(rng, sa, -1, 1), b});
        const Tensor a = constant(rng, sa, -1, 1);
        check("div, a constant", [](const Inputs& v) { return v[0] / v[1]; },
              {a, uniform(rng, sb, 0.5, 2)});
        check("sub, a constant", [](const Inputs& v) { return v[0] - v[1]; },
              {a, uniform(rng, sb, -1, 1)});
        check("square(a - b), a constant", [](const Inputs& v) { return descent::square(v[0] - v[1]); },
              {a, uniform(rng, sb, -1, 1)});
        check("exp(a * b), a constant", [](const Inputs& v) { return descent::exp(v[0] * v[1]); },
              {a, uniform(rng, sb, -1, 1)});
    }
}

// --- elementwise binary, tensor-scalar ----------------------------------------------------

TEST_CASE("gradgradcheck: tensor-scalar functions add, sub, rsub, mul, div, rdiv", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0004);
    for (const Shape& s : kElementwiseShapes) {
        check("add(a, 2.5)", [](const Inputs& v) { return descent::add(v[0], 2.5); },
              {uniform(rng, s, -1, 1)});
        check("sub(a, 2.5)", [](const Inputs& v) { return descent::sub(v[0], 2.5); },
              {uniform(rng, s, -1, 1)});
        check("rsub(2.5, a)", [](const Inputs& v) { return descent::rsub(2.5, v[0]); },
              {uniform(rng, s, -1, 1)});
        check("mul(a, -3)", [](const Inputs& v) { return descent::mul(v[0], -3.0); },
              {uniform(rng, s, -1, 1)});
        check("div(a, 0.7)", [](const Inputs& v) { return descent::div(v[0], 0.7); },
              {uniform(rng, s, -1, 1)});
        check("rdiv(1.5, a)", [](const Inputs& v) { return descent::rdiv(1.5, v[0]); },
              {uniform(rng, s, 0.5, 2)});
        check("rdiv(-2, a), a < 0", [](const Inputs& v) { return descent::rdiv(-2.0, v[0]); },
              {uniform(rng, s, -2, -0.5)});
        // Followed by square, so that each backward rule is differentiated in g as well.
        check("square(add(a, 2.5))", [](const Inputs& v) { return descent::square(descent::add(v[0], 2.5)); },
              {uniform(rng, s, -1, 1)});
        check("square(sub(a, 2.5))", [](const Inputs& v) { return descent::square(descent::sub(v[0], 2.5)); },
              {uniform(rng, s, -1, 1)});
        check("square(rsub(2.5, a))", [](const Inputs& v) { return descent::square(descent::rsub(2.5, v[0])); },
              {uniform(rng, s, -1, 1)});
        check("square(mul(a, -3))", [](const Inputs& v) { return descent::square(descent::mul(v[0], -3.0)); },
              {uniform(rng, s, -1, 1)});
        check("square(div(a, 0.7))", [](const Inputs& v) { return descent::square(descent::div(v[0], 0.7)); },
              {uniform(rng, s, -1, 1)});
        check("square(rdiv(1.5, a))", [](const Inputs& v) { return descent::square(descent::rdiv(1.5, v[0])); },
              {uniform(rng, s, 0.5, 2)});
    }
}

TEST_CASE("gradgradcheck: tensor-scalar operators and unary minus", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0005);
    for (const Shape& s : kElementwiseShapes) {
        check("a + 1.5", [](const Inputs& v) { return v[0] + 1.5; }, {uniform(rng, s, -1, 1)});
        check("1.5 + a", [](const Inputs& v) { return 1.5 + v[0]; }, {uniform(rng, s, -1, 1)});
        check("a - 1.5", [](const Inputs& v) { return v[0] - 1.5; }, {uniform(rng, s, -1, 1)});
        check("1.5 - a", [](const Inputs& v) { return 1.5 - v[0]; }, {uniform(rng, s, -1, 1)});
        check("a * 1.5", [](const Inputs& v) { return v[0] * 1.5; }, {uniform(rng, s, -1, 1)});
        check("1.5 * a", [](const Inputs& v) { return 1.5 * v[0]; }, {uniform(rng, s, -1, 1)});
        check("a / 1.5", [](const Inputs& v) { return v[0] / 1.5; }, {uniform(rng, s, -1, 1)});
        check("1.5 / a", [](const Inputs& v) { return 1.5 / v[0]; }, {uniform(rng, s, 0.5, 2)});
        check("-a", [](const Inputs& v) { return -v[0]; }, {uniform(rng, s, -1, 1)});
        // Each scalar operator between two nonlinear ops: g depends on a on both sides.
        check("exp(square(a) + 1.5)", [](const Inputs& v) { return descent::exp(descent::square(v[0]) + 1.5); },
              {uniform(rng, s, -1, 1)});
        check("exp(1.5 - square(a))", [](const Inputs& v) { return descent::exp(1.5 - descent::square(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("square(1.5 * a) * (a / 1.5)", [](const Inputs& v) { return descent::square(1.5 * v[0]) * (v[0] / 1.5); },
              {uniform(rng, s, -1, 1)});
        check("square(1.5 / a)", [](const Inputs& v) { return descent::square(1.5 / v[0]); },
              {uniform(rng, s, 0.5, 2)});
        check("square(-a) * a", [](const Inputs& v) { return descent::square(-v[0]) * v[0]; },
              {uniform(rng, s, -1, 1)});
    }
}

// --- elementwise unary --------------------------------------------------------------------

TEST_CASE("gradgradcheck: neg, square, sqrt, exp, log, tanh, sigmoid", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0006);
    for (const Shape& s : kElementwiseShapes) {
        check("neg", [](const Inputs& v) { return descent::neg(v[0]); }, {uniform(rng, s, -1, 1)});
        check("square", [](const Inputs& v) { return descent::square(v[0]); },
              {uniform(rng, s, -2, 2)});
        check("sqrt", [](const Inputs& v) { return descent::sqrt(v[0]); },
              {uniform(rng, s, 0.25, 4)});
        check("exp", [](const Inputs& v) { return descent::exp(v[0]); }, {uniform(rng, s, -2, 2)});
        check("log", [](const Inputs& v) { return descent::log(v[0]); },
              {uniform(rng, s, 0.25, 4)});
        check("tanh", [](const Inputs& v) { return descent::tanh(v[0]); },
              {uniform(rng, s, -2, 2)});
        check("sigmoid", [](const Inputs& v) { return descent::sigmoid(v[0]); },
              {uniform(rng, s, -4, 4)});
        // Each op below a nonlinear one (its rule differentiated in g) and above one (its
        // input an intermediate, not a leaf).
        check("square(neg(a)) * a", [](const Inputs& v) { return descent::square(descent::neg(v[0])) * v[0]; },
              {uniform(rng, s, -1, 1)});
        check("square(square(a))", [](const Inputs& v) { return descent::square(descent::square(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("sqrt(exp(a))", [](const Inputs& v) { return descent::sqrt(descent::exp(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("exp(tanh(a))", [](const Inputs& v) { return descent::exp(descent::tanh(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("log(1 + square(a))", [](const Inputs& v) { return descent::log(1.0 + descent::square(v[0])); },
              {uniform(rng, s, -2, 2)});
        check("tanh(2 * sigmoid(a))", [](const Inputs& v) { return descent::tanh(2.0 * descent::sigmoid(v[0])); },
              {uniform(rng, s, -2, 2)});
        check("sigmoid(a) * a", [](const Inputs& v) { return descent::sigmoid(v[0]) * v[0]; },
              {uniform(rng, s, -3, 3)});
    }
}

TEST_CASE("gradgradcheck: pow with scalar exponents", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0007);
    for (const Shape& s : kElementwiseShapes) {
        for (const double p : {0.0, 1.0, 2.0, 3.0, -1.0, 0.5, -1.5}) {
            INFO("exponent " << p);
            check("pow", [p](const Inputs& v) { return descent::pow(v[0], p); },
                  {uniform(rng, s, 0.5, 2)});
            check("pow(a, p) * a", [p](const Inputs& v) { return descent::pow(v[0], p) * v[0]; },
                  {uniform(rng, s, 0.5, 2)});
        }
        // Integer exponents are defined for negative bases too.
        for (const double p : {2.0, 3.0}) {
            INFO("exponent " << p << ", negative base");
            check("pow", [p](const Inputs& v) { return descent::pow(v[0], p); },
                  {uniform(rng, s, -2, -0.5)});
        }
    }
    // pow of an intermediate, followed by a nonlinear op.
    check("exp(pow(1 + square(a), 1.5))",
          [](const Inputs& v) { return descent::exp(descent::pow(1.0 + descent::square(v[0]), 1.5)); },
          {uniform(rng, {3, 4}, -1, 1)});
}

TEST_CASE("pow with exponents 0, 1, 2, 3 has finite second derivatives at x = 0",
          "[gradgradcheck]") {
    // The second derivative of x^p is p (p-1) x^(p-2): 0, 0, 2, 6x for p = 0, 1, 2, 3, finite at
    // x = 0. A rule that differentiates x^(p-1) as (p-1) x^(p-2) without treating exponent 0
    // specially gives 0 * x^-1 = 0 * inf = NaN at 0 for p = 1 (as the first-order rule would
    // for p = 0; see test_gradcheck.cpp). The central difference straddles 0: it is exact for
    // these polynomials.
    for (const double p : {0.0, 1.0, 2.0, 3.0}) {
        INFO("exponent " << p);
        Tensor x = descent::from_vector(std::vector<double>{0.0, 1.0, -2.0});
        x.requires_grad_();
        check("pow at 0", [p](const Inputs& v) { return descent::pow(v[0], p); }, {x});
    }
}

TEST_CASE("gradgradcheck: dropout inside smooth functions", "[gradgradcheck]") {
    // The mask is a constant: dropout's rule g * mask is differentiable in g.
    std::mt19937_64 rng(0x99ed0031);
    for (const Shape& s : kElementwiseShapes) {
        check("tanh(dropout)", [](const Inputs& v) { return descent::tanh(descent::dropout(v[0], 0.4, 5)); },
              {uniform(rng, s, -2, 2)});
        check("dropout(x) * y", [](const Inputs& v) { return descent::dropout(v[0], 0.5, 6, 3) * v[1]; },
              {uniform(rng, s, -2, 2), uniform(rng, s, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: relu away from its kink", "[gradgradcheck]") {
    // relu'' is 0 away from 0; what is checked is that its rule g * step(x) is differentiable
    // in g (the cases below relu's downstream nonlinearity) and that step(x) counts as constant.
    std::mt19937_64 rng(0x99ed0008);
    for (const Shape& s : kElementwiseShapes) {
        check("relu", [](const Inputs& v) { return descent::relu(v[0]); },
              {away_from_zero(rng, s, 0.1, 2)});
        check("square(relu)", [](const Inputs& v) { return descent::square(descent::relu(v[0])); },
              {away_from_zero(rng, s, 0.1, 2)});
        check("relu(x) * y", [](const Inputs& v) { return descent::relu(v[0]) * v[1]; },
              {away_from_zero(rng, s, 0.1, 2), uniform(rng, s, -1, 1)});
    }
    // All-positive and all-negative inputs exercise both branches on their own.
    check("relu (positive)", [](const Inputs& v) { return descent::exp(descent::relu(v[0])); },
          {uniform(rng, {3, 4}, 0.1, 2)});
    check("relu (negative)", [](const Inputs& v) { return descent::exp(descent::relu(v[0])); },
          {uniform(rng, {3, 4}, -2, -0.1)});
}

// --- linear algebra -------------------------------------------------------------------------

TEST_CASE("gradgradcheck: linear (x Wᵀ + b) and a two-layer net through each activation", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0019);
    const Fn lin_sq = [](const Inputs& v) { return descent::square(descent::linear(v[0], v[1], v[2])); };
    for (const auto& [n, in, out] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
             {5, 3, 4}, {1, 1, 1}, {7, 2, 1}, {4, 6, 3}}) {
        check("square(linear)", lin_sq, {uniform(rng, {n, in}, -1, 1), uniform(rng, {out, in}, -1, 1),
                                         uniform(rng, {out}, -1, 1)});
        check("square(linear), no bias", [](const Inputs& v) { return descent::square(descent::linear(v[0], v[1])); },
              {uniform(rng, {n, in}, -1, 1), uniform(rng, {out, in}, -1, 1)});
        check("square(linear), x constant", lin_sq, {constant(rng, {n, in}, -1, 1), uniform(rng, {out, in}, -1, 1),
                                                     uniform(rng, {out}, -1, 1)});
    }
    // The activations' fused first-order backward must not stand in for the differentiable rule.
    for (const auto& act : std::vector<std::function<Tensor(const Tensor&)>>{
             [](const Tensor& t) { return descent::tanh(t); }, [](const Tensor& t) { return descent::sigmoid(t); }}) {
        check("linear(act(linear))",
              [act](const Inputs& v) { return descent::linear(act(descent::linear(v[0], v[1], v[2])), v[3], v[4]); },
              {uniform(rng, {6, 3}, -1, 1), uniform(rng, {4, 3}, -1, 1), uniform(rng, {4}, -1, 1),
               uniform(rng, {2, 4}, -1, 1), uniform(rng, {2}, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: matmul of matrices and vectors", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0009);
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{3, 4}, {4, 2}},  // matrix-matrix
        {{1, 1}, {1, 1}},
        {{2, 5}, {5, 3}},
        {{1, 4}, {4, 1}},
        {{7, 2}, {2, 7}},
        {{5, 3}, {3}},     // matrix-vector
        {{1, 1}, {1}},
        {{3}, {3, 5}},     // vector-matrix
        {{1}, {1, 4}},
        {{4}, {4}},        // vector-vector
        {{1}, {1}},
    };
    const Fn mm = [](const Inputs& v) { return descent::matmul(v[0], v[1]); };
    // Squared afterwards: the upstream gradient of matmul's rule depends on both operands.
    const Fn mm_sq = [](const Inputs& v) { return descent::square(descent::matmul(v[0], v[1])); };
    for (const auto& [sa, sb] : cases) {
        check("matmul", mm, {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("square(matmul)", mm_sq, {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        const Tensor a = constant(rng, sa, -1, 1);
        check("matmul, a constant", mm, {a, uniform(rng, sb, -1, 1)});
        check("square(matmul), a constant", mm_sq, {a, uniform(rng, sb, -1, 1)});
        const Tensor b = constant(rng, sb, -1, 1);
        check("matmul, b constant", mm, {uniform(rng, sa, -1, 1), b});
        check("square(matmul), b constant", mm_sq, {uniform(rng, sa, -1, 1), b});
        // Operands that are intermediates of the graph.
        check("matmul(tanh(a), exp(b))",
              [](const Inputs& v) { return descent::matmul(descent::tanh(v[0]), descent::exp(v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        // The same tensor on both sides, where shapes allow.
        if (sa == sb && (sa.size() == 1 || sa[0] == sa[1])) {
            check("matmul(x, x)", [](const Inputs& v) { return descent::matmul(v[0], v[0]); },
                  {uniform(rng, sa, -1, 1)});
        }
    }
}

TEST_CASE("gradgradcheck: transpose", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000a);
    for (const Shape& s : std::vector<Shape>{{3, 4}, {1, 1}, {7, 2}, {1, 5}, {5}, {}}) {
        check("transpose", [](const Inputs& v) { return descent::transpose(v[0]); },
              {uniform(rng, s, -1, 1)});
        check("Tensor::t", [](const Inputs& v) { return v[0].t(); }, {uniform(rng, s, -1, 1)});
        check("square(transpose)", [](const Inputs& v) { return descent::square(descent::transpose(v[0])); },
              {uniform(rng, s, -1, 1)});
        // Through a product so that the transposed layout matters downstream.
        check("transpose then mul", [](const Inputs& v) {
            return descent::transpose(v[0]) * descent::transpose(v[1]);
        }, {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
    }
    check("matmul(x, transpose(x))",
          [](const Inputs& v) { return descent::matmul(v[0], descent::transpose(v[0])); },
          {uniform(rng, {3, 4}, -1, 1)});
    check("matmul(transpose(x), tanh(x))",
          [](const Inputs& v) { return descent::matmul(descent::transpose(v[0]), descent::tanh(v[0])); },
          {uniform(rng, {3, 2}, -1, 1)});
}

TEST_CASE("gradgradcheck: reshape, including an inferred dimension", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000b);
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{3, 4}, {4, 3}}, {{3, 4}, {12}},     {{3, 4}, {-1}},   {{3, 4}, {2, -1}},
        {{3, 4}, {-1, 6}}, {{12}, {3, -1}},   {{12}, {2, 3, 2}}, {{12}, {2, -1, 2}},
        {{}, {1}},        {{1}, {}},          {{1, 1}, {-1}},   {{}, {1, 1}},
        {{7, 2}, {2, 7}}, {{5}, {5, 1}},
    };
    for (const auto& [from, to] : cases) {
        const Shape target = to;
        INFO("target " << descent::shape_str(target));
        check("reshape", [target](const Inputs& v) { return descent::reshape(v[0], target); },
              {uniform(rng, from, -1, 1)});
        check("Tensor::reshape then square",
              [target](const Inputs& v) { return descent::square(v[0].reshape(target)); },
              {uniform(rng, from, -1, 1)});
        check("reshape(tanh) * reshape",
              [target](const Inputs& v) {
                  return descent::reshape(descent::tanh(v[0]), target) * descent::reshape(v[0], target);
              },
              {uniform(rng, from, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: broadcast_to", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000c);
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{4}, {3, 4}}, {{3, 1}, {3, 4}}, {{}, {2, 3}}, {{1}, {5}},      {{1, 1}, {2, 3}},
        {{3}, {2, 1, 3}}, {{5}, {5}},    {{}, {}},     {{1, 4}, {3, 4}}, {{}, {1}},
    };
    for (const auto& [from, to] : cases) {
        const Shape target = to;
        INFO("target " << descent::shape_str(target));
        check("broadcast_to",
              [target](const Inputs& v) { return descent::broadcast_to(v[0], target); },
              {uniform(rng, from, -1, 1)});
        // The upstream gradient varies along the broadcast dimensions: its sum_to matters.
        check("square(broadcast_to)",
              [target](const Inputs& v) { return descent::square(descent::broadcast_to(v[0], target)); },
              {uniform(rng, from, -1, 1)});
        check("broadcast_to(exp) * broadcast_to",
              [target](const Inputs& v) {
                  return descent::broadcast_to(descent::exp(v[0]), target) *
                         descent::broadcast_to(v[0], target);
              },
              {uniform(rng, from, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: sum_to", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000d);
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{3, 4}, {4}},   {{3, 4}, {3, 1}}, {{3, 4}, {1, 4}}, {{3, 4}, {}},      {{3, 4}, {1}},
        {{3, 4}, {1, 1}}, {{5}, {}},       {{5}, {1}},       {{2, 3, 4}, {3, 1}}, {{7, 2}, {7, 2}},
    };
    for (const auto& [from, to] : cases) {
        const Shape target = to;
        INFO("target " << descent::shape_str(target));
        check("sum_to", [target](const Inputs& v) { return descent::sum_to(v[0], target); },
              {uniform(rng, from, -1, 1)});
        check("square(sum_to)",
              [target](const Inputs& v) { return descent::square(descent::sum_to(v[0], target)); },
              {uniform(rng, from, -1, 1)});
        check("sum_to(square)",
              [target](const Inputs& v) { return descent::sum_to(descent::square(v[0]), target); },
              {uniform(rng, from, -1, 1)});
    }
}

// --- reductions -----------------------------------------------------------------------------

TEST_CASE("gradgradcheck: sum and mean of the whole tensor", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000e);
    for (const Shape& s : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}, {2, 3, 2}}) {
        check("sum", [](const Inputs& v) { return descent::sum(v[0]); }, {uniform(rng, s, -1, 1)});
        check("mean", [](const Inputs& v) { return descent::mean(v[0]); },
              {uniform(rng, s, -1, 1)});
        check("Tensor::sum", [](const Inputs& v) { return v[0].sum(); }, {uniform(rng, s, -1, 1)});
        check("Tensor::mean", [](const Inputs& v) { return v[0].mean(); },
              {uniform(rng, s, -1, 1)});
        check("mean(square)", [](const Inputs& v) { return descent::mean(descent::square(v[0])); },
              {uniform(rng, s, -1, 1)});
        // The reduction's rule gets an upstream gradient that depends on x.
        check("square(sum)", [](const Inputs& v) { return descent::square(descent::sum(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("exp(mean)", [](const Inputs& v) { return descent::exp(descent::mean(v[0])); },
              {uniform(rng, s, -1, 1)});
        check("Tensor::sum times Tensor::mean",
              [](const Inputs& v) { return v[0].sum() * v[0].mean(); }, {uniform(rng, s, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: sum and mean along each axis", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed000f);
    for (const Shape& s : std::vector<Shape>{{1}, {5}, {3, 4}, {1, 1}, {7, 2}, {2, 3, 4}}) {
        const auto rank = static_cast<std::int64_t>(s.size());
        for (std::int64_t axis = -rank; axis < rank; ++axis) {
            for (const bool keepdim : {false, true}) {
                INFO("axis " << axis << ", keepdim " << keepdim);
                check("sum(axis)",
                      [axis, keepdim](const Inputs& v) { return descent::sum(v[0], axis, keepdim); },
                      {uniform(rng, s, -1, 1)});
                check("mean(axis)",
                      [axis, keepdim](const Inputs& v) {
                          return descent::mean(v[0], axis, keepdim);
                      },
                      {uniform(rng, s, -1, 1)});
                // Square afterwards: the upstream gradient then varies along the kept axes.
                check("square(sum(axis))",
                      [axis, keepdim](const Inputs& v) {
                          return descent::square(descent::sum(v[0], axis, keepdim));
                      },
                      {uniform(rng, s, -1, 1)});
                check("square(mean(axis))",
                      [axis, keepdim](const Inputs& v) {
                          return descent::square(descent::mean(v[0], axis, keepdim));
                      },
                      {uniform(rng, s, -1, 1)});
                check("mean(square, axis)",
                      [axis, keepdim](const Inputs& v) {
                          return descent::mean(descent::square(v[0]), axis, keepdim);
                      },
                      {uniform(rng, s, -1, 1)});
            }
        }
    }
}

// --- losses and copies ----------------------------------------------------------------------

TEST_CASE("gradgradcheck: mse_loss in both arguments", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0010);
    const Fn f = [](const Inputs& v) { return descent::mse_loss(v[0], v[1]); };
    for (const Shape& s : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}}) {
        // The Hessian of mse_loss is constant (2/n in pred, -2/n across, 2/n in target): its
        // rule must be differentiable in pred and target, not only in g.
        check("mse_loss", f, {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
        const Tensor target = constant(rng, s, -1, 1);
        check("mse_loss, target constant", f, {uniform(rng, s, -1, 1), target});
        const Tensor pred = constant(rng, s, -1, 1);
        check("mse_loss, pred constant", f, {pred, uniform(rng, s, -1, 1)});
        // As an inner node, on intermediates: its upstream gradient is not constant.
        check("square(mse_loss(exp(a), b))",
              [](const Inputs& v) { return descent::square(descent::mse_loss(descent::exp(v[0]), v[1])); },
              {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
        check("3 * mse_loss(tanh(a), b * b)",
              [](const Inputs& v) { return 3.0 * descent::mse_loss(descent::tanh(v[0]), v[1] * v[1]); },
              {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
    }
}

TEST_CASE("gradgradcheck: clone and to(f64)", "[gradgradcheck]") {
    // The inputs are f64 (gradgradcheck refuses anything else), so to(DType::f64) is the
    // identity and returns its input; an f64 -> f32 -> f64 round trip would make the central
    // differences meaningless (f32 rounding swamps a 1e-6 step).
    std::mt19937_64 rng(0x99ed0011);
    for (const Shape& s : kElementwiseShapes) {
        check("clone", [](const Inputs& v) { return v[0].clone(); }, {uniform(rng, s, -1, 1)});
        check("square(clone) * x",
              [](const Inputs& v) { return descent::square(v[0].clone()) * v[0]; },
              {uniform(rng, s, -1, 1)});
        check("clone(square) * clone",
              [](const Inputs& v) { return descent::square(v[0]).clone() * v[0].clone(); },
              {uniform(rng, s, -1, 1)});
        check("to(f64)", [](const Inputs& v) { return v[0].to(DType::f64); },
              {uniform(rng, s, -1, 1)});
        check("square(to(f64)) * x",
              [](const Inputs& v) { return descent::square(v[0].to(DType::f64)) * v[0]; },
              {uniform(rng, s, -1, 1)});
        check("exp(tanh(x).to(f64))",
              [](const Inputs& v) { return descent::exp(descent::tanh(v[0]).to(DType::f64)); },
              {uniform(rng, s, -1, 1)});
    }
}

// --- selections, indexing and the softmax family ------------------------------------------
// The selections are piecewise linear: away from their kinks the second derivative is 0, and
// what is checked is that their rules are differentiable in g (followed by square, the
// upstream gradient depends on the inputs). The softmax family and the classification losses
// are smooth and are checked as they are and inside larger graphs.

TEST_CASE("gradgradcheck: abs, log1p, clamp", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0017);
    for (const Shape& s : kElementwiseShapes) {
        check("square(abs)", [](const Inputs& v) { return descent::square(descent::abs(v[0])); },
              {away_from_zero(rng, s, 0.1, 2)});
        check("abs(x) * x", [](const Inputs& v) { return descent::abs(v[0]) * v[0]; },
              {away_from_zero(rng, s, 0.1, 2)});
        check("log1p", [](const Inputs& v) { return descent::log1p(v[0]); }, {uniform(rng, s, -0.5, 2)});
        check("square(clamp)", [](const Inputs& v) { return descent::square(descent::clamp(v[0], -0.5, 0.7)); },
              {uniform(rng, s, -2, 2)});
        check("exp(clamp_min) ", [](const Inputs& v) { return descent::exp(descent::clamp_min(v[0], 0.2)); },
              {uniform(rng, s, -2, 2)});
    }
}

TEST_CASE("gradgradcheck: maximum, minimum and where with broadcasting", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0018);
    for (const auto& [sa, sb] : kBinaryShapes) {
        check("square(maximum)", [](const Inputs& v) { return descent::square(descent::maximum(v[0], v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("minimum(a, b) * a", [](const Inputs& v) { return descent::minimum(v[0], v[1]) * v[0]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("where(mask, a * a, exp(b))",
              [](const Inputs& v) { return descent::where(v[2], v[0] * v[0], descent::exp(v[1])); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1), mask(rng, sb)});
    }
}

TEST_CASE("gradgradcheck: max, min and index_select", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0019);
    for (const Shape& s : kAxisShapes) {
        check("square(max)", [](const Inputs& v) { return descent::square(descent::max(v[0])); },
              {uniform(rng, s, -1, 1)});
        const auto rank = static_cast<std::int64_t>(s.size());
        for (std::int64_t axis = -rank; axis < rank; ++axis) {
            INFO("axis " << axis);
            check("square(min(axis, keepdim))",
                  [axis](const Inputs& v) { return descent::square(descent::min(v[0], axis, true)); },
                  {uniform(rng, s, -1, 1)});
            check("max(axis) * sum(axis)",
                  [axis](const Inputs& v) { return descent::max(v[0], axis) * descent::sum(v[0], axis); },
                  {uniform(rng, s, -1, 1)});
            const std::int64_t len = s[static_cast<std::size_t>(axis < 0 ? axis + rank : axis)];
            std::vector<double> idx{double(len - 1), 0.0, double(len - 1)};
            const Tensor index = descent::from_vector(idx, {3}, DType::f64);
            check("square(index_select)",
                  [axis, index](const Inputs& v) {
                      return descent::square(descent::index_select(v[0], axis, index));
                  },
                  {uniform(rng, s, -1, 1)});
        }
    }
}

TEST_CASE("gradgradcheck: logsumexp, softmax and log_softmax along each axis", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed001a);
    for (const Shape& s : kAxisShapes) {
        const auto rank = static_cast<std::int64_t>(s.size());
        for (std::int64_t axis = -rank; axis < rank; ++axis) {
            INFO("axis " << axis);
            for (const bool keepdim : {false, true}) {
                check("logsumexp",
                      [axis, keepdim](const Inputs& v) { return descent::logsumexp(v[0], axis, keepdim); },
                      {uniform(rng, s, -3, 3)});
            }
            check("softmax", [axis](const Inputs& v) { return descent::softmax(v[0], axis); },
                  {uniform(rng, s, -3, 3)});
            check("log_softmax", [axis](const Inputs& v) { return descent::log_softmax(v[0], axis); },
                  {uniform(rng, s, -3, 3)});
            check("square(log_softmax(x * y))",
                  [axis](const Inputs& v) { return descent::square(descent::log_softmax(v[0] * v[1], axis)); },
                  {uniform(rng, s, -2, 2), uniform(rng, s, -2, 2)});
            check("softmax of logits near 50", [axis](const Inputs& v) { return descent::softmax(v[0], axis); },
                  {uniform(rng, s, 48, 52)});
        }
    }
}

TEST_CASE("gradgradcheck: binary_cross_entropy_with_logits and cross_entropy", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed001b);
    const Fn bce = [](const Inputs& v) { return descent::binary_cross_entropy_with_logits(v[0], v[1]); };
    for (const Shape& s : kElementwiseShapes) {
        check("bce_with_logits", bce, {uniform(rng, s, -4, 4), uniform(rng, s, 0, 1)});
        check("bce_with_logits, target constant", bce, {uniform(rng, s, -4, 4), constant(rng, s, 0, 1)});
        check("square(bce_with_logits(a * b, b))",
              [](const Inputs& v) {
                  return descent::square(descent::binary_cross_entropy_with_logits(v[0] * v[1], v[1]));
              },
              {uniform(rng, s, -2, 2), uniform(rng, s, 0, 1)});
    }
    // Logistic regression's Hessian in w: Xᵀ diag(s (1 - s)) X / n.
    check("bce_with_logits(matmul(X, w), y)",
          [](const Inputs& v) { return descent::binary_cross_entropy_with_logits(descent::matmul(v[0], v[1]), v[2]); },
          {constant(rng, {9, 3}, -1, 1), uniform(rng, {3}, -1, 1), constant(rng, {9}, 0, 1)});
    const Fn ce = [](const Inputs& v) { return descent::cross_entropy(v[0], v[1]); };
    for (const auto& [n, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {1, 3}, {5, 4}, {8, 2}}) {
        check("cross_entropy", ce, {uniform(rng, {n, k}, -3, 3), labels(rng, n, k)});
        // Softmax regression: the Hessian in W.
        check("cross_entropy(matmul(X, W) + b)",
              [](const Inputs& v) { return descent::cross_entropy(descent::matmul(v[0], v[1]) + v[2], v[3]); },
              {constant(rng, {n, 3}, -1, 1), uniform(rng, {3, k}, -1, 1), uniform(rng, {k}, -1, 1),
               labels(rng, n, k)});
    }
}

// The composite graphs (linear regression, mixed graphs, a tanh MLP, diamonds) are checked to
// second order in test_gradcheck.cpp, on the same inputs as their first-order checks.

// --- gradgradcheck itself -------------------------------------------------------------------

TEST_CASE("gradgradcheck detects a wrong second derivative", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0015);
    const Fn wrong = [](const Inputs& v) { return cube(v[0], false); };
    const Fn right = [](const Inputs& v) { return cube(v[0], true); };
    for (const Shape& s : std::vector<Shape>{{}, {5}, {3, 4}}) {
        INFO("shape " << descent::shape_str(s));
        const Tensor x = away_from_zero(rng, s, 0.5, 2);
        // The premise: the first derivative 3x² of the wrong rule is right.
        const descent::GradcheckResult first = descent::gradcheck(wrong, {x});
        INFO("gradcheck: " << first.message);
        REQUIRE(first.ok);
        // Its second derivative is taken as 0 where the truth is 6 x v.
        const descent::GradcheckResult second = descent::gradgradcheck(wrong, {x});
        INFO("gradgradcheck: " << second.message);
        CHECK_FALSE(second.ok);
        CHECK_FALSE(second.message.empty());
        CHECK(second.max_abs_error > 0.0);
        // gradgradcheck leaves the input's grad as it found it (undefined here).
        CHECK_FALSE(x.grad().defined());

        // The rule built from x itself passes both checks.
        const descent::GradcheckResult first_right = descent::gradcheck(right, {x});
        INFO("gradcheck (right rule): " << first_right.message);
        CHECK(first_right.ok);
        const descent::GradcheckResult second_right = descent::gradgradcheck(right, {x});
        INFO("gradgradcheck (right rule): " << second_right.message);
        CHECK(second_right.ok);
    }
    // Also inside a graph, where the wrong op's upstream gradient is not constant.
    const Tensor y = away_from_zero(rng, {4}, 0.5, 2);
    const Fn wrong_inside = [](const Inputs& v) { return descent::tanh(cube(v[0], false) * 0.1); };
    REQUIRE(descent::gradcheck(wrong_inside, {y}).ok);
    CHECK_FALSE(descent::gradgradcheck(wrong_inside, {y}).ok);
    check("tanh(0.1 * cube(x)), right rule",
          [](const Inputs& v) { return descent::tanh(cube(v[0], true) * 0.1); }, {y});
}

TEST_CASE("gradgradcheck holds inputs without requires_grad constant", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0016);
    const Tensor c = constant(rng, {4}, -1, 1);
    // Only x is checked; G_x = v exp(c) depends on c, which stays fixed.
    check("x * exp(c)", [](const Inputs& v) { return v[0] * descent::exp(v[1]); },
          {uniform(rng, {4}, -1, 1), c});
    check("square(x) * exp(c)", [](const Inputs& v) { return descent::square(v[0]) * descent::exp(v[1]); },
          {uniform(rng, {4}, -1, 1), c});
    // Nothing requires grad: nothing to compare, trivially ok.
    const Tensor a = constant(rng, {3}, -1, 1);
    const descent::GradcheckResult r =
        descent::gradgradcheck([](const Inputs& v) { return descent::exp(v[0]); }, {a});
    CHECK(r.ok);
}

TEST_CASE("gradgradcheck leaves the inputs' grad() as it found them", "[gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0017);
    Tensor x = uniform(rng, {3}, -1, 1);
    Tensor y = uniform(rng, {3}, -1, 1);
    const Tensor before = descent::from_vector(std::vector<double>{1.0, 2.0, 3.0});
    x.set_grad(before);
    const Fn f = [](const Inputs& v) { return descent::exp(v[0] * v[1]); };
    CHECK(descent::gradgradcheck(f, {x, y}).ok);
    REQUIRE(x.grad().defined());
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1.0, 2.0, 3.0});
    CHECK_FALSE(y.grad().defined());
}

TEST_CASE("gradgradcheck refuses f32 inputs", "[gradgradcheck]") {
    const Fn f = [](const Inputs& v) { return descent::square(v[0]); };
    Tensor x32 = descent::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f});
    x32.requires_grad_();
    REQUIRE(x32.dtype() == DType::f32);
    REQUIRE_THROWS_AS(descent::gradgradcheck(f, {x32}), descent::Error);
    REQUIRE_THROWS_WITH(descent::gradgradcheck(f, {x32}), Catch::Matchers::Contains("f32"));
    // Also when only one of several inputs is f32, and when the f32 one is held constant.
    Tensor x64 = descent::from_vector(std::vector<double>{1.0, 2.0, 3.0});
    x64.requires_grad_();
    const Fn g = [](const Inputs& v) { return v[0] * v[1].to(DType::f64); };
    REQUIRE_THROWS_AS(descent::gradgradcheck(g, {x64, x32}), descent::Error);
    Tensor c32 = descent::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f});
    REQUIRE_THROWS_AS(descent::gradgradcheck(g, {x64, c32}), descent::Error);
}
