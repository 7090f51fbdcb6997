// What the finite-difference suites (test_gradcheck.cpp, first derivatives;
// test_gradgradcheck.cpp, second) share: random f64 inputs from a seeded std::mt19937_64, the
// shapes every op is checked over, and the check that runs a checker and requires it to pass.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/tensor.hpp"

namespace gradcheck_inputs {

using descent::DType;
using descent::Shape;
using descent::Tensor;
using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;
using Checker = std::function<descent::GradcheckResult(const Fn&, const Inputs&)>;

// Uniform values in [lo, hi), as an f64 leaf that requires grad.
inline Tensor uniform(std::mt19937_64& rng, const Shape& shape, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(static_cast<std::size_t>(descent::shape_numel(shape)));
    for (double& x : v) x = dist(rng);
    Tensor t = descent::from_vector(v, shape, DType::f64);
    t.requires_grad_();
    return t;
}

// As uniform(), but held constant by the checks (requires_grad() is false).
inline Tensor constant(std::mt19937_64& rng, const Shape& shape, double lo, double hi) {
    Tensor t = uniform(rng, shape, lo, hi);
    t.requires_grad_(false);
    return t;
}

// Uniform magnitudes in [lo, hi) with a random sign: keeps values away from 0 (relu's kink,
// the counterexamples whose wrong derivative is right at 0) while covering both signs.
inline Tensor away_from_zero(std::mt19937_64& rng, const Shape& shape, double lo, double hi) {
    std::uniform_real_distribution<double> mag(lo, hi);
    std::bernoulli_distribution sign(0.5);
    std::vector<double> v(static_cast<std::size_t>(descent::shape_numel(shape)));
    for (double& x : v) x = sign(rng) ? mag(rng) : -mag(rng);
    Tensor t = descent::from_vector(v, shape, DType::f64);
    t.requires_grad_();
    return t;
}

// Class labels 0 .. k-1 as an f64 constant (n), for cross_entropy.
inline Tensor labels(std::mt19937_64& rng, std::int64_t n, std::int64_t k) {
    std::uniform_int_distribution<std::int64_t> pick(0, k - 1);
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = double(pick(rng));
    return descent::from_vector(v, {n}, DType::f64);
}

// A 0/1 mask as an f64 constant, for where().
inline Tensor mask(std::mt19937_64& rng, const Shape& shape) {
    std::bernoulli_distribution coin(0.5);
    std::vector<double> v(static_cast<std::size_t>(descent::shape_numel(shape)));
    for (double& x : v) x = coin(rng) ? 1.0 : 0.0;
    return descent::from_vector(v, shape, DType::f64);
}

inline std::string shapes_of(const Inputs& inputs) {
    std::string s;
    for (const Tensor& t : inputs) {
        if (!s.empty()) s += " and ";
        s += descent::shape_str(t.shape());
        if (!t.requires_grad()) s += " (constant)";
    }
    return s;
}

// Runs `checker` (gradcheck or gradgradcheck, default options) and requires it to pass. Also
// requires that f's output is part of a graph, so a check can never pass just because nothing
// was recorded.
inline void check_with(const Checker& checker, const std::string& what, const Fn& f,
                       const Inputs& inputs) {
    INFO(what << " on " << shapes_of(inputs));
    const Tensor out = f(inputs);
    REQUIRE(out.requires_grad());
    const descent::GradcheckResult result = checker(f, inputs);
    INFO(result.message);
    INFO("max_abs_error " << result.max_abs_error << ", max_rel_error " << result.max_rel_error);
    REQUIRE(result.ok);
}

inline const std::vector<Shape> kElementwiseShapes = {{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}};

// Shapes for ops along an axis (every axis of each is checked, negative ones too).
inline const std::vector<Shape> kAxisShapes = {{1}, {5}, {3, 4}, {1, 1}, {7, 2}, {2, 3, 4}};

// Pairs of shapes for binary ops: equal shapes, row broadcasting (n,d)+(d), column
// broadcasting (n,d)+(n,1), scalar-tensor, and both operands stretching.
inline const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{}, {}},           {{1}, {1}},         {{5}, {5}},        {{3, 4}, {3, 4}},
    {{1, 1}, {1, 1}},   {{7, 2}, {7, 2}},   {{5, 3}, {3}},     {{3}, {5, 3}},
    {{5, 3}, {5, 1}},   {{5, 1}, {5, 3}},   {{}, {3, 4}},      {{3, 4}, {}},
    {{4, 1}, {3}},      {{1}, {5}},         {{1, 1}, {7, 2}},  {{7, 2}, {1, 2}},
};

}  // namespace gradcheck_inputs
