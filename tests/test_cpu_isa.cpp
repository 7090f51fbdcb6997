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
#include "cpu/loops_isa.hpp"
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
                std::vector<TestType> biased(packed.size(), TestType(-7)), bias(static_cast<std::size_t>(n));
                for (TestType& v : bias) v = static_cast<TestType>(normal(rng));
                std::vector<double> scratch(static_cast<std::size_t>(kGemmPackedRowsMax * k));
                // Ranges of every tile height either build uses: 5, 13 (8 + 5), 1; then 2, 3,
                // 4, 7 and 12 (8 + 4) for the bias run.
                for (const auto& [i0, i1] : {std::pair<std::int64_t, std::int64_t>{0, 5}, {5, 18}, {18, 19}})
                    kernels.packed(trans_a, m, n, k, A.data(), bd.data(), i0, i1, packed.data(), alpha, nullptr, scratch.data());
                for (const auto& [i0, i1] : {std::pair<std::int64_t, std::int64_t>{0, 2}, {2, 5}, {5, 9}, {9, 16}, {16, 19}})
                    kernels.packed(trans_a, m, n, k, A.data(), bd.data(), i0, i1, biased.data(), alpha, bias.data(), scratch.data());
                // And the sums themselves: each entry's in the order p = 0, 1, ...
                for (std::int64_t i = 0; i < m; ++i)
                    for (std::int64_t j = 0; j < n; ++j) {
                        double acc = 0.0;
                        for (std::int64_t p = 0; p < k; ++p)
                            acc += double(trans_a ? A[p * m + i] : A[i * k + p]) * double(B[p * n + j]);
                        REQUIRE(got[i * n + j] == acc);
                        const TestType expect = static_cast<TestType>(alpha * acc);
                        REQUIRE(std::memcmp(&packed[i * n + j], &expect, sizeof expect) == 0);
                        const TestType expect_biased = static_cast<TestType>(expect + bias[j]);
                        REQUIRE(std::memcmp(&biased[i * n + j], &expect_biased, sizeof expect) == 0);
                    }
            }
    }
}

// The f32 tanh (cpu/tanh_f32.hpp) in every build: bitwise the baseline's.
TEST_CASE("the f32 tanh is bitwise alike in every build", "[cpu][isa]") {
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> exponent(-30.0, 5.0);
    std::vector<float> x = {0.0f, -0.0f, 1.0f / 256.0f, -1.0f / 256.0f, 1e30f, -1e30f,
                            INFINITY, -INFINITY, NAN, 1e-40f, -1e-45f, 10.0f, -9.5f};
    while (x.size() < 200000) {
        const double v = std::exp2(exponent(rng));
        x.push_back(static_cast<float>(rng() % 2 ? v : -v));
    }
    std::vector<float> want(x.size()), got(x.size());
    tanh_f32_fn_for(CpuIsa::baseline)(x.data(), want.data(), std::int64_t(x.size()));
    // The copy the backend runs (the elementwise loops' unary tanh) gives the same bits.
    for (const CpuIsa isa : available_cpu_isas()) {
        std::fill(got.begin(), got.end(), 0.0f);
        cpu_loops_for(isa).unary(UnaryOp::tanh, 0.0, Array{x.data(), descent::DType::f32, std::int64_t(x.size()), 0},
                                 Array{got.data(), descent::DType::f32, std::int64_t(got.size()), 0});
        INFO(cpu_isa_name(isa) << " through the elementwise loops");
        REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
    }
    for (const CpuIsa isa : available_cpu_isas())
        for (const std::size_t skip : {0, 3}) {  // vector lanes, then a scalar tail too
            std::fill(got.begin(), got.end(), 0.0f);
            tanh_f32_fn_for(isa)(x.data() + skip, got.data() + skip, std::int64_t(x.size() - skip));
            INFO(cpu_isa_name(isa) << " from " << skip);
            REQUIRE(std::memcmp(want.data() + skip, got.data() + skip, (want.size() - skip) * sizeof(float)) == 0);
        }
}

// The packed kernel's B (gemm_pack_b) in every build: each value converted to double in its
// place, both layouts, a leading dimension past the width, the padding zero.
TEMPLATE_TEST_CASE("the matrix product's B packing is exact in every build", "[cpu][isa]", float, double) {
    std::mt19937_64 rng(10);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (const CpuIsa isa : available_cpu_isas())
        for (const bool trans_b : {false, true})
            for (const std::int64_t n : {1, 3, 4, 5, 8, 17, 64})
                for (const std::int64_t k : {1, 3, 4, 7, 16}) {
                    const std::int64_t ld = (trans_b ? k : n) + 3;
                    std::vector<TestType> B(static_cast<std::size_t>((trans_b ? n : k) * ld));
                    for (TestType& v : B) v = static_cast<TestType>(normal(rng));
                    const std::int64_t n_pad = gemm_packed_width(n);
                    std::vector<double> bd(static_cast<std::size_t>(k * n_pad), -1.0);
                    gemm_kernels_for<TestType>(isa).pack(trans_b, n, k, B.data(), ld, bd.data());
                    INFO(cpu_isa_name(isa) << (trans_b ? " Bᵀ" : " B") << " n=" << n << " k=" << k);
                    for (std::int64_t p = 0; p < k; ++p)
                        for (std::int64_t j = 0; j < n_pad; ++j) {
                            const double want = j >= n ? 0.0 : double(trans_b ? B[j * ld + p] : B[p * ld + j]);
                            REQUIRE(bd[p * n_pad + j] == want);
                        }
                }
}

// The elementwise loops, axis sums and optimizer update (cpu/elementwise_loops.hpp,
// cpu/optim_update.hpp) in every build: bitwise the baseline's (a NaN's payload aside), for every op, lengths with
// vector tails and past the threading threshold, the broadcasting patterns the loops
// specialise (both operands dense, one a scalar along the run, general strides), and every
// update rule with its flags.
namespace {

template <class T>
std::vector<T> loop_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 3.0);
    std::vector<T> v(n);
    for (T& x : v) x = static_cast<T>(normal(rng));
    const T specials[] = {T(0), -T(0), T(INFINITY), -T(INFINITY), T(NAN), T(1e-30), T(-2.5)};
    for (std::size_t i = 0; i < n && i < 7; ++i) v[i * 5 % n] = specials[i];
    return v;
}

template <class T>
Array array_of(std::vector<T>& v) {
    return Array{v.data(), std::is_same_v<T, float> ? descent::DType::f32 : descent::DType::f64,
                 std::int64_t(v.size()), 0};
}

// Bit for bit, but that a NaN matches any NaN (which operand's NaN an addition of two passes on
// depends on the order the compiler writes the operands in, which vectorising may swap).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0 && !(a[i] != a[i] && b[i] != b[i])) return false;
    return true;
}

}  // namespace

TEMPLATE_TEST_CASE("the elementwise loops, axis sums and optimizer update are bitwise alike in every build",
                   "[cpu][isa]", float, double) {
    const CpuLoops base = cpu_loops_for(CpuIsa::baseline);
    for (const CpuIsa isa : available_cpu_isas()) {
        const CpuLoops loops = cpu_loops_for(isa);
        INFO(cpu_isa_name(isa));
        for (const std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(33), std::size_t(1000), std::size_t(40000)}) {
            INFO("n = " << n);
            std::vector<TestType> x = loop_values<TestType>(n, 1), want(n), got(n);
            for (int op = 0; op <= int(UnaryOp::clamp_max); ++op) {
                INFO("unary op " << op);
                base.unary(UnaryOp(op), 0.75, array_of(x), array_of(want));
                loops.unary(UnaryOp(op), 0.75, array_of(x), array_of(got));
                REQUIRE(same_bits(want, got));
            }
        }
        // Binary ops over a (rows, cols) output: b dense, b a row (scalar along each run: a
        // column vector), b broadcast along the run (a bias row), and a transposed a.
        const std::int64_t rows = 37, cols = 45;
        std::vector<TestType> a = loop_values<TestType>(std::size_t(rows * cols), 2);
        std::vector<TestType> b = loop_values<TestType>(std::size_t(rows * cols), 3);
        std::vector<TestType> want(std::size_t(rows * cols)), got(want.size());
        struct Pattern { std::int64_t sa0, sa1, sb0, sb1; };
        for (const Pattern& pt : {Pattern{cols, 1, cols, 1}, Pattern{cols, 1, 1, 0}, Pattern{cols, 1, 0, 1},
                                  Pattern{1, rows, cols, 1}, Pattern{0, 1, cols, 1}}) {
            BroadcastIndex ix;
            ix.rank = 2;
            ix.shape[0] = rows;
            ix.shape[1] = cols;
            ix.strides[0][0] = pt.sa0;
            ix.strides[0][1] = pt.sa1;
            ix.strides[1][0] = pt.sb0;
            ix.strides[1][1] = pt.sb1;
            for (int op = 0; op <= int(BinaryOp::relu_grad); ++op) {
                INFO("binary op " << op << " strides " << pt.sa0 << "," << pt.sa1 << " / " << pt.sb0 << "," << pt.sb1);
                base.binary(BinaryOp(op), array_of(a), array_of(b), array_of(want), ix);
                loops.binary(BinaryOp(op), array_of(a), array_of(b), array_of(got), ix);
                REQUIRE(same_bits(want, got));
            }
        }
        // Axis sums: (outer, len, inner) with inner past the stack buffer too.
        for (const auto& [outer, len, inner] : {std::array<std::int64_t, 3>{1, 64, 64}, {3, 17, 5},
                                               {2, 9, 300}, {5, 1000, 1}}) {
            std::vector<TestType> in = loop_values<TestType>(std::size_t(outer * len * inner), 4);
            std::vector<TestType> s_want(std::size_t(outer * inner)), s_got(s_want.size());
            base.sum_axis(array_of(in), array_of(s_want), outer, len, inner, 0.5);
            loops.sum_axis(array_of(in), array_of(s_got), outer, len, inner, 0.5);
            INFO("sum_axis " << outer << " " << len << " " << inner);
            REQUIRE(same_bits(s_want, s_got));
        }
        // Every update rule and flag, two steps (the state from the first feeds the second).
        for (int kind = 0; kind <= int(descent::optim::UpdateKind::adam); ++kind)
            for (const bool blog : {false, true})
                for (const int variant : {0, 1, 2}) {  // flags off, on, and no momentum or decay
                    const bool flag = variant == 1;
                    descent::optim::UpdateStep step;
                    step.kind = descent::optim::UpdateKind(kind);
                    step.blog = blog;
                    step.lr = 0.01;
                    step.weight_decay = 0.001;
                    step.decay_factor = 0.999;
                    step.momentum = 0.9;
                    step.dampening = 0.1;
                    step.nesterov = flag;
                    step.alpha = 0.99;
                    step.eps = 1e-8;
                    step.centered = flag;
                    step.beta1 = 0.9;
                    step.beta2 = 0.999;
                    step.bias_correction2_sqrt = 0.0316;
                    step.amsgrad = flag;
                    if (variant == 2) {
                        step.momentum = 0.0;
                        step.weight_decay = 0.0;
                        step.decay_factor = 1.0;
                    }
                    const std::size_t n = 1003;
                    std::vector<std::vector<TestType>> runs;
                    for (const CpuLoops& which : {base, loops}) {
                        std::vector<TestType> p = loop_values<TestType>(n, 5), g = loop_values<TestType>(n, 6);
                        std::vector<TestType> s0(n, TestType(0.1)), s1(n, TestType(0.2)), s2(n, TestType(0.3));
                        UpdateTensor u;
                        u.param = p.data();
                        u.grad = g.data();
                        u.state[0] = s0.data();
                        u.state[1] = s1.data();
                        u.state[2] = s2.data();
                        u.numel = std::int64_t(n);
                        u.step = step;
                        for (int t = 0; t < 2; ++t) {
                            which.optimizer_update(array_of(p).dtype, &u, 1);
                            u.step.first_step = false;
                        }
                        std::vector<TestType> all = p;
                        for (const auto* v : {&s0, &s1, &s2}) all.insert(all.end(), v->begin(), v->end());
                        runs.push_back(all);
                    }
                    INFO("update kind " << kind << " blog " << blog << " variant " << variant);
                    REQUIRE(same_bits(runs[0], runs[1]));
                }
    }
}

// The one-row kernel (a vector times a matrix, B read as stored) in every build: each entry
// the ordered double sum, alpha and the bias applied as the packed kernel's epilogue does,
// over column ranges that leave register blocks, vectors and scalar tails.
TEMPLATE_TEST_CASE("the one-row product kernel sums in order in every build", "[cpu][isa]", float, double) {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (const CpuIsa isa : available_cpu_isas())
        for (const std::int64_t n : {1, 3, 8, 16, 37, 100})
            for (const std::int64_t k : {1, 5, 64}) {
                std::vector<TestType> a(static_cast<std::size_t>(k)), B(static_cast<std::size_t>(k * n)),
                    bias(static_cast<std::size_t>(n));
                for (TestType& v : a) v = static_cast<TestType>(normal(rng));
                for (TestType& v : B) v = static_cast<TestType>(normal(rng));
                for (TestType& v : bias) v = static_cast<TestType>(normal(rng));
                for (const bool with_bias : {false, true}) {
                    std::vector<TestType> c(static_cast<std::size_t>(n), TestType(-7));
                    const GemmKernels<TestType> kernels = gemm_kernels_for<TestType>(isa);
                    const std::int64_t half = n / 2;  // two ranges, as threads would split them
                    kernels.one_row(n, k, a.data(), B.data(), 0, half, c.data(), 0.75, with_bias ? bias.data() : nullptr);
                    kernels.one_row(n, k, a.data(), B.data(), half, n, c.data(), 0.75, with_bias ? bias.data() : nullptr);
                    for (std::int64_t j = 0; j < n; ++j) {
                        double acc = 0.0;
                        for (std::int64_t p = 0; p < k; ++p) acc += double(a[p]) * double(B[p * n + j]);
                        const TestType scaled = static_cast<TestType>(0.75 * acc);
                        const TestType want = with_bias ? static_cast<TestType>(scaled + bias[j]) : scaled;
                        INFO(cpu_isa_name(isa) << " n=" << n << " k=" << k << " j=" << j << (with_bias ? " bias" : ""));
                        REQUIRE(std::memcmp(&c[j], &want, sizeof want) == 0);
                    }
                }
            }
}
