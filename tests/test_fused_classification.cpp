// The fused classification passes (include/descent/loss.hpp) against independent references:
//  (a) logistic_value_and_grad / logistic_value_grad_hessian against the composed autodiff
//      graph mean(relu(z) - z y + log(1 + exp(-|z|))), |z| = relu(z) + relu(-z), z = X w: the
//      loss, backward()'s gradient and descent::hessian's Hessian, f64 to 1e-12 relative and
//      f32 against the f64 reference to 1e-5, for n across the CPU row block (4096) and d
//      across the block kernel's compile-time widths;
//  (b) softmax_cross_entropy_value_and_grad against the composed graph
//      mean(log(sum(exp(Z - M), 1)) - sum((Z - M) * onehot, 1)), Z = X W, M the row max held
//      as a constant and the one-hot matrix built here, likewise;
//  (c) extreme logits (|z| = 1e4): finite loss, gradient and Hessian equal to their analytic
//      values (the loss is the mean of |z| over the wrong-side rows);
//  (d) determinism: bitwise the same for 1, 2 and 3 OpenMP threads, and for every CPU
//      instruction-set build of the logistic block kernel;
//  (e) the label checks: 0.5, -1, k, NaN fail with one descent::Error naming the row.
// "Relative" is per entry, with near-zero entries measured at a thousandth of the largest
// (see max_rel_err).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cpu/logistic_isa.hpp"
#include "descent/descent.hpp"
#include "descent/functional.hpp"

namespace {

using descent::DType;
using descent::Tensor;

// max_i |a_i - b_i| / max(|b_i|, 1e-3 max_k |b_k|); b is the reference. Relative per entry,
// except that entries below a thousandth of the largest are measured at that scale: such an
// entry is a sum whose terms (of both signs, up to the largest entry's size) nearly cancel,
// and any double evaluation of it, the reference's included, carries an absolute error of
// about 1e-16 of the terms (seen: a softmax gradient entry of 4e-7 next to 0.13, the two
// passes 7e-18 apart, 1.7e-11 "relative"). Infinity when the sizes differ or a value is NaN.
double max_rel_err(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double largest = 0.0;
    for (double v : b) largest = std::max(largest, std::abs(v));
    const double floor = std::max(1e-3 * largest, 1e-300);
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double err = std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), floor);
        if (!(err <= worst)) worst = err;  // also propagates NaN
    }
    return worst;
}

double max_rel_err(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
    return max_rel_err(a.to_vector<double>(), b.to_vector<double>());
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
    return va.size() == vb.size() &&
           (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0);
}

std::vector<double> uniform(std::mt19937_64& rng, std::size_t count, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(count);
    for (double& x : v) x = dist(rng);
    return v;
}

std::vector<double> rounded_to_float(std::vector<double> v) {
    for (double& x : v) x = double(static_cast<float>(x));
    return v;
}

// ---- logistic -------------------------------------------------------------------------------

// X (n, d) uniform in [-1, 1] plus a column offset (so the columns are not centred and no
// gradient entry is a cancellation-dominated near-zero sum), w (d) at the current iterate,
// and labels drawn from a different model: y_i = 1 with probability σ(3 x_i·w_true), so the
// gradient at w is well away from zero.
struct LogisticProblem {
    std::int64_t n = 0, d = 0;
    std::vector<double> X, y, w;
};

LogisticProblem logistic_problem(std::uint64_t seed, std::int64_t n, std::int64_t d) {
    std::mt19937_64 rng(seed);
    LogisticProblem p;
    p.n = n;
    p.d = d;
    p.X = uniform(rng, static_cast<std::size_t>(n * d), -1, 1);
    const std::vector<double> offset = uniform(rng, static_cast<std::size_t>(d), -0.5, 0.5);
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) p.X[i * d + j] += offset[j];
    p.w = uniform(rng, static_cast<std::size_t>(d), -1, 1);
    const std::vector<double> w_true = uniform(rng, static_cast<std::size_t>(d), -2, 2);
    std::uniform_real_distribution<double> u01(0, 1);
    p.y.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        double z = 0.0;
        for (std::int64_t j = 0; j < d; ++j) z += p.X[i * d + j] * w_true[j];
        p.y[i] = u01(rng) < 1.0 / (1.0 + std::exp(-3.0 * z)) ? 1.0 : 0.0;
    }
    return p;
}

// The composed graph's loss of X, y at w (w's graph is kept for backward / hessian).
Tensor composed_logistic_loss(const Tensor& X, const Tensor& y, const Tensor& w) {
    using namespace descent;
    const Tensor z = matmul(X, w);
    const Tensor abs_z = relu(z) + relu(-z);
    return mean(relu(z) - z * y + log(1.0 + exp(-abs_z)));
}

struct Reference {
    Tensor loss, grad, hessian;
};

// The f64 composed graph's loss, gradient (backward()) and, when asked, Hessian
// (descent::hessian).
Reference composed_logistic(const LogisticProblem& p, bool with_hessian) {
    const Tensor X = descent::from_vector(p.X, {p.n, p.d}, DType::f64);
    const Tensor y = descent::from_vector(p.y, {p.n}, DType::f64);
    Tensor w = descent::from_vector(p.w, {p.d}, DType::f64);
    w.requires_grad_();
    const Tensor loss = composed_logistic_loss(X, y, w);
    loss.backward();
    Reference r{loss.detach(), w.grad(), Tensor()};
    if (with_hessian)
        r.hessian = descent::hessian(
            [&](const Tensor& v) { return composed_logistic_loss(X, y, v); }, w.detach());
    return r;
}

descent::LogisticResult fused_logistic(const LogisticProblem& p, DType dt, bool with_hessian) {
    const Tensor X = descent::from_vector(p.X, {p.n, p.d}, dt);
    const Tensor y = descent::from_vector(p.y, {p.n}, dt);
    const Tensor w = descent::from_vector(p.w, {p.d}, dt);
    return with_hessian ? descent::logistic_value_grad_hessian(X, y, w)
                        : descent::logistic_value_and_grad(X, y, w);
}

struct Size {
    std::int64_t n, d;
};

// n: 1, a few rows, either side of the CPU row block (4096), several blocks; d: 1..40,
// covering the block kernel's compile-time widths (1, 2, 3, 4, 8, 16, 17, 32) and others.
const std::vector<Size> kLogisticSizes = {{1, 1},     {7, 3},     {64, 2},    {65, 5},
                                          {300, 8},   {1000, 32}, {4095, 16}, {4096, 4},
                                          {4097, 17}, {5000, 40}, {4100, 1},  {2000, 9}};

// ---- softmax ----------------------------------------------------------------------------

struct SoftmaxProblem {
    std::int64_t n = 0, d = 0, k = 0;
    std::vector<double> X, labels, W;
};

// X as for logistic, W (d, k) at the current iterate, labels the argmax of X W_true plus
// noise for another W_true.
SoftmaxProblem softmax_problem(std::uint64_t seed, std::int64_t n, std::int64_t d,
                               std::int64_t k) {
    std::mt19937_64 rng(seed);
    SoftmaxProblem p;
    p.n = n;
    p.d = d;
    p.k = k;
    p.X = uniform(rng, static_cast<std::size_t>(n * d), -1, 1);
    const std::vector<double> offset = uniform(rng, static_cast<std::size_t>(d), -0.5, 0.5);
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) p.X[i * d + j] += offset[j];
    p.W = uniform(rng, static_cast<std::size_t>(d * k), -1, 1);
    const std::vector<double> W_true = uniform(rng, static_cast<std::size_t>(d * k), -2, 2);
    std::uniform_real_distribution<double> noise(-1, 1);
    p.labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t best = 0;
        double best_z = -std::numeric_limits<double>::infinity();
        for (std::int64_t c = 0; c < k; ++c) {
            double z = noise(rng);
            for (std::int64_t j = 0; j < d; ++j) z += p.X[i * d + j] * W_true[j * k + c];
            if (z > best_z) {
                best_z = z;
                best = c;
            }
        }
        p.labels[i] = double(best);
    }
    return p;
}

// The composed graph: Z = X W; M = the row max of Z, computed here and held as a constant;
// loss = mean(log(sum(exp(Z - M), 1)) - sum((Z - M) * onehot, 1)).
Tensor composed_softmax_loss(const SoftmaxProblem& p, const Tensor& X, const Tensor& onehot,
                             const Tensor& W) {
    using namespace descent;
    const Tensor Z = matmul(X, W);
    const std::vector<double> zv = Z.to_vector<double>();
    std::vector<double> m(static_cast<std::size_t>(p.n));
    for (std::int64_t i = 0; i < p.n; ++i)
        m[i] = *std::max_element(zv.begin() + i * p.k, zv.begin() + (i + 1) * p.k);
    const Tensor M = from_vector(m, {p.n, 1}, DType::f64);
    const Tensor Zs = Z - M;
    return mean(log(sum(exp(Zs), 1)) - sum(Zs * onehot, 1));
}

Reference composed_softmax(const SoftmaxProblem& p) {
    const Tensor X = descent::from_vector(p.X, {p.n, p.d}, DType::f64);
    std::vector<double> onehot(static_cast<std::size_t>(p.n * p.k), 0.0);
    for (std::int64_t i = 0; i < p.n; ++i)
        onehot[i * p.k + static_cast<std::int64_t>(p.labels[i])] = 1.0;
    const Tensor O = descent::from_vector(onehot, {p.n, p.k}, DType::f64);
    Tensor W = descent::from_vector(p.W, {p.d, p.k}, DType::f64);
    W.requires_grad_();
    const Tensor loss = composed_softmax_loss(p, X, O, W);
    loss.backward();
    return {loss.detach(), W.grad(), Tensor()};
}

descent::SoftmaxCrossEntropyResult fused_softmax(const SoftmaxProblem& p, DType dt) {
    return descent::softmax_cross_entropy_value_and_grad(
        descent::from_vector(p.X, {p.n, p.d}, dt), descent::from_vector(p.labels, {p.n}, dt),
        descent::from_vector(p.W, {p.d, p.k}, dt));
}

struct SoftmaxSize {
    std::int64_t n, d, k;
};

const std::vector<SoftmaxSize> kSoftmaxSizes = {{1, 1, 2},      {7, 3, 3},     {300, 5, 7},
                                                {4095, 2, 2},   {4096, 8, 5},  {4097, 16, 10},
                                                {5000, 40, 4},  {1000, 17, 10}, {2000, 1, 3}};

// The error message `f` throws as descent::Error ("" when it throws nothing).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const descent::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("fused logistic equals the composed autodiff graph (f64 to 1e-12, f32 to 1e-5)",
          "[loss][logistic]") {
    std::uint64_t seed = 100;
    for (const Size& s : kLogisticSizes) {
        INFO("n=" << s.n << " d=" << s.d);
        const LogisticProblem p = logistic_problem(++seed, s.n, s.d);
        const Reference ref = composed_logistic(p, true);

        const descent::LogisticResult vg = fused_logistic(p, DType::f64, false);
        const descent::LogisticResult vgh = fused_logistic(p, DType::f64, true);
        CHECK(max_rel_err(vg.loss, ref.loss) <= 1e-12);
        CHECK(max_rel_err(vg.grad, ref.grad) <= 1e-12);
        CHECK_FALSE(vg.hessian.defined());
        CHECK(bitwise_equal(vgh.loss, vg.loss));  // the Hessian changes nothing else
        CHECK(bitwise_equal(vgh.grad, vg.grad));
        CHECK(max_rel_err(vgh.hessian, ref.hessian) <= 1e-12);
        const std::vector<double> h = vgh.hessian.to_vector<double>();
        for (std::int64_t j = 0; j < s.d; ++j)  // symmetric, exactly
            for (std::int64_t k = 0; k < j; ++k) CHECK(h[j * s.d + k] == h[k * s.d + j]);

        // f32: the same problem rounded to float, against the f64 graph on the rounded values.
        LogisticProblem pf = p;
        pf.X = rounded_to_float(p.X);
        pf.w = rounded_to_float(p.w);
        const Reference ref_f = composed_logistic(pf, true);
        const descent::LogisticResult f32 = fused_logistic(pf, DType::f32, true);
        CHECK(f32.loss.dtype() == DType::f32);
        CHECK(max_rel_err(f32.loss, ref_f.loss) <= 1e-5);
        CHECK(max_rel_err(f32.grad, ref_f.grad) <= 1e-5);
        CHECK(max_rel_err(f32.hessian, ref_f.hessian) <= 1e-5);
    }
}

TEST_CASE("fused softmax cross-entropy equals the composed autodiff graph (f64 to 1e-12, f32 to 1e-5)",
          "[loss][softmax]") {
    std::uint64_t seed = 200;
    for (const SoftmaxSize& s : kSoftmaxSizes) {
        INFO("n=" << s.n << " d=" << s.d << " k=" << s.k);
        const SoftmaxProblem p = softmax_problem(++seed, s.n, s.d, s.k);
        const Reference ref = composed_softmax(p);
        const descent::SoftmaxCrossEntropyResult r = fused_softmax(p, DType::f64);
        CHECK(r.grad.shape() == descent::Shape{s.d, s.k});
        CHECK(max_rel_err(r.loss, ref.loss) <= 1e-12);

        SoftmaxProblem pf = p;
        pf.X = rounded_to_float(p.X);
        pf.W = rounded_to_float(p.W);
        const Reference ref_f = composed_softmax(pf);
        const descent::SoftmaxCrossEntropyResult f32 = fused_softmax(pf, DType::f32);
        CHECK(f32.loss.dtype() == DType::f32);
        CHECK(max_rel_err(f32.loss, ref_f.loss) <= 1e-5);
        CHECK(max_rel_err(f32.grad, ref_f.grad) <= 1e-5);
    }
}

TEST_CASE("binary logistic with two classes equals softmax regression with W = [0, w]",
          "[loss][logistic][softmax]") {
    // softmax over (0, z) is (1 - σ(z), σ(z)); its cross-entropy is the logistic loss, and its
    // gradient's second column is the logistic gradient (the first is its negative).
    const LogisticProblem p = logistic_problem(7, 3000, 6);
    SoftmaxProblem s;
    s.n = p.n;
    s.d = p.d;
    s.k = 2;
    s.X = p.X;
    s.labels = p.y;
    s.W.assign(static_cast<std::size_t>(2 * p.d), 0.0);
    for (std::int64_t j = 0; j < p.d; ++j) s.W[j * 2 + 1] = p.w[j];
    const descent::LogisticResult lr = fused_logistic(p, DType::f64, false);
    const descent::SoftmaxCrossEntropyResult sr = fused_softmax(s, DType::f64);
    CHECK(max_rel_err(sr.loss, lr.loss) <= 1e-12);
    const std::vector<double> g = sr.grad.to_vector<double>();
    std::vector<double> second(static_cast<std::size_t>(p.d)), minus_first(second.size());
    for (std::int64_t j = 0; j < p.d; ++j) {
        second[j] = g[j * 2 + 1];
        minus_first[j] = -g[j * 2];
    }
    CHECK(max_rel_err(second, lr.grad.to_vector<double>()) <= 1e-12);
    CHECK(max_rel_err(minus_first, lr.grad.to_vector<double>()) <= 1e-12);
}

TEST_CASE("extreme logits (|z| = 1e4) give finite, exact losses and gradients",
          "[loss][logistic][softmax][stability]") {
    // Rows x_i = (s_i 1e4, c_i) with w = (1, 0): z_i = ±1e4 exactly. Row i is on the wrong side
    // when sign(z_i) disagrees with y_i: its loss term is |z_i| = 1e4, its σ - y is ±1; a
    // right-side row contributes 0, 0 (exp(-1e4) underflows to 0, as does σ(1 - σ)).
    for (DType dt : {DType::f64, DType::f32}) {
        INFO(descent::dtype_name(dt));
        const std::int64_t n = 4103, d = 2;  // two CPU blocks
        std::vector<double> X(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
        double wrong = 0.0;
        std::vector<double> grad(2, 0.0);
        for (std::int64_t i = 0; i < n; ++i) {
            const double sign = (i % 3 == 0) ? -1.0 : 1.0;
            X[i * d] = sign * 1e4;
            X[i * d + 1] = double(i % 7) - 3.0;
            y[i] = (i % 5 < 2) ? 1.0 : 0.0;
            const double sigma = sign > 0 ? 1.0 : 0.0;
            const double r = sigma - y[i];
            if (r != 0.0) wrong += 1.0;
            grad[0] += r * X[i * d];
            grad[1] += r * X[i * d + 1];
        }
        const Tensor Xt = descent::from_vector(X, {n, d}, dt);
        const Tensor yt = descent::from_vector(y, {n}, dt);
        const Tensor w = descent::from_vector(std::vector<double>{1.0, 0.0}, {d}, dt);
        const descent::LogisticResult r = descent::logistic_value_grad_hessian(Xt, yt, w);
        CHECK(r.loss.item() == Approx(1e4 * wrong / double(n)).epsilon(1e-7));
        CHECK(max_rel_err(r.grad.to_vector<double>(),
                          {grad[0] / double(n), grad[1] / double(n)}) <= 1e-7);
        for (double h : r.hessian.to_vector<double>()) CHECK(h == 0.0);

        // Softmax, k = 3, logits (z, 0, -z) with z = ±1e4: a wrong label costs its margin to
        // the row max (1e4 or 2e4); the right one costs 0.
        std::vector<double> W = {1.0, 0.0, -1.0, 0.0, 0.0, 0.0};  // (2, 3)
        std::vector<double> labels(static_cast<std::size_t>(n));
        double loss = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            labels[i] = double(i % 3);
            const double z[3] = {X[i * d], 0.0, -X[i * d]};
            const double m = std::max(z[0], z[2]);
            loss += m - z[i % 3];
        }
        const descent::SoftmaxCrossEntropyResult s = descent::softmax_cross_entropy_value_and_grad(
            Xt, descent::from_vector(labels, {n}, dt), descent::from_vector(W, {2, 3}, dt));
        CHECK(std::isfinite(s.loss.item()));
        CHECK(s.loss.item() == Approx(loss / double(n)).epsilon(1e-7));
        for (double g : s.grad.to_vector<double>()) CHECK(std::isfinite(g));
    }
}

TEST_CASE("the fused classification passes are bitwise identical for 1, 2 and 3 threads",
          "[loss][logistic][softmax][threads]") {
    const int original = descent::cpu_threads();
    for (DType dt : {DType::f32, DType::f64}) {
        for (std::int64_t d : {3, 16, 21}) {
            INFO(descent::dtype_name(dt) << " d=" << d);
            const LogisticProblem p = logistic_problem(31 + d, 50000, d);  // 13 blocks
            const SoftmaxProblem s = softmax_problem(41 + d, 50000, d, 5);
            std::vector<descent::LogisticResult> lr;
            std::vector<descent::SoftmaxCrossEntropyResult> sr;
            for (int threads : {1, 2, 3}) {
                descent::set_cpu_threads(threads);
                lr.push_back(fused_logistic(p, dt, true));
                sr.push_back(fused_softmax(s, dt));
            }
            for (std::size_t t = 1; t < lr.size(); ++t) {
                CHECK(bitwise_equal(lr[t].loss, lr[0].loss));
                CHECK(bitwise_equal(lr[t].grad, lr[0].grad));
                CHECK(bitwise_equal(lr[t].hessian, lr[0].hessian));
                CHECK(bitwise_equal(sr[t].loss, sr[0].loss));
                CHECK(bitwise_equal(sr[t].grad, sr[0].grad));
            }
        }
    }
    descent::set_cpu_threads(original);
}

TEST_CASE("every CPU instruction-set build of the logistic block gives bitwise the same sums",
          "[loss][logistic][isa]") {
    using namespace descent::detail;
    const std::vector<CpuIsa> isas = available_cpu_isas();
    INFO(isas.size() << " instruction sets available");
    for (std::int64_t d : {1, 2, 3, 4, 5, 8, 16, 17, 32, 40}) {
        const LogisticProblem p = logistic_problem(77 + d, 1000, d);  // not a multiple of 64
        const std::vector<float> Xf(p.X.begin(), p.X.end()), yf(p.y.begin(), p.y.end()),
            wf(p.w.begin(), p.w.end());
        const auto run = [&](CpuIsa isa, bool f32) {
            std::vector<double> out(static_cast<std::size_t>(1 + d + d * d), 0.0);
            if (f32)
                logistic_block_fn_for<float>(isa, d)(Xf.data(), yf.data(), wf.data(), p.n, d, true,
                                                     out.data());
            else
                logistic_block_fn_for<double>(isa, d)(p.X.data(), p.y.data(), p.w.data(), p.n, d,
                                                      true, out.data());
            return out;
        };
        for (bool f32 : {false, true}) {
            const std::vector<double> base = run(CpuIsa::baseline, f32);
            for (CpuIsa isa : isas) {
                INFO("d=" << d << (f32 ? " f32 " : " f64 ") << cpu_isa_name(isa));
                const std::vector<double> got = run(isa, f32);
                CHECK(std::memcmp(got.data(), base.data(), got.size() * sizeof(double)) == 0);
            }
        }
    }
}

TEST_CASE("the logistic blocks reading an implicit ones column equal those over the stored column",
          "[loss][logistic][isa][intercept]") {
    using namespace descent::detail;
    for (std::int64_t d : {2, 3, 4, 5, 8, 9, 16, 17, 32, 33}) {
        LogisticProblem p = logistic_problem(91 + d, 1000, d);
        std::vector<double> cut;  // X's first d - 1 columns; the stored X's last set to ones
        for (std::int64_t i = 0; i < p.n; ++i) {
            p.X[static_cast<std::size_t>(i * d + d - 1)] = 1.0;
            cut.insert(cut.end(), p.X.begin() + i * d, p.X.begin() + i * d + d - 1);
        }
        const std::vector<float> Xf(p.X.begin(), p.X.end()), cutf(cut.begin(), cut.end()),
            yf(p.y.begin(), p.y.end()), wf(p.w.begin(), p.w.end());
        for (CpuIsa isa : available_cpu_isas()) {
            for (bool f32 : {false, true}) {
                INFO("d=" << d << (f32 ? " f32 " : " f64 ") << cpu_isa_name(isa));
                std::vector<double> stored(static_cast<std::size_t>(1 + d + d * d), 0.0),
                    implicit = stored;
                if (f32) {
                    logistic_block_fn_for<float>(CpuIsa::baseline, d)(
                        Xf.data(), yf.data(), wf.data(), p.n, d, true, stored.data());
                    const auto fn = logistic_block_fn_for<float>(isa, d, true);
                    REQUIRE(fn != nullptr);
                    fn(cutf.data(), yf.data(), wf.data(), p.n, d, true, implicit.data());
                } else {
                    logistic_block_fn_for<double>(CpuIsa::baseline, d)(
                        p.X.data(), p.y.data(), p.w.data(), p.n, d, true, stored.data());
                    const auto fn = logistic_block_fn_for<double>(isa, d, true);
                    REQUIRE(fn != nullptr);
                    fn(cut.data(), p.y.data(), p.w.data(), p.n, d, true, implicit.data());
                }
                CHECK(std::memcmp(implicit.data(), stored.data(), stored.size() * sizeof(double)) == 0);
            }
        }
    }
    CHECK(descent::detail::logistic_block_fn_for<double>(descent::detail::CpuIsa::baseline, 6, true) ==
          nullptr);
}

TEST_CASE("label checks: one error naming the row", "[loss][logistic][softmax][errors]") {
    const Tensor X = descent::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}, {4, 2},
                                          DType::f64);
    const Tensor w = descent::zeros({2}, DType::f64);
    const Tensor W = descent::zeros({2, 3}, DType::f64);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double bad : {0.5, -1.0, 2.0, nan}) {
        INFO("logistic label " << bad);
        const Tensor y = descent::from_vector(std::vector<double>{0, 1, bad, 1}, {4}, DType::f64);
        const std::string msg = error_of([&] { descent::logistic_value_and_grad(X, y, w); });
        CHECK_THAT(msg, Catch::Contains("logistic_value_and_grad") && Catch::Contains("row 2") &&
                            Catch::Contains("0 or 1"));
        CHECK_THAT(error_of([&] { descent::logistic_value_grad_hessian(X, y, w); }),
                   Catch::Contains("row 2"));
    }
    for (double bad : {0.5, -1.0, 3.0, nan, 2.5}) {
        INFO("softmax label " << bad);
        const Tensor labels =
            descent::from_vector(std::vector<double>{0, 2, 1, bad}, {4}, DType::f64);
        const std::string msg =
            error_of([&] { descent::softmax_cross_entropy_value_and_grad(X, labels, W); });
        CHECK_THAT(msg, Catch::Contains("softmax_cross_entropy_value_and_grad") &&
                            Catch::Contains("row 3") && Catch::Contains("0..2"));
    }
    // Valid labels pass; f32 labels too; a label view is read through its strides.
    CHECK(error_of([&] {
              descent::logistic_value_and_grad(
                  X.to(DType::f32), descent::from_vector(std::vector<double>{0, 1, 1, 0}, {4}, DType::f32),
                  w.to(DType::f32));
          }) == "");
    const Tensor wide = descent::from_vector(std::vector<double>{0, 9, 2, 9, 1, 9, 0, 9}, {4, 2},
                                             DType::f64);
    CHECK(error_of([&] {
              descent::softmax_cross_entropy_value_and_grad(X, descent::select(wide, 1, 0), W);
          }) == "");
    CHECK_THAT(error_of([&] {
                   descent::softmax_cross_entropy_value_and_grad(X, descent::select(wide, 1, 1), W);
               }),
               Catch::Contains("row 0") && Catch::Contains("9"));
    // Shapes.
    CHECK_THAT(error_of([&] { descent::logistic_value_and_grad(X, descent::zeros({3}, DType::f64), w); }),
               Catch::Contains("expects X (n, d), y (n), w (d)"));
    CHECK_THAT(error_of([&] {
                   descent::softmax_cross_entropy_value_and_grad(X, descent::zeros({4}, DType::f64),
                                                                 descent::zeros({3, 3}, DType::f64));
               }),
               Catch::Contains("expects X (n, d), labels (n), W (d, k)"));
}
