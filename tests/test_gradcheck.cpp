// Finite-difference gradient checks (descent::gradcheck, default options: eps 1e-6,
// rtol 1e-6, atol 1e-9) for every differentiable op, in f64, on fresh random inputs drawn
// from a per-test-case seeded std::mt19937_64, over several shapes (rank 0, 1, 2 where the op
// allows). Also composite graphs (shared subexpressions, broadcasting chains, a tanh MLP),
// checked to second order too (gradgradcheck; the ops one by one are in
// test_gradgradcheck.cpp), and a check that gradcheck really can fail.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
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

namespace {

using namespace gradcheck_inputs;

void check(const std::string& what, const Fn& f, const Inputs& inputs) {
    check_with([](const Fn& fn, const Inputs& in) { return descent::gradcheck(fn, in); }, what, f,
               inputs);
}

// The composite graphs: first and second derivatives (gradgradcheck) on the same inputs.
void check_both(const std::string& what, const Fn& f, const Inputs& inputs) {
    check(what, f, inputs);
    check_with([](const Fn& fn, const Inputs& in) { return descent::gradgradcheck(fn, in); },
               what + " (second derivatives)", f, inputs);
}

}  // namespace

// --- elementwise binary, tensor-tensor ----------------------------------------------------

TEST_CASE("gradcheck: add, sub, mul, div with equal and broadcast shapes", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0001);
    for (const auto& [sa, sb] : kBinaryShapes) {
        // Divisors stay in [0.5, 2) so that 1/b is smooth and well scaled.
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
    }
}

TEST_CASE("gradcheck: binary operators +, -, *, / between tensors", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0002);
    for (const auto& [sa, sb] : kBinaryShapes) {
        check("operator+", [](const Inputs& v) { return v[0] + v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator-", [](const Inputs& v) { return v[0] - v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator*", [](const Inputs& v) { return v[0] * v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("operator/", [](const Inputs& v) { return v[0] / v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, 0.5, 2)});
    }
}

TEST_CASE("gradcheck: binary ops with one operand held constant", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0003);
    for (const auto& [sa, sb] : kBinaryShapes) {
        Tensor b = uniform(rng, sb, 0.5, 2);
        b.requires_grad_(false);
        check("mul, b constant", [](const Inputs& v) { return v[0] * v[1]; },
              {uniform(rng, sa, -1, 1), b});
        check("div, b constant", [](const Inputs& v) { return v[0] / v[1]; },
              {uniform(rng, sa, -1, 1), b});
        Tensor a = uniform(rng, sa, -1, 1);
        a.requires_grad_(false);
        check("div, a constant", [](const Inputs& v) { return v[0] / v[1]; },
              {a, uniform(rng, sb, 0.5, 2)});
        check("sub, a constant", [](const Inputs& v) { return v[0] - v[1]; },
              {a, uniform(rng, sb, -1, 1)});
    }
}

// --- elementwise binary, tensor-scalar ----------------------------------------------------

TEST_CASE("gradcheck: tensor-scalar functions add, sub, rsub, mul, div, rdiv", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0004);
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
    }
}

TEST_CASE("gradcheck: tensor-scalar operators and unary minus", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0005);
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
    }
}

// --- elementwise unary --------------------------------------------------------------------

TEST_CASE("gradcheck: neg, square, sqrt, exp, log, tanh, sigmoid", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0006);
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
    }
}

TEST_CASE("gradcheck: pow with scalar exponents", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0007);
    for (const Shape& s : kElementwiseShapes) {
        for (const double p : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0}) {
            INFO("exponent " << p);
            check("pow", [p](const Inputs& v) { return descent::pow(v[0], p); },
                  {uniform(rng, s, 0.5, 2)});
        }
        // Integer exponents are defined for negative bases too.
        for (const double p : {2.0, 3.0}) {
            INFO("exponent " << p << ", negative base");
            check("pow", [p](const Inputs& v) { return descent::pow(v[0], p); },
                  {uniform(rng, s, -2, -0.5)});
        }
    }
}

TEST_CASE("gradcheck: relu away from its kink", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0008);
    for (const Shape& s : kElementwiseShapes) {
        check("relu", [](const Inputs& v) { return descent::relu(v[0]); },
              {away_from_zero(rng, s, 0.1, 2)});
    }
    // All-positive and all-negative inputs exercise both branches on their own.
    check("relu (positive)", [](const Inputs& v) { return descent::relu(v[0]); },
          {uniform(rng, {3, 4}, 0.1, 2)});
    check("relu (negative)", [](const Inputs& v) { return descent::relu(v[0]); },
          {uniform(rng, {3, 4}, -2, -0.1)});
}

TEST_CASE("gradcheck: dropout (a fixed mask: seed and offset)", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0031);
    for (const Shape& s : kElementwiseShapes)
        for (const double p : {0.0, 0.3, 0.7}) {
            INFO("p = " << p);
            check("dropout", [p](const Inputs& v) { return descent::dropout(v[0], p, 42, 7); },
                  {uniform(rng, s, -2, 2)});
        }
}

// --- linear algebra -------------------------------------------------------------------------

TEST_CASE("gradcheck: matmul of matrices and vectors", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0009);
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
    for (const auto& [sa, sb] : cases) {
        check("matmul", mm, {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        Tensor a = uniform(rng, sa, -1, 1);
        a.requires_grad_(false);
        check("matmul, a constant", mm, {a, uniform(rng, sb, -1, 1)});
        Tensor b = uniform(rng, sb, -1, 1);
        b.requires_grad_(false);
        check("matmul, b constant", mm, {uniform(rng, sa, -1, 1), b});
        // The same tensor on both sides (x·x, xᵀ-free cases only where shapes allow).
        if (sa == sb && (sa.size() == 1 || sa[0] == sa[1])) {
            check("matmul(x, x)", [](const Inputs& v) { return descent::matmul(v[0], v[0]); },
                  {uniform(rng, sa, -1, 1)});
        }
    }
}

TEST_CASE("gradcheck: linear (x Wᵀ + b) with and without bias, vector x, constants", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0019);
    const Fn with_bias = [](const Inputs& v) { return descent::linear(v[0], v[1], v[2]); };
    const Fn no_bias = [](const Inputs& v) { return descent::linear(v[0], v[1]); };
    for (const auto& [n, in, out] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
             {5, 3, 4}, {1, 1, 1}, {7, 2, 1}, {1, 6, 3}, {9, 8, 5}}) {
        check("linear", with_bias, {uniform(rng, {n, in}, -1, 1), uniform(rng, {out, in}, -1, 1),
                                    uniform(rng, {out}, -1, 1)});
        check("linear, no bias", no_bias, {uniform(rng, {n, in}, -1, 1), uniform(rng, {out, in}, -1, 1)});
        check("linear, vector x", with_bias, {uniform(rng, {in}, -1, 1), uniform(rng, {out, in}, -1, 1),
                                              uniform(rng, {out}, -1, 1)});
        Tensor x = uniform(rng, {n, in}, -1, 1);
        x.requires_grad_(false);
        check("linear, x constant", with_bias, {x, uniform(rng, {out, in}, -1, 1), uniform(rng, {out}, -1, 1)});
        Tensor w = uniform(rng, {out, in}, -1, 1);
        w.requires_grad_(false);
        check("linear, W constant", with_bias, {uniform(rng, {n, in}, -1, 1), w, uniform(rng, {out}, -1, 1)});
    }
    // Two layers through each activation, as a net is built.
    for (const auto& act : std::vector<std::function<Tensor(const Tensor&)>>{
             [](const Tensor& t) { return descent::tanh(t); }, [](const Tensor& t) { return descent::sigmoid(t); }}) {
        check("linear(act(linear))",
              [act](const Inputs& v) { return descent::linear(act(descent::linear(v[0], v[1], v[2])), v[3], v[4]); },
              {uniform(rng, {6, 3}, -1, 1), uniform(rng, {4, 3}, -1, 1), uniform(rng, {4}, -1, 1),
               uniform(rng, {2, 4}, -1, 1), uniform(rng, {2}, -1, 1)});
    }
}

TEST_CASE("linear refuses mismatched shapes, dtypes and devices with one clear line", "[gradcheck][errors]") {
    std::mt19937_64 rng(0x5eed001a);
    const Tensor x = uniform(rng, {5, 3}, -1, 1), w = uniform(rng, {4, 3}, -1, 1);
    CHECK_THROWS_WITH(descent::linear(x, uniform(rng, {4, 2}, -1, 1)),
                      Catch::Contains("linear: expects x (n, in) or (in) and weight (out, in)"));
    CHECK_THROWS_WITH(descent::linear(x, w, uniform(rng, {3}, -1, 1)),
                      Catch::Contains("linear: bias (3,) does not match weight (4, 3) (expects (4,))"));
    CHECK_THROWS_WITH(descent::linear(uniform(rng, {2, 5, 3}, -1, 1), w), Catch::Contains("linear: expects"));
    CHECK_THROWS_WITH(descent::linear(x, w.to(DType::f32)), Catch::Contains("linear"));
}

TEST_CASE("gradcheck: transpose", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000a);
    for (const Shape& s : std::vector<Shape>{{3, 4}, {1, 1}, {7, 2}, {1, 5}, {5}, {}}) {
        check("transpose", [](const Inputs& v) { return descent::transpose(v[0]); },
              {uniform(rng, s, -1, 1)});
        check("Tensor::t", [](const Inputs& v) { return v[0].t(); }, {uniform(rng, s, -1, 1)});
        // Through a product so that the transposed layout matters downstream.
        check("transpose then mul", [](const Inputs& v) {
            return descent::transpose(v[0]) * descent::transpose(v[1]);
        }, {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
    }
    check("matmul(x, transpose(x))",
          [](const Inputs& v) { return descent::matmul(v[0], descent::transpose(v[0])); },
          {uniform(rng, {3, 4}, -1, 1)});
}

TEST_CASE("gradcheck: reshape, including an inferred dimension", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000b);
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
    }
}

TEST_CASE("gradcheck: broadcast_to", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000c);
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
    }
}

TEST_CASE("gradcheck: sum_to", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000d);
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{3, 4}, {4}},   {{3, 4}, {3, 1}}, {{3, 4}, {1, 4}}, {{3, 4}, {}},      {{3, 4}, {1}},
        {{3, 4}, {1, 1}}, {{5}, {}},       {{5}, {1}},       {{2, 3, 4}, {3, 1}}, {{7, 2}, {7, 2}},
    };
    for (const auto& [from, to] : cases) {
        const Shape target = to;
        INFO("target " << descent::shape_str(target));
        // Through square so that the Jacobian is not just a 0/1 pattern.
        check("sum_to", [target](const Inputs& v) { return descent::sum_to(v[0], target); },
              {uniform(rng, from, -1, 1)});
        check("square(sum_to)",
              [target](const Inputs& v) { return descent::square(descent::sum_to(v[0], target)); },
              {uniform(rng, from, -1, 1)});
    }
}

// --- reductions -----------------------------------------------------------------------------

TEST_CASE("gradcheck: sum and mean of the whole tensor", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000e);
    for (const Shape& s : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}, {2, 3, 2}}) {
        check("sum", [](const Inputs& v) { return descent::sum(v[0]); }, {uniform(rng, s, -1, 1)});
        check("mean", [](const Inputs& v) { return descent::mean(v[0]); },
              {uniform(rng, s, -1, 1)});
        check("Tensor::sum", [](const Inputs& v) { return v[0].sum(); }, {uniform(rng, s, -1, 1)});
        check("Tensor::mean", [](const Inputs& v) { return v[0].mean(); },
              {uniform(rng, s, -1, 1)});
        check("mean(square)", [](const Inputs& v) { return descent::mean(descent::square(v[0])); },
              {uniform(rng, s, -1, 1)});
    }
}

TEST_CASE("gradcheck: sum and mean along each axis", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed000f);
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
                check("square(mean(axis))",
                      [axis, keepdim](const Inputs& v) {
                          return descent::square(descent::mean(v[0], axis, keepdim));
                      },
                      {uniform(rng, s, -1, 1)});
            }
        }
    }
}

// --- losses and copies ----------------------------------------------------------------------

TEST_CASE("gradcheck: mse_loss in both arguments", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0010);
    const Fn f = [](const Inputs& v) { return descent::mse_loss(v[0], v[1]); };
    for (const Shape& s : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}}) {
        check("mse_loss", f, {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
        Tensor target = uniform(rng, s, -1, 1);
        target.requires_grad_(false);
        check("mse_loss, target constant", f, {uniform(rng, s, -1, 1), target});
        Tensor pred = uniform(rng, s, -1, 1);
        pred.requires_grad_(false);
        check("mse_loss, pred constant", f, {pred, uniform(rng, s, -1, 1)});
        // As an inner node: its upstream gradient is not 1.
        check("3 * mse_loss(exp(a), b)",
              [](const Inputs& v) { return 3.0 * descent::mse_loss(descent::exp(v[0]), v[1]); },
              {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
    }
}

TEST_CASE("gradcheck: clone", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0011);
    for (const Shape& s : kElementwiseShapes) {
        check("clone", [](const Inputs& v) { return v[0].clone(); }, {uniform(rng, s, -1, 1)});
        check("square(clone) * x",
              [](const Inputs& v) { return descent::square(v[0].clone()) * v[0]; },
              {uniform(rng, s, -1, 1)});
    }
}

// --- selections, indexing and the softmax family ------------------------------------------


TEST_CASE("gradcheck: abs and log1p", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0017);
    for (const Shape& s : kElementwiseShapes) {
        check("abs", [](const Inputs& v) { return descent::abs(v[0]); },
              {away_from_zero(rng, s, 0.1, 2)});
        check("log1p", [](const Inputs& v) { return descent::log1p(v[0]); },
              {uniform(rng, s, -0.5, 2)});
    }
}

TEST_CASE("gradcheck: clamp, clamp_min, clamp_max away from the bounds", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0018);
    for (const Shape& s : kElementwiseShapes) {
        // Values in [-2, 2): some below, inside and above [-0.5, 0.7].
        check("clamp", [](const Inputs& v) { return descent::clamp(v[0], -0.5, 0.7); },
              {uniform(rng, s, -2, 2)});
        check("clamp (min only)", [](const Inputs& v) { return descent::clamp(v[0], -0.5, std::nullopt); },
              {uniform(rng, s, -2, 2)});
        check("clamp_min", [](const Inputs& v) { return descent::clamp_min(v[0], 0.3); },
              {uniform(rng, s, -2, 2)});
        check("clamp_max", [](const Inputs& v) { return descent::clamp_max(v[0], -0.3); },
              {uniform(rng, s, -2, 2)});
        check("square(clamp)", [](const Inputs& v) { return descent::square(descent::clamp(v[0], -0.5, 0.7)); },
              {uniform(rng, s, -2, 2)});
    }
}

TEST_CASE("gradcheck: maximum and minimum with equal and broadcast shapes", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0019);
    for (const auto& [sa, sb] : kBinaryShapes) {
        // Independent uniform draws: no ties (where the function has a kink).
        check("maximum", [](const Inputs& v) { return descent::maximum(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("minimum", [](const Inputs& v) { return descent::minimum(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("max(a, b) * b", [](const Inputs& v) { return descent::max(v[0], v[1]) * v[1]; },
              {uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)});
        check("min(a, b), b constant", [](const Inputs& v) { return descent::min(v[0], v[1]); },
              {uniform(rng, sa, -1, 1), constant(rng, sb, -1, 1)});
    }
}

TEST_CASE("gradcheck: where with broadcast condition and operands", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed001a);
    struct Case {
        Shape cond, a, b;
    };
    const std::vector<Case> cases = {
        {{}, {}, {}},          {{5}, {5}, {5}},       {{3, 4}, {3, 4}, {3, 4}},
        {{3, 1}, {3, 4}, {4}}, {{4}, {3, 1}, {}},     {{3, 4}, {}, {3, 4}},
        {{1}, {2, 3}, {2, 1}}, {{2, 1, 3}, {4, 1}, {3}},
    };
    for (const Case& c : cases) {
        check("where", [](const Inputs& v) { return descent::where(v[0], v[1], v[2]); },
              {mask(rng, c.cond), uniform(rng, c.a, -1, 1), uniform(rng, c.b, -1, 1)});
        check("where, b constant",
              [](const Inputs& v) { return descent::where(v[0], descent::exp(v[1]), v[2]); },
              {mask(rng, c.cond), uniform(rng, c.a, -1, 1), constant(rng, c.b, -1, 1)});
    }
    // The condition from a comparison of the inputs themselves (piecewise function).
    check("where(gt(a, b), a * b, a - b)",
          [](const Inputs& v) {
              return descent::where(descent::gt(v[0], v[1]), v[0] * v[1], v[0] - v[1]);
          },
          {uniform(rng, {4, 3}, -1, 1), uniform(rng, {3}, -1, 1)});
}

TEST_CASE("gradcheck: max and min over everything and along each axis", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed001b);
    for (const Shape& s : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}, {2, 3, 4}}) {
        check("max", [](const Inputs& v) { return descent::max(v[0]); }, {uniform(rng, s, -1, 1)});
        check("min", [](const Inputs& v) { return descent::min(v[0]); }, {uniform(rng, s, -1, 1)});
        check("square(max) * sum", [](const Inputs& v) {
            return descent::square(descent::max(v[0])) * descent::sum(v[0]);
        }, {uniform(rng, s, -1, 1)});
    }
    for (const Shape& s : kAxisShapes) {
        const auto rank = static_cast<std::int64_t>(s.size());
        for (std::int64_t axis = -rank; axis < rank; ++axis) {
            for (const bool keepdim : {false, true}) {
                INFO("axis " << axis << ", keepdim " << keepdim);
                check("max(axis)",
                      [axis, keepdim](const Inputs& v) { return descent::max(v[0], axis, keepdim); },
                      {uniform(rng, s, -1, 1)});
                check("min(axis)",
                      [axis, keepdim](const Inputs& v) { return descent::min(v[0], axis, keepdim); },
                      {uniform(rng, s, -1, 1)});
                check("square(max(axis))",
                      [axis, keepdim](const Inputs& v) {
                          return descent::square(descent::max(v[0], axis, keepdim));
                      },
                      {uniform(rng, s, -1, 1)});
            }
        }
    }
}

TEST_CASE("gradcheck: index_select along each axis, with repeated indices", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed001c);
    for (const Shape& s : kAxisShapes) {
        const auto rank = static_cast<std::int64_t>(s.size());
        for (std::int64_t axis = -rank; axis < rank; ++axis) {
            const std::int64_t len = s[static_cast<std::size_t>(axis < 0 ? axis + rank : axis)];
            // Every position once in reverse, then the last one three more times, then none.
            std::vector<double> idx;
            for (std::int64_t l = len - 1; l >= 0; --l) idx.push_back(double(l));
            for (int k = 0; k < 3; ++k) idx.push_back(double(len - 1));
            for (const std::vector<double>& list : {idx, std::vector<double>{0}, std::vector<double>{}}) {
                const Tensor index = descent::from_vector(list, {static_cast<std::int64_t>(list.size())}, DType::f64);
                INFO("axis " << axis << ", " << list.size() << " indices");
                check("index_select",
                      [axis, index](const Inputs& v) { return descent::index_select(v[0], axis, index); },
                      {uniform(rng, s, -1, 1)});
                // Through square: the upstream gradient varies, so the index_add must route it.
                check("square(index_select)",
                      [axis, index](const Inputs& v) {
                          return descent::square(descent::index_select(v[0], axis, index));
                      },
                      {uniform(rng, s, -1, 1)});
            }
        }
    }
}

TEST_CASE("gradcheck: logsumexp, softmax and log_softmax along each axis", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed001d);
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
            // Large logits: the shift by the max must leave the derivative intact.
            check("softmax of logits near 50",
                  [axis](const Inputs& v) { return descent::softmax(v[0], axis); },
                  {uniform(rng, s, 48, 52)});
        }
    }
}

TEST_CASE("gradcheck: binary_cross_entropy_with_logits and cross_entropy", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed001e);
    const Fn bce = [](const Inputs& v) { return descent::binary_cross_entropy_with_logits(v[0], v[1]); };
    for (const Shape& s : kElementwiseShapes) {
        check("bce_with_logits", bce, {uniform(rng, s, -4, 4), uniform(rng, s, 0, 1)});
        check("bce_with_logits, target constant", bce, {uniform(rng, s, -4, 4), constant(rng, s, 0, 1)});
        check("3 * bce_with_logits(exp(a), b)",
              [](const Inputs& v) {
                  return 3.0 * descent::binary_cross_entropy_with_logits(descent::exp(v[0]), v[1]);
              },
              {uniform(rng, s, -1, 1), uniform(rng, s, 0, 1)});
    }
    // At x = 0 exactly: the derivative is sigmoid(0) - y (a composite of relu and abs gets -y).
    check("bce_with_logits at 0", bce,
          {descent::zeros({4}, DType::f64).requires_grad_(), constant(rng, {4}, 0, 1)});
    const Fn ce = [](const Inputs& v) { return descent::cross_entropy(v[0], v[1]); };
    for (const auto& [n, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {1, 3}, {5, 4}, {8, 2}}) {
        check("cross_entropy", ce, {uniform(rng, {n, k}, -3, 3), labels(rng, n, k)});
        check("cross_entropy(matmul(X, W))",
              [](const Inputs& v) { return descent::cross_entropy(descent::matmul(v[0], v[1]), v[2]); },
              {constant(rng, {n, 3}, -1, 1), uniform(rng, {3, k}, -1, 1), labels(rng, n, k)});
    }
}

// --- composite graphs -----------------------------------------------------------------------

TEST_CASE("gradcheck and gradgradcheck: linear regression loss mean(square(X·w - y))", "[gradcheck][gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0012);
    const Fn f = [](const Inputs& v) {
        return descent::mean(descent::square(descent::matmul(v[0], v[1]) - v[2]));
    };
    for (const auto& [n, d] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {1, 1}, {3, 2}, {8, 3}, {12, 4}}) {
        // Everything differentiable: X, w and y (second derivatives across X and w too).
        check_both("linear mse", f,
              {uniform(rng, {n, d}, -1, 1), uniform(rng, {d}, -1, 1), uniform(rng, {n}, -1, 1)});
        // The usual case: only w is a parameter; the Hessian is 2/n XᵀX.
        const Tensor X = constant(rng, {n, d}, -1, 1);
        const Tensor y = constant(rng, {n}, -1, 1);
        check_both("linear mse in w", f, {X, uniform(rng, {d}, -1, 1), y});
        check_both("mse_loss(X·w + b, y)",
              [](const Inputs& v) {
                  return descent::mse_loss(descent::matmul(v[0], v[1]) + v[3], v[2]);
              },
              {X, uniform(rng, {d}, -1, 1), y, uniform(rng, {}, -1, 1)});
    }
}

TEST_CASE("gradcheck and gradgradcheck: sigmoid(X·w) * tanh(X·v + b) and other mixed graphs", "[gradcheck][gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0013);
    check_both("sigmoid(X·w) * tanh(X·v + b)",
          [](const Inputs& v) {
              return descent::sigmoid(descent::matmul(v[0], v[1])) *
                     descent::tanh(descent::matmul(v[0], v[2]) + v[3]);
          },
          {uniform(rng, {6, 3}, -1, 1), uniform(rng, {3}, -1, 1), uniform(rng, {3}, -1, 1),
           uniform(rng, {}, -1, 1)});
    // Two-layer network with a smooth activation, row-broadcast biases and a scalar loss.
    const Fn mlp = [](const Inputs& v) {
        const Tensor h = descent::tanh(descent::matmul(v[0], v[1]) + v[2]);  // (5, 4)
        const Tensor out = descent::matmul(h, v[3]) + v[4];                   // (5)
        return descent::mean(descent::square(out - v[5]));
    };
    check_both("mlp", mlp,
          {uniform(rng, {5, 3}, -1, 1), uniform(rng, {3, 4}, -1, 1), uniform(rng, {4}, -1, 1),
           uniform(rng, {4}, -1, 1), uniform(rng, {}, -1, 1), uniform(rng, {5}, -1, 1)});
    // The usual Hessian of a 2-layer MLP: data fixed, parameters differentiable.
    check_both("mlp in its parameters", mlp,
          {constant(rng, {5, 3}, -1, 1), uniform(rng, {3, 4}, -1, 1), uniform(rng, {4}, -1, 1),
           uniform(rng, {4}, -1, 1), uniform(rng, {}, -1, 1), constant(rng, {5}, -1, 1)});
    // Row-wise softmax: column broadcasting of a keepdim reduction.
    check_both("softmax rows",
          [](const Inputs& v) {
              const Tensor e = descent::exp(v[0]);
              return e / descent::sum(e, 1, true);
          },
          {uniform(rng, {4, 3}, -1, 1)});
    // Standardisation along axis 0: mean and variance broadcast back over the rows.
    check_both("standardise columns",
          [](const Inputs& v) {
              const Tensor centered = v[0] - descent::mean(v[0], 0, true);
              const Tensor var = descent::mean(descent::square(centered), 0);
              return centered / descent::sqrt(var + 0.5);
          },
          {uniform(rng, {6, 3}, -1, 1)});
    // Logistic loss with log, exp, rsub and rdiv.
    check_both("logistic loss",
          [](const Inputs& v) {
              const Tensor z = descent::matmul(v[0], v[1]);
              const Tensor p = 1.0 / (1.0 + descent::exp(-z));
              return -descent::mean(v[2] * descent::log(p) + (1.0 - v[2]) * descent::log(1.0 - p));
          },
          {uniform(rng, {7, 2}, -1, 1), uniform(rng, {2}, -1, 1), uniform(rng, {7}, 0, 1)});
    // Shape ops chained: reshape, transpose, broadcast_to, sum_to, pow.
    check_both("shape chain",
          [](const Inputs& v) {
              const Tensor m = descent::transpose(descent::reshape(v[0], {3, -1}));  // (4, 3)
              const Tensor b = descent::broadcast_to(v[1], {4, 3});
              return descent::sum_to(descent::pow(m * b + 2.0, 1.5), {1, 3});
          },
          {uniform(rng, {12}, -1, 1), uniform(rng, {3}, -1, 1)});
    // Relu in a graph, inputs away from the kink.
    check_both("relu(x) * y - relu(-y)",
          [](const Inputs& v) { return descent::relu(v[0]) * v[1] - descent::relu(-v[1]); },
          {away_from_zero(rng, {3, 4}, 0.1, 1), away_from_zero(rng, {3, 4}, 0.1, 1)});
    // Non-scalar output of a mixed graph: the full Jacobian of every G_i is compared.
    check_both("matmul(X, W) / (1 + square(X)·1)",
          [](const Inputs& v) {
              return descent::matmul(v[0], v[1]) / (1.0 + descent::sum(descent::square(v[0]), 1, true));
          },
          {uniform(rng, {3, 4}, -1, 1), uniform(rng, {4, 2}, -1, 1)});
}

TEST_CASE("gradcheck and gradgradcheck: values used more than once (diamond graphs)", "[gradcheck][gradgradcheck]") {
    std::mt19937_64 rng(0x99ed0014);
    for (const Shape& s : kElementwiseShapes) {
        check_both("x * x", [](const Inputs& v) { return v[0] * v[0]; }, {uniform(rng, s, -1, 1)});
        check_both("x * x * x", [](const Inputs& v) { return v[0] * v[0] * v[0]; },
              {uniform(rng, s, -1, 1)});
        check_both("x + x + x", [](const Inputs& v) { return v[0] + v[0] + v[0]; },
              {uniform(rng, s, -1, 1)});
        check_both("x / x", [](const Inputs& v) { return v[0] / v[0]; }, {uniform(rng, s, 0.5, 2)});
        check_both("diamond through exp",
              [](const Inputs& v) {
                  const Tensor a = descent::exp(v[0]);           // shared intermediate
                  return descent::sigmoid(a) * a + a / (1.0 + a);  // three uses of a
              },
              {uniform(rng, s, -1, 1)});
        check_both("diamond through two branches",
              [](const Inputs& v) {
                  const Tensor a = descent::tanh(v[0] * v[1]);
                  const Tensor left = descent::square(a) + v[0];
                  const Tensor right = descent::exp(a) * v[1];
                  return left * right - a;
              },
              {uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)});
    }
    // A long chain reusing the previous result twice at each step.
    check_both("deep reuse",
          [](const Inputs& v) {
              Tensor h = v[0];
              for (int i = 0; i < 20; ++i) h = descent::tanh(h + 0.5 * h * h);
              return descent::sum(h);
          },
          {uniform(rng, {3, 2}, -0.5, 0.5)});
}

// --- gradgradcheck itself -------------------------------------------------------------------

TEST_CASE("gradcheck detects a wrong gradient", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0015);
    // d/dx (x * stopgrad(x)) is x under autodiff, but the true derivative is 2x.
    const Fn wrong = [](const Inputs& v) { return v[0] * v[0].detach(); };
    for (const Shape& s : std::vector<Shape>{{}, {5}, {3, 4}}) {
        INFO("shape " << descent::shape_str(s));
        const Tensor x = away_from_zero(rng, s, 0.5, 2);
        const descent::GradcheckResult result = descent::gradcheck(wrong, {x});
        CHECK_FALSE(result.ok);
        CHECK_FALSE(result.message.empty());
        // The worst error is |x - 2x| = |x| >= 0.5, relative error about 1/2.
        CHECK(result.max_abs_error >= 0.5 * (1.0 - 1e-6));
        CHECK(result.max_rel_error == Approx(0.5).epsilon(1e-4));
        // gradcheck leaves the input's grad as it found it (undefined here).
        CHECK_FALSE(x.grad().defined());
    }
    // The same function with the detach removed passes.
    check("x * x", [](const Inputs& v) { return v[0] * v[0]; },
          {away_from_zero(rng, {3, 4}, 0.5, 2)});
}

TEST_CASE("gradcheck does not pass NaN gradients or values", "[gradcheck]") {
    // |x| written as sqrt(square(x)): at x = 0 autodiff gives inf * 0 = NaN, while the
    // central difference is exactly 0. A NaN is never within tolerance of anything.
    Tensor x = descent::from_vector(std::vector<double>{0.0, 1.5});
    x.requires_grad_();
    const Fn abs_via_sqrt = [](const Inputs& v) { return descent::sqrt(descent::square(v[0])); };
    {
        const Tensor out = descent::sum(abs_via_sqrt({x}));
        out.backward();
        REQUIRE(std::isnan(x.grad().to_vector<double>()[0]));  // the premise of this case
        x.set_grad(Tensor());
    }
    const descent::GradcheckResult r1 = descent::gradcheck(abs_via_sqrt, {x});
    INFO("sqrt(square(x)) at 0: ok " << r1.ok << ", max_abs_error " << r1.max_abs_error);
    CHECK_FALSE(r1.ok);

    // sqrt of a negative number: NaN values and NaN derivatives on both sides.
    Tensor y = descent::from_vector(std::vector<double>{-1.0, 1.0});
    y.requires_grad_();
    const descent::GradcheckResult r2 =
        descent::gradcheck([](const Inputs& v) { return descent::sqrt(v[0]); }, {y});
    INFO("sqrt(x) at -1: ok " << r2.ok << ", max_abs_error " << r2.max_abs_error);
    CHECK_FALSE(r2.ok);
}

TEST_CASE("pow with exponent 0 has gradient 0 everywhere, including x = 0", "[gradcheck]") {
    // x^0 is the constant 1 (std::pow(0, 0) == 1), so its derivative is 0 at every x; the rule
    // p * x^(p-1) evaluates 0 * inf = NaN at x = 0 unless p == 0 is treated specially.
    Tensor x = descent::from_vector(std::vector<double>{0.0, 1.0, -2.0});
    x.requires_grad_();
    const Tensor out = descent::pow(x, 0.0);
    CHECK(out.to_vector<double>() == std::vector<double>{1.0, 1.0, 1.0});
    descent::sum(out).backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0.0, 0.0, 0.0});
}

TEST_CASE("gradcheck holds inputs without requires_grad constant", "[gradcheck]") {
    std::mt19937_64 rng(0x5eed0016);
    Tensor c = uniform(rng, {4}, -1, 1);
    c.requires_grad_(false);
    // Only x is checked; f still depends on c through a product.
    check("x * c", [](const Inputs& v) { return v[0] * descent::exp(v[1]); },
          {uniform(rng, {4}, -1, 1), c});
    // Nothing requires grad: nothing to compare, trivially ok.
    Tensor a = uniform(rng, {3}, -1, 1);
    a.requires_grad_(false);
    const descent::GradcheckResult r =
        descent::gradcheck([](const Inputs& v) { return descent::exp(v[0]); }, {a});
    CHECK(r.ok);
}

TEST_CASE("gradcheck refuses f32 inputs", "[gradcheck]") {
    const Fn f = [](const Inputs& v) { return descent::square(v[0]); };
    Tensor x32 = descent::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f});
    x32.requires_grad_();
    REQUIRE(x32.dtype() == DType::f32);
    REQUIRE_THROWS_AS(descent::gradcheck(f, {x32}), descent::Error);
    REQUIRE_THROWS_WITH(descent::gradcheck(f, {x32}), Catch::Matchers::Contains("f32"));
    // Also when only one of several inputs is f32.
    Tensor x64 = descent::from_vector(std::vector<double>{1.0, 2.0, 3.0});
    x64.requires_grad_();
    REQUIRE_THROWS_AS(descent::gradcheck([](const Inputs& v) { return v[0] * v[1].to(DType::f64); },
                                         {x64, x32}),
                      descent::Error);
}
