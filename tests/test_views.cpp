// Tensor views: narrow, select, unsqueeze, squeeze, permute and contiguous(). Values are
// checked against index arithmetic written out here (element (i, j, k) of a dense tensor of
// shape (A, B, C) is i*B*C + j*C + k), so the reference does not use descent's strides.
// Also: storage sharing both ways, every op on views, writes into non-contiguous views,
// errors, and first and second derivatives (gradcheck, gradgradcheck) through every view.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"
#include "gradcheck_inputs.hpp"

using namespace descent;

namespace {

// 0, 1, 2, ... in shape `shape`, f64.
Tensor iota(const Shape& shape) {
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i);
    return from_vector(v, shape, DType::f64);
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

void check_first_and_second(const std::string& what, const gradcheck_inputs::Fn& f,
                            const gradcheck_inputs::Inputs& inputs) {
    gradcheck_inputs::check_with(
        [](const gradcheck_inputs::Fn& fn, const gradcheck_inputs::Inputs& in) {
            return gradcheck(fn, in);
        },
        what, f, inputs);
    gradcheck_inputs::check_with(
        [](const gradcheck_inputs::Fn& fn, const gradcheck_inputs::Inputs& in) {
            return gradgradcheck(fn, in);
        },
        what + " (second derivatives)", f, inputs);
}

}  // namespace

TEST_CASE("narrow and select: values, strides, offsets and shared storage", "[views]") {
    const Tensor a = iota({4, 5, 3});
    const Tensor n = a.narrow(1, 1, 3);  // (4, 3, 3)
    CHECK(n.shape() == Shape{4, 3, 3});
    CHECK(n.strides() == Shape{15, 3, 1});
    CHECK(n.storage_offset() == 3);
    CHECK_FALSE(n.is_contiguous());
    std::vector<double> want;
    for (int i = 0; i < 4; ++i)
        for (int j = 1; j < 4; ++j)
            for (int k = 0; k < 3; ++k) want.push_back(i * 15 + j * 3 + k);
    CHECK(values(n) == want);

    // Rows of a matrix stay contiguous; a negative start counts from the end.
    const Tensor rows = a.narrow(0, -2, 2);
    CHECK(rows.is_contiguous());
    CHECK(rows.storage_offset() == 30);
    CHECK(values(rows).front() == 30);
    CHECK(rows.data<double>()[0] == 30);  // data() of a contiguous view starts at its offset

    const Tensor s = a.select(2, 1);  // (4, 5): a[:, :, 1]
    CHECK(s.shape() == Shape{4, 5});
    want.clear();
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j) want.push_back(i * 15 + j * 3 + 1);
    CHECK(values(s) == want);
    CHECK(values(a.select(0, -1)) == values(a.narrow(0, 3, 1).reshape({5, 3})));

    // Writes through a view reach the base, and the other way round.
    Tensor base = iota({4, 5, 3});
    Tensor window = base.narrow(1, 1, 3).select(2, 2);  // base[:, 1:4, 2]
    window.fill_(-1.0);
    const std::vector<double> after = values(base);
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j)
            for (int k = 0; k < 3; ++k) {
                const double expect = (j >= 1 && j < 4 && k == 2) ? -1.0 : i * 15 + j * 3 + k;
                REQUIRE(after[i * 15 + j * 3 + k] == expect);
            }
    base.fill_(7.0);
    for (double v : values(window)) CHECK(v == 7.0);
}

TEST_CASE("permute of every order of a rank-4 tensor, and contiguous()", "[views]") {
    const Shape shape = {2, 3, 4, 5};
    const Tensor a = iota(shape);
    std::vector<std::int64_t> order = {0, 1, 2, 3};
    int count = 0;
    do {
        const Tensor p = a.permute(order);
        Shape want_shape;
        for (auto d : order) want_shape.push_back(shape[d]);
        REQUIRE(p.shape() == want_shape);
        // Element c of p is element (c applied through the inverse order) of a.
        std::vector<double> want;
        std::int64_t c[4];
        for (c[0] = 0; c[0] < want_shape[0]; ++c[0])
            for (c[1] = 0; c[1] < want_shape[1]; ++c[1])
                for (c[2] = 0; c[2] < want_shape[2]; ++c[2])
                    for (c[3] = 0; c[3] < want_shape[3]; ++c[3]) {
                        std::int64_t src[4];
                        for (int i = 0; i < 4; ++i) src[order[i]] = c[i];
                        want.push_back(double(((src[0] * 3 + src[1]) * 4 + src[2]) * 5 + src[3]));
                    }
        REQUIRE(values(p) == want);
        const Tensor dense = p.contiguous();
        REQUIRE(dense.is_contiguous());
        REQUIRE(values(dense) == want);
        REQUIRE((dense.impl() == p.impl()) == (order == std::vector<std::int64_t>{0, 1, 2, 3}));
        ++count;
    } while (std::next_permutation(order.begin(), order.end()));
    CHECK(count == 24);
    CHECK(values(a.permute({-1, 0, 1, 2})) == values(a.permute({3, 0, 1, 2})));
}

TEST_CASE("unsqueeze and squeeze", "[views]") {
    const Tensor a = iota({3, 4});
    CHECK(a.unsqueeze(0).shape() == Shape{1, 3, 4});
    CHECK(a.unsqueeze(1).shape() == Shape{3, 1, 4});
    CHECK(a.unsqueeze(-1).shape() == Shape{3, 4, 1});
    CHECK(a.unsqueeze(2).strides() == Shape{4, 1, 1});
    CHECK(a.unsqueeze(1).is_contiguous());
    CHECK(values(a.unsqueeze(1)) == values(a));
    const Tensor b = iota({1, 3, 1, 4, 1});
    CHECK(b.squeeze().shape() == Shape{3, 4});
    CHECK(b.squeeze(2).shape() == Shape{1, 3, 4, 1});
    CHECK(b.squeeze(1).shape() == b.shape());  // size 3: nothing to squeeze, as torch
    CHECK(scalar(2.0, DType::f64).unsqueeze(0).shape() == Shape{1});
    CHECK(iota({1}).squeeze().shape() == Shape{});
    // Squeezing a permuted view keeps its strides.
    const Tensor p = iota({2, 1, 3}).permute({2, 1, 0}).squeeze(1);
    CHECK(p.shape() == Shape{3, 2});
    CHECK(values(p) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

// An empty tensor may have dimensions whose product overflows 64 bits (a fuzzed checkpoint
// found it): views of it and copies of it must not do arithmetic that overflows (UBSan runs
// this file) and must stay empty.
TEST_CASE("views of empty tensors with huge dimensions", "[views][empty]") {
    const std::int64_t huge = std::int64_t{1} << 40;
    const Tensor e = zeros({3, 0, huge, huge}, DType::f64);
    CHECK(e.numel() == 0);
    CHECK(e.is_contiguous());
    CHECK(e.detach().shape() == e.shape());
    CHECK(e.narrow(0, 2, 1).shape() == Shape{1, 0, huge, huge});
    CHECK(e.narrow(3, huge - 1, 1).shape() == Shape{3, 0, huge, 1});
    CHECK(e.select(0, 2).shape() == Shape{0, huge, huge});
    CHECK(e.unsqueeze(1).shape() == Shape{3, 1, 0, huge, huge});
    CHECK(e.permute({3, 2, 1, 0}).contiguous().numel() == 0);
    CHECK(concat({e, e}, 0).shape() == Shape{6, 0, huge, huge});
}

TEST_CASE("every kind of op accepts non-contiguous views", "[views]") {
    const Tensor a = iota({3, 4});
    const Tensor at = a.permute({1, 0});  // (4, 3), the transpose as a view
    const Tensor dense_t = transpose(a);  // the transpose as a copy
    CHECK(values(at) == values(dense_t));
    CHECK(values(at + 1.0) == values(dense_t + 1.0));
    CHECK(values(exp(at * 0.01)) == values(exp(dense_t * 0.01)));
    CHECK(values(at * at) == values(dense_t * dense_t));
    CHECK(values(at + iota({3})) == values(dense_t + iota({3})));  // broadcast with a view
    CHECK(values(matmul(at, a)) == values(matmul(dense_t, a)));
    CHECK(values(sum(at, 0)) == values(sum(dense_t, 0)));
    CHECK(values(sum(at, 1, true)) == values(sum(dense_t, 1, true)));
    CHECK(at.sum().item() == a.sum().item());
    CHECK(values(at.to(DType::f32)) == values(dense_t.to(DType::f32)));
    CHECK(values(at.reshape({-1})) == values(dense_t.reshape({-1})));
    CHECK(values(transpose(at)) == values(a));
    CHECK(values(broadcast_to(a.narrow(1, 1, 1), {3, 4})) ==
          values(broadcast_to(a.narrow(1, 1, 1).contiguous(), {3, 4})));
    CHECK(values(at.clone()) == values(dense_t));
    // The selection ops read views too (through their strides or a dense copy).
    CHECK(values(where(gt(at, 5.0), at, neg(at))) == values(where(gt(dense_t, 5.0), dense_t, neg(dense_t))));
    CHECK(values(max(at, 0)) == values(max(dense_t, 0)));
    CHECK(values(argmax(at, 1)) == values(argmax(dense_t, 1)));
    CHECK(values(logsumexp(at * 0.1, 1)) == values(logsumexp(dense_t * 0.1, 1)));
    const Tensor rows = from_vector(std::vector<double>{2, 0}, {2}, DType::f64);
    CHECK(values(index_select(at, 0, rows)) == values(index_select(dense_t, 0, rows)));
    CHECK(at.clone().is_contiguous());
    // reshape of a non-contiguous view copies; of a contiguous one it shares storage.
    Tensor base = iota({3, 4});
    Tensor flat = base.narrow(0, 1, 2).reshape({-1});
    flat.fill_(0.0);
    CHECK(values(base)[4] == 0.0);
    Tensor copied = base.permute({1, 0}).reshape({-1});
    copied.fill_(9.0);
    CHECK(values(base)[0] == 0.0);
}

TEST_CASE("in-place writes into non-contiguous views touch only their elements", "[views]") {
    Tensor a = iota({3, 4});
    Tensor col = a.narrow(1, 2, 1);  // a[:, 2:3], stride 4
    col.copy_(from_vector(std::vector<double>{-1, -2, -3}, {3, 1}, DType::f64));
    CHECK(values(a) == std::vector<double>{0, 1, -1, 3, 4, 5, -2, 7, 8, 9, -3, 11});
    // copy_ from a float32 source and from a view of the same storage.
    Tensor b = iota({2, 3});
    b.permute({1, 0}).copy_(iota({3, 2}).to(DType::f32));
    CHECK(values(b) == std::vector<double>{0, 2, 4, 1, 3, 5});
    Tensor c = iota({2, 3});
    c.narrow(0, 0, 1).copy_(c.narrow(0, 1, 1));
    CHECK(values(c) == std::vector<double>{3, 4, 5, 3, 4, 5});
    // A self-transposing copy reads the whole source before writing.
    Tensor sq = iota({3, 3});
    sq.copy_(sq.permute({1, 0}));
    CHECK(values(sq) == std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8});
    // data() refuses a view whose elements are not dense.
    CHECK_THROWS_WITH(a.permute({1, 0}).data<double>(),
                      Catch::Contains("not contiguous") && Catch::Contains("contiguous()"));
}

TEST_CASE("view errors name the op, the bad argument and the shape", "[views][errors]") {
    const Tensor a = iota({3, 4});
    CHECK_THROWS_WITH(a.narrow(1, 2, 3), Catch::Contains("narrow") && Catch::Contains("[2, 5)") &&
                                             Catch::Contains("(3, 4)"));
    CHECK_THROWS_WITH(a.narrow(2, 0, 1), Catch::Contains("narrow") && Catch::Contains("axis 2"));
    CHECK_THROWS_WITH(a.narrow(0, 0, -1), Catch::Contains("narrow"));
    CHECK_THROWS_WITH(a.select(0, 3), Catch::Contains("select") && Catch::Contains("index 3"));
    CHECK_THROWS_WITH(a.unsqueeze(3), Catch::Contains("unsqueeze") && Catch::Contains("dim 3"));
    CHECK_THROWS_WITH(a.squeeze(2), Catch::Contains("squeeze") && Catch::Contains("axis 2"));
    CHECK_THROWS_WITH(a.permute({0}), Catch::Contains("permute") && Catch::Contains("rank 2"));
    CHECK_THROWS_WITH(a.permute({1, 1}), Catch::Contains("permute") && Catch::Contains("twice"));
    CHECK_THROWS_WITH(scalar(1.0).narrow(0, 0, 1), Catch::Contains("scalar"));
    CHECK_THROWS_WITH(iota({1, 1, 1, 1, 1, 1}).unsqueeze(0), Catch::Contains("rank"));
}

TEST_CASE("gradients through views: gradcheck and gradgradcheck", "[views][gradcheck]") {
    using gradcheck_inputs::Inputs;
    using gradcheck_inputs::uniform;
    std::mt19937_64 rng(0x71e75);
    // Each view feeds a nonlinearity, so second derivatives are not trivially zero.
    check_first_and_second("narrow", [](const Inputs& v) { return square(v[0].narrow(1, 1, 2)) * v[0].narrow(1, 0, 2); },
                           {uniform(rng, {3, 4}, -1, 1)});
    check_first_and_second("narrow of a rank-3 middle dim",
                           [](const Inputs& v) { return tanh(v[0].narrow(1, 2, 3)); },
                           {uniform(rng, {2, 5, 3}, -1, 1)});
    check_first_and_second("select", [](const Inputs& v) { return v[0].select(0, 1) * v[0].select(1, -1).narrow(0, 0, 4); },
                           {uniform(rng, {4, 4}, -1, 1)});
    check_first_and_second("unsqueeze, squeeze",
                           [](const Inputs& v) { return exp(v[0].unsqueeze(1) * v[1].unsqueeze(0)).squeeze(); },
                           {uniform(rng, {3}, -1, 1), uniform(rng, {1, 4}, -1, 1)});
    check_first_and_second("permute (rank 3)",
                           [](const Inputs& v) { return sigmoid(v[0].permute({2, 0, 1})) * v[1]; },
                           {uniform(rng, {2, 3, 4}, -1, 1), uniform(rng, {4, 2, 3}, -1, 1)});
    check_first_and_second("contiguous and reshape of a view",
                           [](const Inputs& v) { return square(v[0].permute({1, 0}).contiguous().reshape({-1})); },
                           {uniform(rng, {3, 2}, -1, 1)});
    check_first_and_second("matmul of permuted views",
                           [](const Inputs& v) { return tanh(matmul(v[0].permute({1, 0}), v[1])); },
                           {uniform(rng, {3, 2}, -1, 1), uniform(rng, {3, 4}, -1, 1)});
}

TEST_CASE("backward through overlapping views of one leaf accumulates", "[views][autograd]") {
    Tensor x = iota({4}).detach();
    x.requires_grad_();
    const Tensor y = (x.narrow(0, 0, 3) * 2.0).sum() + (x.narrow(0, 1, 3) * 10.0).sum() +
                     x.select(0, 3);
    y.backward();
    CHECK(values(x.grad()) == std::vector<double>{2, 12, 12, 11});
    CHECK(x.grad().is_contiguous());
}

TEST_CASE("concat and stack: values, gradients and errors", "[views][concat]") {
    const Tensor a = iota({2, 3}), b = iota({2, 1}) + 100.0, c = iota({2, 2}) + 200.0;
    const Tensor joined = concat({a, b, c}, 1);  // (2, 6)
    CHECK(joined.shape() == Shape{2, 6});
    CHECK(values(joined) == std::vector<double>{0, 1, 2, 100, 200, 201, 3, 4, 5, 101, 202, 203});
    CHECK(values(concat({a, a.narrow(0, 1, 1)}, 0)) ==
          std::vector<double>{0, 1, 2, 3, 4, 5, 3, 4, 5});
    CHECK(values(concat({a.permute({1, 0}), b.permute({1, 0})}, -2)) ==  // views as inputs
          std::vector<double>{0, 3, 1, 4, 2, 5, 100, 101});
    const Tensor s = stack({a, a + 10.0}, 1);  // (2, 2, 3)
    CHECK(s.shape() == Shape{2, 2, 3});
    CHECK(values(s) == std::vector<double>{0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15});
    CHECK(stack({a, a}, -1).shape() == Shape{2, 3, 2});
    CHECK_THROWS_WITH(concat({a, iota({3, 3})}, 1), Catch::Contains("concat: tensor 1 has shape (3, 3)"));
    CHECK_THROWS_WITH(concat({}, 0), Catch::Contains("at least one"));
    CHECK_THROWS_WITH(stack({a, b}), Catch::Contains("stack: tensor 1 has shape (2, 1)"));
    CHECK_THROWS_WITH(concat({a, a.to(DType::f32)}), Catch::Contains("dtype"));

    using gradcheck_inputs::Inputs;
    using gradcheck_inputs::uniform;
    std::mt19937_64 rng(0xc0ca7);
    check_first_and_second("concat", [](const Inputs& v) { return tanh(concat({v[0], v[1], v[0]}, 1)); },
                           {uniform(rng, {3, 2}, -1, 1), uniform(rng, {3, 4}, -1, 1)});
    check_first_and_second("stack", [](const Inputs& v) { return square(stack({v[0], v[1]}, 0)) * 0.5; },
                           {uniform(rng, {2, 3}, -1, 1), uniform(rng, {2, 3}, -1, 1)});
}
