// The CPU linear-MSE block kernels are built for several instruction sets (baseline x86-64,
// AVX2 + FMA, AVX-512) and the widest one the processor runs is used. Each build must give
// bitwise the baseline's loss, gradient and upper-triangle Hessian for every d, dtype and
// row count (tails of four rows and of the 64-row Hessian panels included), and all of them
// must agree with a plain long-double sum over the rows to rounding.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu/linear_mse_isa.hpp"
#define DESCENT_CPU_ISA baseline
#include "cpu/gemm_rows.hpp"

using namespace descent::detail;

namespace {

template <class T>
struct Block {
    std::vector<T> x, y, w;
};

template <class T>
Block<T> random_block(std::int64_t rows, std::int64_t d, std::uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    Block<T> b;
    for (std::int64_t i = 0; i < rows * d; ++i) b.x.push_back(T(normal(rng)));
    for (std::int64_t i = 0; i < rows; ++i) b.y.push_back(T(3.0 * normal(rng)));
    for (std::int64_t j = 0; j < d; ++j) b.w.push_back(T(normal(rng)));
    return b;
}

// [loss, grad (d), hessian (d x d, upper triangle)] summed in long double, and the sums of
// the terms' magnitudes (the scale of the rounding error of any summation order).
template <class T>
void reference(const Block<T>& b, std::int64_t rows, std::int64_t d, std::vector<long double>& sum,
               std::vector<long double>& scale) {
    sum.assign(static_cast<std::size_t>(1 + d + d * d), 0.0L);
    scale = sum;
    for (std::int64_t i = 0; i < rows; ++i) {
        long double r = -static_cast<long double>(b.y[i]);
        long double r_scale = std::fabs(static_cast<long double>(b.y[i]));
        for (std::int64_t j = 0; j < d; ++j) {
            const long double p = static_cast<long double>(b.x[i * d + j]) * b.w[j];
            r += p;
            r_scale += std::fabs(p);
        }
        sum[0] += r * r;
        scale[0] += r_scale * r_scale;
        for (std::int64_t j = 0; j < d; ++j) {
            const long double xj = b.x[i * d + j];
            sum[1 + j] += r * xj;
            scale[1 + j] += r_scale * std::fabs(xj);
            for (std::int64_t k = j; k < d; ++k) {
                sum[1 + d + j * d + k] += xj * b.x[i * d + k];
                scale[1 + d + j * d + k] += std::fabs(xj * b.x[i * d + k]);
            }
        }
    }
}

template <class T>
void check_all_isas(std::int64_t d) {
    const std::vector<CpuIsa> isas = available_cpu_isas();
    for (const std::int64_t rows : {1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 66, 67, 68, 129, 1000}) {
        const Block<T> b = random_block<T>(rows, d, static_cast<std::uint32_t>(rows * 131 + d));
        for (const bool hessian : {false, true}) {
            const std::size_t entries = static_cast<std::size_t>(1 + d + (hessian ? d * d : 0));
            std::vector<double> base(entries, 0.0);
            block_fn_for<T>(CpuIsa::baseline, d)(b.x.data(), b.y.data(), b.w.data(), rows, d,
                                                 hessian, base.data());
            std::vector<long double> sum, scale;
            reference(b, rows, d, sum, scale);
            const auto used = [&](std::size_t e) {  // loss, gradient, upper triangle
                if (e < static_cast<std::size_t>(1 + d)) return true;
                const std::int64_t jk = static_cast<std::int64_t>(e) - 1 - d;
                return jk % d >= jk / d;
            };
            for (std::size_t e = 0; e < entries; ++e) {
                if (!used(e)) continue;
                INFO("d " << d << ", rows " << rows << ", hessian " << hessian << ", entry " << e);
                CHECK(std::fabs(static_cast<long double>(base[e]) - sum[e]) <=
                      1e-13L * scale[e] + 1e-300L);
            }
            for (const CpuIsa isa : isas) {
                std::vector<double> out(entries, 0.0);  // the kernels add into zeroed partials
                block_fn_for<T>(isa, d)(b.x.data(), b.y.data(), b.w.data(), rows, d, hessian,
                                        out.data());
                for (std::size_t e = 0; e < entries; ++e) {
                    if (!used(e)) continue;
                    INFO(cpu_isa_name(isa) << ": d " << d << ", rows " << rows << ", hessian "
                                           << hessian << ", entry " << e);
                    CHECK(std::memcmp(&out[e], &base[e], sizeof(double)) == 0);
                }
            }
        }
        // No target (y null, linear_mse_hvp): every build gives bitwise the sums of a zero y.
        const std::vector<T> zero_y(static_cast<std::size_t>(rows), T(0));
        const std::size_t entries = static_cast<std::size_t>(1 + d);
        std::vector<double> with_zeros(entries, 0.0);
        block_fn_for<T>(CpuIsa::baseline, d)(b.x.data(), zero_y.data(), b.w.data(), rows, d,
                                             false, with_zeros.data());
        for (const CpuIsa isa : isas) {
            std::vector<double> out(entries, 0.0);
            block_fn_for<T>(isa, d)(b.x.data(), nullptr, b.w.data(), rows, d, false, out.data());
            INFO(cpu_isa_name(isa) << ": no target, d " << d << ", rows " << rows);
            CHECK(std::memcmp(out.data(), with_zeros.data(), entries * sizeof(double)) == 0);
        }
    }
}

// The kernels that read an implicit ones column (X of d - 1 columns, a model's implicit
// intercept) against the baseline kernel over the same rows with the ones stored: bitwise,
// in every build; the widths without such a kernel say so (nullptr).
template <class T>
void check_implicit_ones(std::int64_t d) {
    const std::vector<CpuIsa> isas = available_cpu_isas();
    for (const std::int64_t rows : {1, 3, 4, 5, 63, 64, 65, 67, 1000}) {
        Block<T> b = random_block<T>(rows, d, static_cast<std::uint32_t>(rows * 17 + d));
        std::vector<T> cut;  // the first d - 1 columns
        for (std::int64_t i = 0; i < rows; ++i) {
            b.x[static_cast<std::size_t>(i * d + d - 1)] = T(1);
            cut.insert(cut.end(), b.x.begin() + i * d, b.x.begin() + i * d + d - 1);
        }
        for (const bool hessian : {false, true}) {
            const std::size_t entries = static_cast<std::size_t>(1 + d + (hessian ? d * d : 0));
            std::vector<double> stored(entries, 0.0);
            block_fn_for<T>(CpuIsa::baseline, d)(b.x.data(), b.y.data(), b.w.data(), rows, d,
                                                 hessian, stored.data());
            for (const CpuIsa isa : isas) {
                const BlockFn<T> implicit = block_fn_for<T>(isa, d, true);
                const bool specialised = d == 2 || d == 3 || d == 4 || d == 5 || d == 8 || d == 9 ||
                                         d == 16 || d == 17 || d == 32 || d == 33;
                REQUIRE((implicit != nullptr) == specialised);
                if (!implicit) continue;
                std::vector<double> out(entries, 0.0);
                implicit(cut.data(), b.y.data(), b.w.data(), rows, d, hessian, out.data());
                for (std::size_t e = 0; e < entries; ++e) {
                    const std::int64_t jk = static_cast<std::int64_t>(e) - 1 - d;
                    if (jk >= 0 && jk % d < jk / d) continue;  // lower triangle: not read
                    INFO(cpu_isa_name(isa) << ": implicit ones, d " << d << ", rows " << rows
                                           << ", hessian " << hessian << ", entry " << e);
                    CHECK(std::memcmp(&out[e], &stored[e], sizeof(double)) == 0);
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("the block kernels reading an implicit ones column give the stored column's sums, bitwise",
          "[cpu][isa][intercept]") {
    for (const std::int64_t d : {2, 3, 4, 5, 6, 8, 9, 16, 17, 32, 33}) {
        check_implicit_ones<float>(d);
        check_implicit_ones<double>(d);
    }
}

TEST_CASE("every instruction set's block kernels give bitwise the baseline's sums",
          "[cpu][isa]") {
    const std::vector<CpuIsa> isas = available_cpu_isas();
    REQUIRE(isas.front() == CpuIsa::baseline);
    REQUIRE(isas.back() == best_cpu_isa());
    std::string names;
    for (const CpuIsa isa : isas) names += std::string(" ") + cpu_isa_name(isa);
    WARN("instruction sets on this processor:" << names);
    for (const std::int64_t d : {1, 2, 3, 4, 5, 6, 8, 9, 16, 17, 32, 33}) {
        check_all_isas<float>(d);
        check_all_isas<double>(d);
    }
}

TEST_CASE("asking for kernels the processor cannot run is an error", "[cpu][isa]") {
    const std::vector<CpuIsa> isas = available_cpu_isas();
    for (const CpuIsa isa : {CpuIsa::avx2, CpuIsa::avx512})
        if (std::find(isas.begin(), isas.end(), isa) == isas.end())
            CHECK_THROWS_WITH(block_fn_for<float>(isa, 16), Catch::Contains(cpu_isa_name(isa)));
}

// The matrix product's kernels (cpu/gemm_rows.hpp) in every build: the row kernel (B read as
// stored) and the packed one (B converted beforehand, C written directly) both give each
// entry's sum in the order p = 0, 1, ... bit for bit, for both layouts of A, row counts that
// leave partial tiles and widths with vector tails and padding.
TEMPLATE_TEST_CASE("the matrix product's kernels sum bitwise alike in every build", "[cpu][isa]",
                   float, double) {
    std::mt19937_64 rng(9);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (const CpuIsa isa : available_cpu_isas()) {
        const GemmKernels<TestType> kernels = gemm_kernels_for<TestType>(isa);
        for (const bool trans_a : {false, true})
            for (const std::int64_t n : {1, 3, 8, 16, 37}) {
                const std::int64_t m = 19, k = 23;
                const double alpha = 0.75;
                std::vector<TestType> A(static_cast<std::size_t>(m * k)), B(static_cast<std::size_t>(k * n));
                for (TestType& v : A) v = static_cast<TestType>(normal(rng));
                for (TestType& v : B) v = static_cast<TestType>(normal(rng));
                std::vector<double> want(static_cast<std::size_t>(m * n), 0.0), got = want;
                baseline::gemm_rows<TestType>(trans_a, m, n, k, A.data(), B.data(), 0, m, want.data());
                kernels.rows(trans_a, m, n, k, A.data(), B.data(), 0, m, got.data());
                INFO(cpu_isa_name(isa) << (trans_a ? " Aᵀ" : " A") << " n=" << n);
                REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(double)) == 0);
                // The packed kernel over three row ranges (as threads would split them).
                const std::int64_t n_pad = gemm_packed_width(n);
                std::vector<double> bd(static_cast<std::size_t>(k * n_pad), 0.0);
                for (std::int64_t p = 0; p < k; ++p)
                    for (std::int64_t j = 0; j < n; ++j) bd[p * n_pad + j] = double(B[p * n + j]);
                std::vector<TestType> packed(static_cast<std::size_t>(m * n), TestType(-7));
                std::vector<double> scratch(static_cast<std::size_t>(4 * k));
                for (const auto& [i0, i1] : {std::pair<std::int64_t, std::int64_t>{0, 5}, {5, 18}, {18, 19}})
                    kernels.packed(trans_a, m, n, k, A.data(), bd.data(), i0, i1, packed.data(), alpha, nullptr, scratch.data());
                // And the sums themselves: each entry's in the order p = 0, 1, ...
                for (std::int64_t i = 0; i < m; ++i)
                    for (std::int64_t j = 0; j < n; ++j) {
                        double acc = 0.0;
                        for (std::int64_t p = 0; p < k; ++p)
                            acc += double(trans_a ? A[p * m + i] : A[i * k + p]) * double(B[p * n + j]);
                        REQUIRE(got[i * n + j] == acc);
                        const TestType expect = static_cast<TestType>(alpha * acc);
                        REQUIRE(std::memcmp(&packed[i * n + j], &expect, sizeof expect) == 0);
                    }
            }
    }
}

// The f32 tanh (cpu/tanh_f32.hpp) in every build: bitwise the baseline's.
TEST_CASE("the f32 tanh is bitwise alike in every build", "[cpu][isa]") {
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> exponent(-30.0, 5.0);
    std::vector<float> x = {0.0f, -0.0f, 1.0f / 256.0f, -1.0f / 256.0f, 1e30f, -1e30f,
                            INFINITY, -INFINITY, NAN};
    while (x.size() < 200000) {
        const double v = std::exp2(exponent(rng));
        x.push_back(static_cast<float>(rng() % 2 ? v : -v));
    }
    std::vector<float> want(x.size()), got(x.size());
    tanh_f32_fn_for(CpuIsa::baseline)(x.data(), want.data(), std::int64_t(x.size()));
    for (const CpuIsa isa : available_cpu_isas()) {
        tanh_f32_fn_for(isa)(x.data(), got.data(), std::int64_t(x.size()));
        INFO(cpu_isa_name(isa));
        REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
    }
}
