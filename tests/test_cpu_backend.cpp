// CPU backend wiring checked against naive loops written here: broadcasting in every
// direction, matrix products with all vector/matrix combinations, axis sums, where, max/argmax
// along each axis of a rank-3 tensor, index_select and its backward, determinism.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include <random>

#include "descent/descent.hpp"
#include "dispatch.hpp"

using namespace descent;

namespace {
std::vector<double> random_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    std::vector<double> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}
}  // namespace

TEST_CASE("broadcasting matches explicit index loops", "[cpu]") {
    const std::int64_t n = 5, d = 3;
    const auto av = random_values(n * d, 1), rv = random_values(d, 2), cv = random_values(n, 3);
    const Tensor A = from_vector(av, {n, d});
    const Tensor row = from_vector(rv, {d});
    const Tensor col = from_vector(cv, {n, 1});
    const auto sum_row = (A + row).to_vector<double>();
    const auto prod_col = (A * col).to_vector<double>();
    const auto diff = (row - col).to_vector<double>();  // (d) - (n,1) -> (n,d)
    REQUIRE((row - col).shape() == Shape{n, d});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) {
            CHECK(sum_row[i * d + j] == av[i * d + j] + rv[j]);
            CHECK(prod_col[i * d + j] == av[i * d + j] * cv[i]);
            CHECK(diff[i * d + j] == rv[j] - cv[i]);
        }
    const auto scaled = (scalar(2.0, DType::f64) / A).to_vector<double>();
    for (std::int64_t i = 0; i < n * d; ++i) CHECK(scaled[i] == 2.0 / av[i]);
}

TEST_CASE("matmul covers matrix and vector operands", "[cpu]") {
    const std::int64_t m = 4, k = 3, n = 2;
    const auto av = random_values(m * k, 4), bv = random_values(k * n, 5), vv = random_values(k, 6);
    const Tensor A = from_vector(av, {m, k}), B = from_vector(bv, {k, n}), v = from_vector(vv);
    const auto C = matmul(A, B).to_vector<double>();
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double ref = 0;
            for (std::int64_t p = 0; p < k; ++p) ref += av[i * k + p] * bv[p * n + j];
            CHECK(C[i * n + j] == Approx(ref).epsilon(1e-14));
        }
    const Tensor Av = matmul(A, v);
    CHECK(Av.shape() == Shape{m});
    const Tensor vB = matmul(v, B);
    CHECK(vB.shape() == Shape{n});
    const Tensor dot = matmul(v, v);
    CHECK(dot.dim() == 0);
    double ref_dot = 0;
    for (double x : vv) ref_dot += x * x;
    CHECK(dot.item() == Approx(ref_dot).epsilon(1e-14));
    const auto At = transpose(A).to_vector<double>();
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t p = 0; p < k; ++p) CHECK(At[p * m + i] == av[i * k + p]);
}

TEST_CASE("axis sums and means", "[cpu]") {
    const auto v = random_values(2 * 3 * 4, 7);
    const Tensor t = from_vector(v, {2, 3, 4});
    const auto s1 = sum(t, 1).to_vector<double>();
    CHECK(sum(t, 1).shape() == Shape{2, 4});
    CHECK(sum(t, 1, true).shape() == Shape{2, 1, 4});
    CHECK(mean(t, -1).shape() == Shape{2, 3});
    for (int a = 0; a < 2; ++a)
        for (int c = 0; c < 4; ++c) {
            double ref = 0;
            for (int b = 0; b < 3; ++b) ref += v[(a * 3 + b) * 4 + c];
            CHECK(s1[a * 4 + c] == Approx(ref).epsilon(1e-15));
        }
    double total = 0;
    for (double x : v) total += x;
    CHECK(sum(t).item() == Approx(total).epsilon(1e-15));
    CHECK(mean(t).item() == Approx(total / 24).epsilon(1e-15));
    CHECK(sum(zeros({0})).item() == 0.0);
}

TEST_CASE("where, max/argmax along each axis and index_select match explicit index loops", "[cpu]") {
    const std::int64_t A = 3, B = 4, C = 5;
    auto v = random_values(A * B * C, 11);
    for (double& x : v) x = std::round(x * 2.0) / 2.0;  // ties, for the first-position rule
    const Tensor t = from_vector(v, {A, B, C});
    const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) { return v[(i * B + j) * C + k]; };

    // where with a (B, 1) condition and a (C) second choice.
    const auto cv = random_values(B, 12), ev = random_values(C, 13);
    const Tensor cond = gt(from_vector(cv, {B, 1}), 0.0), e = from_vector(ev);
    const auto w = where(cond, t, e).to_vector<double>();
    for (std::int64_t i = 0; i < A; ++i)
        for (std::int64_t j = 0; j < B; ++j)
            for (std::int64_t k = 0; k < C; ++k)
                CHECK(w[(i * B + j) * C + k] == (cv[j] > 0.0 ? at(i, j, k) : ev[k]));

    // max and argmax along axis 1: the first j holding the largest value.
    const auto m = max(t, 1).to_vector<double>(), am = argmax(t, 1).to_vector<double>();
    for (std::int64_t i = 0; i < A; ++i)
        for (std::int64_t k = 0; k < C; ++k) {
            std::int64_t best = 0;
            for (std::int64_t j = 1; j < B; ++j)
                if (at(i, j, k) > at(i, best, k)) best = j;
            CHECK(m[i * C + k] == at(i, best, k));
            CHECK(am[i * C + k] == double(best));
        }
    // argmin along axis 0 and 2.
    const auto a0 = argmin(t, 0).to_vector<double>(), a2 = argmin(t, 2, true).to_vector<double>();
    for (std::int64_t j = 0; j < B; ++j)
        for (std::int64_t k = 0; k < C; ++k) {
            std::int64_t best = 0;
            for (std::int64_t i = 1; i < A; ++i)
                if (at(i, j, k) < at(best, j, k)) best = i;
            CHECK(a0[j * C + k] == double(best));
        }
    for (std::int64_t i = 0; i < A; ++i)
        for (std::int64_t j = 0; j < B; ++j) {
            std::int64_t best = 0;
            for (std::int64_t k = 1; k < C; ++k)
                if (at(i, j, k) < at(i, j, best)) best = k;
            CHECK(a2[i * B + j] == double(best));
        }

    // index_select along axis 2 with repeats, and its backward: each source slice collects
    // the upstream gradient of every position that picked it.
    const std::vector<double> idx{4, 0, 4, 2, 4};
    Tensor x = t.detach().requires_grad_();
    const Tensor s = index_select(x, 2, from_vector(idx, {5}));
    REQUIRE(s.shape() == Shape{A, B, 5});
    const auto sv = s.to_vector<double>();
    const auto gv = random_values(A * B * 5, 14);
    sum(s * from_vector(gv, {A, B, 5})).backward();
    const auto grad = x.grad().to_vector<double>();
    for (std::int64_t i = 0; i < A; ++i)
        for (std::int64_t j = 0; j < B; ++j) {
            std::vector<double> expect(C, 0.0);
            for (std::int64_t p = 0; p < 5; ++p) {
                const auto k = static_cast<std::int64_t>(idx[p]);
                CHECK(sv[(i * B + j) * 5 + p] == at(i, j, k));
                expect[k] += gv[(i * B + j) * 5 + p];
            }
            for (std::int64_t k = 0; k < C; ++k) CHECK(grad[(i * B + j) * C + k] == expect[k]);
        }
}

TEST_CASE("results are bitwise reproducible", "[cpu]") {
    const auto xv = random_values(9000 * 4, 8), yv = random_values(9000, 9);
    const Tensor X = from_vector(xv, {9000, 4}), y = from_vector(yv), w = from_vector(random_values(4, 10));
    const auto a = linear_mse_value_grad_hessian(X, y, w);
    const auto b = linear_mse_value_grad_hessian(X, y, w);
    CHECK(a.loss.item() == b.loss.item());
    CHECK(a.grad.to_vector<double>() == b.grad.to_vector<double>());
    CHECK(a.hessian.to_vector<double>() == b.hessian.to_vector<double>());
}

TEST_CASE("large cpu buffers own whole pages, so each can be page-locked alone", "[cpu]") {
    // From 64 KiB on: page-aligned and a whole number of pages (StreamedHost registers X and
    // y with cudaHostRegister, which refuses a range overlapping one already registered).
    const auto page_of = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) / 4096; };
    for (const std::int64_t n : {16384, 16385, 100000, 1 << 20}) {
        const Tensor a = empty({n}, DType::f32), b = empty({n}, DType::f32);
        INFO("n " << n);
        CHECK(reinterpret_cast<std::uintptr_t>(a.data_ptr()) % 4096 == 0);
        CHECK(reinterpret_cast<std::uintptr_t>(b.data_ptr()) % 4096 == 0);
        const auto last_a = page_of(static_cast<const char*>(a.data_ptr()) + 4 * n - 1);
        const auto last_b = page_of(static_cast<const char*>(b.data_ptr()) + 4 * n - 1);
        CHECK((last_a < page_of(b.data_ptr()) || last_b < page_of(a.data_ptr())));
    }
    // Small buffers keep the 64-byte alignment.
    CHECK(reinterpret_cast<std::uintptr_t>(empty({3}, DType::f64).data_ptr()) % 64 == 0);
}

TEST_CASE("f32 tanh is the correctly rounded tanh (to the rarest ties)", "[cpu]") {
    // The CPU's f32 tanh is computed in double (src/cpu/elementwise.cpp): against the double
    // std::tanh rounded to f32, over 10^6 values spread over every magnitude that matters
    // (and the special values), at most a handful may differ, each by one ulp.
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> exponent(-30.0, 4.0);
    std::vector<double> xs = {0.0, -0.0, 1e-45, -1e-45, 1.0 / 256.0, -1.0 / 256.0, 0.5, 9.0, 10.0,
                              20.0, -20.0, 88.0, 1e30, -1e30, INFINITY, -INFINITY};
    while (xs.size() < 1000000) {
        const double v = std::exp2(exponent(rng));
        xs.push_back(rng() % 2 ? v : -v);
    }
    std::vector<float> as_f32(xs.begin(), xs.end());
    const Tensor x = from_vector(std::vector<double>(as_f32.begin(), as_f32.end()),
                                 {std::int64_t(xs.size())}, DType::f32);
    const std::vector<float> got = tanh(x).to_vector<float>();
    int differ = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const float want = static_cast<float>(std::tanh(double(as_f32[i])));
        if (std::memcmp(&got[i], &want, sizeof want) == 0) continue;
        ++differ;
        INFO("x = " << as_f32[i] << ": " << got[i] << " vs " << want);
        REQUIRE(std::nextafter(want, got[i]) == got[i]);  // one ulp
    }
    CHECK(differ <= 5);
    // NaN stays NaN.
    CHECK(std::isnan(tanh(from_vector(std::vector<double>{NAN}, {1}, DType::f32)).to_vector<float>()[0]));
}

TEST_CASE("linear has the bits of matmul by the transpose then the bias add", "[cpu]") {
    // The bias is added in the product's own pass (Backend::gemm_bias): each entry rounded to
    // the dtype first, then the bias added in the dtype, as the separate add does. Shapes for
    // both CPU kernels (B packed from 8 columns on; one column read as stored) and row counts
    // that leave partial tiles and split over threads.
    std::mt19937_64 rng(21);
    std::normal_distribution<double> normal(0.0, 1.0);
    const auto random = [&](std::int64_t n) {
        std::vector<double> v(static_cast<std::size_t>(n));
        for (double& x : v) x = normal(rng);
        return v;
    };
    for (const DType dt : {DType::f32, DType::f64})
        for (const auto& [rows, in, out] : std::vector<std::array<std::int64_t, 3>>{
                 {64, 16, 64}, {7, 5, 1}, {64, 64, 1}, {200, 9, 1}, {33, 17, 9}, {1, 3, 40},
                 {1000, 40, 300}}) {
            INFO(dtype_name(dt) << " x (" << rows << ", " << in << "), W (" << out << ", " << in << ")");
            const Tensor x = from_vector(random(rows * in), {rows, in}, dt);
            const Tensor w = from_vector(random(out * in), {out, in}, dt);
            const Tensor b = from_vector(random(out), {out}, dt);
            const std::vector<double> fused = linear(x, w, b).to_vector<double>();
            const std::vector<double> apart = (matmul(x, transpose(w)) + b).to_vector<double>();
            REQUIRE(fused.size() == apart.size());
            CHECK(std::memcmp(fused.data(), apart.data(), fused.size() * sizeof(double)) == 0);
        }
}

TEST_CASE("every entry of a matrix product is its ordered double sum, on every path", "[cpu]") {
    // C_ij = T(sum over p = 0, 1, ... of double(a_ip) * double(b_pj)), accumulated in that
    // order, for both layouts of A and of B (transposed views), whatever kernel the shape picks:
    // a matrix times a vector (n = 1: A's rows packed as columns, in blocks of 64), B packed
    // (n >= 8), B read as stored, one row (m = 1: B read as stored; 2048 x 70 splits its
    // columns over threads), and enough work to split over threads.
    std::mt19937_64 rng(33);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (const DType dt : {DType::f32, DType::f64})
        for (const auto& [m, n, k] : std::vector<std::array<std::int64_t, 3>>{
                 {8, 1, 5}, {63, 1, 64}, {64, 1, 1}, {65, 1, 17}, {200, 1, 3}, {3000, 1, 70},
                 {64, 64, 16}, {1, 64, 64}, {1, 2048, 70}, {64, 16, 64}, {19, 5, 23}, {70, 37, 9}})
            for (const bool trans_a : {false, true})
                for (const bool trans_b : {false, true}) {
                    INFO(dtype_name(dt) << " m " << m << " n " << n << " k " << k << (trans_a ? " Aᵀ" : "")
                                        << (trans_b ? " Bᵀ" : ""));
                    std::vector<double> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n));
                    for (double& v : a) v = normal(rng);
                    for (double& v : b) v = normal(rng);
                    // The operands as dt holds them, so the sums below see the same values;
                    // a transposed operand stored transposed and read through the flag.
                    const Tensor A0 = from_vector(a, {m, k}, dt), B0 = from_vector(b, {k, n}, dt);
                    a = A0.to_vector<double>();
                    b = B0.to_vector<double>();
                    const Tensor A = trans_a ? contiguous(transpose(A0)) : A0;
                    const Tensor B = trans_b ? contiguous(transpose(B0)) : B0;
                    const std::vector<double> got =
                        detail::gemm_op("matmul", A, B, trans_a, trans_b, 1.0).to_vector<double>();
                    for (std::int64_t i = 0; i < m; ++i)
                        for (std::int64_t j = 0; j < n; ++j) {
                            double acc = 0.0;
                            for (std::int64_t p = 0; p < k; ++p) acc += a[i * k + p] * b[p * n + j];
                            const double want = dt == DType::f32 ? double(static_cast<float>(acc)) : acc;
                            if (got[i * n + j] != want) {
                                INFO("entry " << i << ", " << j);
                                REQUIRE(got[i * n + j] == want);
                            }
                        }
                }
}
