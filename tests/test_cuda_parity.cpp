// CUDA vs CPU parity: every op of ops.hpp (elementwise, broadcasting, matmul, shape ops,
// reductions, the selections, comparisons, max/min/argmax, index_select, the softmax family),
// mse_loss and the classification losses, dtype conversion and clone on the device, a
// backward pass through composite graphs, the fused linear-MSE step on each of its kernel
// paths, the fused logistic and softmax passes on each of theirs, determinism,
// solve_spd, and mixing devices. Every case builds its inputs on the host from
// std::mt19937_64 with a fixed seed, runs the op on the CPU and on the device, and compares.
// Every case runs for f32 and f64. Needs a CUDA device (else the executable exits 77: skipped).
//
// Tolerance: max relative error |got - ref| / max(|ref|, tiny) <= 1e-12 (f64) / 1e-5 (f32).
// Inputs are drawn so that every sum a kernel forms has terms of one sign (positive data where
// an op reduces), which keeps the per-element relative error meaningful. Where a result can
// come out of cancellation anyway, the comparison is relative to the tensor's largest |ref|
// ("scaled"), and the case says why. f32 results that cuBLAS accumulates in float over k terms
// get a tolerance growing with sqrt(k) (see tolerance() below).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cuda_compare.hpp"
#include "descent/descent.hpp"

using namespace descent;

namespace {

using cuda_compare::max_error;
using cuda_compare::Metric;
using cuda_compare::tolerance;

// The device under test.
const Device kDevice = Device::cuda(0);
const DType kDTypes[] = {DType::f32, DType::f64};

constexpr std::int64_t kLarge = (1 << 20) + 3;  // many 256-thread blocks, a ragged last one

// ---- inputs -------------------------------------------------------------------------------

std::vector<double> uniform(std::int64_t n, double lo, double hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<double> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = u(rng);
    return v;
}

// A cpu tensor of `shape` (rank 0 allowed) with values uniform in [lo, hi), in dtype dt.
Tensor host_uniform(const Shape& shape, double lo, double hi, DType dt, std::uint64_t seed) {
    return from_vector(uniform(shape_numel(shape), lo, hi, seed), shape, dt);
}

// ---- comparisons --------------------------------------------------------------------------


// For f32 results that cuBLAS accumulates in float over k terms (matmul's inner dimension;
// the Hessian's n rows in syrk and in linear_mse_hessian's gemm; the wide linear-MSE path's
// gemv), while the CPU accumulates in double: the error of a k-term float sum grows like
// u*sqrt(k) (u = 2^-24 = 6e-8); a sequential float loop over 300000 positive products of
// this suite's data was measured at 2.1e-5 relative. Allowed: 2e-7 * sqrt(k) (about 3 u
// sqrt(k)), never less than 1e-5. f64 keeps 1e-12 (u = 1.1e-16; 5e-14 at k = 300000).
double tolerance(DType dt, std::int64_t k) {
    if (dt == DType::f64) return 1e-12;
    return std::max(1e-5, 2e-7 * std::sqrt(double(k)));
}

// `got` must be on the device and `ref` on the cpu, with the same shape and dtype, and agree
// to `tol` under `metric`.
void check_close(const std::string& what, const Tensor& got, const Tensor& ref, double tol,
                 Metric metric = Metric::relative) {
    INFO(what);
    REQUIRE(got.defined());
    REQUIRE(ref.defined());
    CHECK(got.device() == kDevice);
    CHECK(ref.device() == Device::cpu());
    CHECK(got.dtype() == ref.dtype());
    INFO("shapes " << shape_str(got.shape()) << " (device) and " << shape_str(ref.shape())
                   << " (cpu)");
    REQUIRE(got.shape() == ref.shape());
    const double err = max_error(got.to_vector<double>(), ref.to_vector<double>(), metric);
    INFO("max " << (metric == Metric::relative ? "relative" : "scaled") << " error " << err
                << ", tolerance " << tol);
    CHECK(err <= tol);
}

// Bitwise equality of two device results (finite values: == on doubles converted exactly).
void check_identical(const std::string& what, const Tensor& a, const Tensor& b) {
    INFO(what);
    REQUIRE(a.shape() == b.shape());
    const auto x = a.to_vector<double>(), y = b.to_vector<double>();
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i])) ++mismatches;
    INFO(mismatches << " of " << x.size() << " elements differ");
    CHECK(mismatches == 0);
}

std::string label(const std::string& op, DType dt, const Shape& a, const Shape& b = {},
                  bool two = false) {
    std::ostringstream os;
    os << op << " " << dtype_name(dt) << " " << shape_str(a);
    if (two) os << " with " << shape_str(b);
    return os.str();
}

// The message of the descent::Error `f` throws ("" when it throws nothing); any other
// exception escapes and fails the test case.
std::string error_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
using Unary = std::function<Tensor(const Tensor&)>;

}  // namespace

// ---- elementwise --------------------------------------------------------------------------

TEST_CASE("binary ops: equal shapes, row, column and scalar broadcasting", "[cuda][parity]") {
    struct Case {
        Shape a, b;
    };
    const std::vector<Case> cases = {
        // equal shapes; numel 1, 255, 257 (256-thread blocks) and large
        {{1}, {1}},
        {{255}, {255}},
        {{257}, {257}},
        {{kLarge}, {kLarge}},
        {{17, 15}, {17, 15}},
        // row broadcasting (n, d) + (d)
        {{1, 1}, {1}},
        {{51, 5}, {5}},
        {{1, 257}, {257}},
        {{4099, 256}, {256}},
        // column broadcasting (n, d) + (n, 1)
        {{5, 51}, {5, 1}},
        {{257, 1}, {257, 1}},
        {{1, 255}, {1, 1}},
        {{4099, 257}, {4099, 1}},
        // a scalar () with a matrix, on either side, and with a scalar
        {{}, {17, 15}},
        {{257, 255}, {}},
        {{}, {}},
        {{}, {kLarge}},
        // both operands stretched, and rank 3
        {{255, 1}, {1, 257}},
        {{257}, {255, 1}},
        {{3, 1, 5}, {4, 1}},
        {{2, 3, 4}, {3, 1}},
    };
    const std::vector<std::pair<std::string, Binary>> ops = {
        {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
        {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
        {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
        {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
        {"operator+", [](const Tensor& a, const Tensor& b) { return a + b; }},
        {"operator-", [](const Tensor& a, const Tensor& b) { return a - b; }},
        {"operator*", [](const Tensor& a, const Tensor& b) { return a * b; }},
        {"operator/", [](const Tensor& a, const Tensor& b) { return a / b; }},
    };
    std::uint64_t seed = 100;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            // Signed a, positive b (a divisor). One IEEE operation per element: both sides
            // round the same exact result, so even a - b near zero compares per element.
            const Tensor a = host_uniform(c.a, -2.0, 2.0, dt, ++seed);
            const Tensor b = host_uniform(c.b, 0.5, 2.0, dt, ++seed);
            const Tensor ad = a.to(kDevice), bd = b.to(kDevice);
            for (const auto& [name, op] : ops)
                check_close(label(name, dt, c.a, c.b, true), op(ad, bd), op(a, b), tolerance(dt));
        }
    }
}

TEST_CASE("tensor-scalar ops", "[cuda][parity]") {
    const std::vector<Shape> shapes = {{}, {1}, {255}, {257}, {kLarge}, {17, 15}};
    using ScalarOp = std::function<Tensor(const Tensor&, double)>;
    const std::vector<std::pair<std::string, ScalarOp>> ops = {
        {"add(a, s)", [](const Tensor& a, double s) { return add(a, s); }},
        {"sub(a, s)", [](const Tensor& a, double s) { return sub(a, s); }},
        {"rsub(s, a)", [](const Tensor& a, double s) { return rsub(s, a); }},
        {"mul(a, s)", [](const Tensor& a, double s) { return mul(a, s); }},
        {"div(a, s)", [](const Tensor& a, double s) { return div(a, s); }},
        {"rdiv(s, a)", [](const Tensor& a, double s) { return rdiv(s, a); }},
        {"a + s", [](const Tensor& a, double s) { return a + s; }},
        {"s + a", [](const Tensor& a, double s) { return s + a; }},
        {"a - s", [](const Tensor& a, double s) { return a - s; }},
        {"s - a", [](const Tensor& a, double s) { return s - a; }},
        {"a * s", [](const Tensor& a, double s) { return a * s; }},
        {"s * a", [](const Tensor& a, double s) { return s * a; }},
        {"a / s", [](const Tensor& a, double s) { return a / s; }},
        {"s / a", [](const Tensor& a, double s) { return s / a; }},
    };
    std::uint64_t seed = 200;
    for (DType dt : kDTypes) {
        for (const Shape& shape : shapes) {
            const Tensor a = host_uniform(shape, 0.5, 2.0, dt, ++seed);  // positive: rdiv
            const Tensor ad = a.to(kDevice);
            for (double s : {1.75, -0.3}) {  // -0.3 is inexact in both dtypes
                for (const auto& [name, op] : ops) {
                    std::ostringstream what;
                    what << name << " with s = " << s;
                    check_close(label(what.str(), dt, shape), op(ad, s), op(a, s), tolerance(dt));
                }
            }
        }
    }
}

TEST_CASE("unary ops", "[cuda][parity]") {
    const std::vector<Shape> shapes = {{}, {1}, {255}, {257}, {kLarge}, {17, 15}};
    struct Op {
        std::string name;
        Unary f;
        bool positive;  // domain: (0.05, 4) when true, (-6, 6) otherwise
    };
    const std::vector<Op> ops = {
        {"neg", [](const Tensor& a) { return neg(a); }, false},
        {"unary -", [](const Tensor& a) { return -a; }, false},
        {"square", [](const Tensor& a) { return square(a); }, false},
        {"pow 2", [](const Tensor& a) { return pow(a, 2.0); }, true},
        {"pow 0.5", [](const Tensor& a) { return pow(a, 0.5); }, true},
        {"pow -1.5", [](const Tensor& a) { return pow(a, -1.5); }, true},
        {"sqrt", [](const Tensor& a) { return sqrt(a); }, true},
        {"exp", [](const Tensor& a) { return exp(a); }, false},
        {"log", [](const Tensor& a) { return log(a); }, true},
        {"tanh", [](const Tensor& a) { return tanh(a); }, false},
        {"sigmoid", [](const Tensor& a) { return sigmoid(a); }, false},
        {"relu", [](const Tensor& a) { return relu(a); }, false},
        {"abs", [](const Tensor& a) { return abs(a); }, false},
        {"log1p", [](const Tensor& a) { return log1p(a); }, true},
        {"clamp", [](const Tensor& a) { return clamp(a, -1.5, 2.5); }, false},
        {"clamp_min", [](const Tensor& a) { return clamp_min(a, 0.3); }, false},
        {"clamp_max", [](const Tensor& a) { return clamp_max(a, -0.3); }, false},
    };
    std::uint64_t seed = 300;
    for (DType dt : kDTypes) {
        for (const Shape& shape : shapes) {
            const Tensor pos = host_uniform(shape, 0.05, 4.0, dt, ++seed);
            const Tensor sgn = host_uniform(shape, -6.0, 6.0, dt, ++seed);
            const Tensor pos_d = pos.to(kDevice), sgn_d = sgn.to(kDevice);
            // CUDA's math functions are within 1-4 ulp of the exact value (2^-52 / 2^-23 per
            // ulp), as glibc's are: far inside 1e-12 / 1e-5, element by element.
            for (const Op& op : ops) {
                const Tensor& in = op.positive ? pos : sgn;
                const Tensor& in_d = op.positive ? pos_d : sgn_d;
                check_close(label(op.name, dt, shape), op.f(in_d), op.f(in), tolerance(dt));
            }
        }
    }
}

// ---- linear algebra and shape ops ---------------------------------------------------------

TEST_CASE("matmul: mm, mv, vm, vv, with dimensions of 1", "[cuda][parity]") {
    struct Case {
        Shape a, b;
    };
    const std::vector<Case> cases = {
        // mm
        {{1, 1}, {1, 1}},
        {{1, 255}, {255, 1}},
        {{257, 1}, {1, 255}},
        {{1, 257}, {257, 255}},
        {{255, 255}, {255, 1}},
        {{33, 257}, {257, 17}},
        {{255, 64}, {64, 257}},
        {{1024, 64}, {64, 1024}},
        // mv
        {{1, 1}, {1}},
        {{255, 1}, {1}},
        {{1, 257}, {257}},
        {{257, 255}, {255}},
        {{1024, 257}, {257}},
        // vm
        {{1}, {1, 1}},
        {{1}, {1, 257}},
        {{257}, {257, 1}},
        {{255}, {255, 257}},
        // vv (a dot product, shape ())
        {{1}, {1}},
        {{255}, {255}},
        {{257}, {257}},
    };
    std::uint64_t seed = 400;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            // Positive entries: every output is a sum of positive products.
            const Tensor a = host_uniform(c.a, 0.1, 1.0, dt, ++seed);
            const Tensor b = host_uniform(c.b, 0.1, 1.0, dt, ++seed);
            const std::int64_t k = c.b[0];
            check_close(label("matmul", dt, c.a, c.b, true), matmul(a.to(kDevice), b.to(kDevice)),
                        matmul(a, b), tolerance(dt, k));
        }
        // Signed entries: outputs are sums that cancel, so compare relative to the largest.
        const Tensor a = host_uniform({64, 257}, -1.0, 1.0, dt, ++seed);
        const Tensor b = host_uniform({257, 65}, -1.0, 1.0, dt, ++seed);
        check_close(label("matmul, signed entries", dt, {64, 257}, {257, 65}, true),
                    matmul(a.to(kDevice), b.to(kDevice)), matmul(a, b), tolerance(dt, 257),
                    Metric::scaled);
    }
}

TEST_CASE("linear and the activations' one-pass backward", "[cuda][parity]") {
    std::uint64_t seed = 4500;
    for (DType dt : kDTypes) {
        for (const auto& [n, in, out] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
                 {1, 1, 1}, {64, 16, 64}, {257, 33, 1}, {1024, 257, 65}}) {
            const Tensor x = host_uniform({n, in}, 0.1, 1.0, dt, ++seed);
            const Tensor w0 = host_uniform({out, in}, 0.1, 1.0, dt, ++seed);
            const Tensor b0 = host_uniform({out}, 0.1, 1.0, dt, ++seed);
            const Tensor g = host_uniform({n, out}, 0.1, 1.0, dt, ++seed);
            const double tol = tolerance(dt, std::max(n, in));
            const Shape sx{n, in};
            check_close(label("linear", dt, sx), linear(x.to(kDevice), w0.to(kDevice), b0.to(kDevice)),
                        linear(x, w0, b0), tol);
            check_close(label("linear, no bias", dt, sx), linear(x.to(kDevice), w0.to(kDevice)),
                        linear(x, w0), tol);
            // Each activation's backward (first order: the fused gradient op) through linear.
            for (const char* act : {"tanh", "sigmoid", "relu"}) {
                const auto f = [act](const Tensor& z) {
                    const std::string a = act;
                    return a == "tanh" ? descent::tanh(z - 1.0) : a == "sigmoid" ? sigmoid(z - 1.0) : relu(z - 1.0);
                };
                Tensor wc = w0.detach().requires_grad_(), bc = b0.detach().requires_grad_();
                Tensor xc = x.detach().requires_grad_();
                Tensor wd = w0.to(kDevice).detach().requires_grad_(), bd = b0.to(kDevice).detach().requires_grad_();
                Tensor xd = x.to(kDevice).detach().requires_grad_();
                f(linear(xc, wc, bc)).backward(g);
                f(linear(xd, wd, bd)).backward(g.to(kDevice));
                const std::string what = label(std::string("linear then ") + act, dt, sx);
                check_close(what + " dx", xd.grad(), xc.grad(), tolerance(dt, out), Metric::scaled);
                check_close(what + " dW", wd.grad(), wc.grad(), tolerance(dt, n), Metric::scaled);
                check_close(what + " db", bd.grad(), bc.grad(), tolerance(dt, n), Metric::scaled);
            }
        }
    }
}

TEST_CASE("transpose, reshape, broadcast_to and sum_to", "[cuda][parity]") {
    std::uint64_t seed = 500;
    for (DType dt : kDTypes) {
        const std::vector<Shape> matrices = {{1, 1}, {255, 1}, {1, 257}, {257, 255}, {1025, 1023}};
        for (const Shape& shape : matrices) {
            const Tensor a = host_uniform(shape, -1.0, 1.0, dt, ++seed);
            check_close(label("transpose", dt, shape), transpose(a.to(kDevice)), transpose(a),
                        tolerance(dt));
            check_close(label("t()", dt, shape), a.to(kDevice).t(), a.t(), tolerance(dt));
        }
        {  // rank 1: returned as it is
            const Tensor v = host_uniform({257}, -1.0, 1.0, dt, ++seed).to(kDevice);
            const Tensor tv = transpose(v);
            CHECK(tv.shape() == v.shape());
            CHECK(tv.to_vector<double>() == v.to_vector<double>());
        }

        // reshape: same elements, shared storage on the device too.
        const Tensor a = host_uniform({257, 255}, -1.0, 1.0, dt, ++seed);
        const Tensor ad = a.to(kDevice);
        for (const Shape& to : std::vector<Shape>{{255, 257}, {-1}, {5, -1, 3}, {65535, 1}}) {
            check_close(label("reshape to", dt, to), reshape(ad, to), reshape(a, to),
                        tolerance(dt));
            check_close(label("Tensor::reshape to", dt, to), ad.reshape(to), a.reshape(to),
                        tolerance(dt));
        }
        {
            Tensor copy = ad.clone();
            Tensor view = reshape(copy, {-1});
            view.fill_(3.0);
            const auto values = copy.to_vector<double>();
            CHECK(std::all_of(values.begin(), values.end(), [](double v) { return v == 3.0; }));
        }

        struct Case {
            Shape small, big;
        };
        const std::vector<Case> cases = {
            {{5}, {257, 5}},
            {{257, 1}, {257, 255}},
            {{}, {255, 257}},
            {{1, 1}, {1, 1}},
            {{1, 257}, {255, 257}},
            {{1, 1024}, {1024, 1024}},
            {{1024}, {1024, 1024}},
            {{1, 1}, {70000, 3}},
            {{3, 1, 5}, {2, 3, 4, 5}},
        };
        for (const Case& c : cases) {
            const Tensor s = host_uniform(c.small, -1.0, 1.0, dt, ++seed);
            check_close(label("broadcast_to", dt, c.small, c.big, true),
                        broadcast_to(s.to(kDevice), c.big), broadcast_to(s, c.big), tolerance(dt));
            // sum_to sums over the broadcast dimensions: positive values, no cancellation.
            const Tensor b = host_uniform(c.big, 0.5, 1.5, dt, ++seed);
            check_close(label("sum_to", dt, c.big, c.small, true), sum_to(b.to(kDevice), c.small),
                        sum_to(b, c.small), tolerance(dt));
        }
    }
}

TEST_CASE("views on the device: strided reads, contiguous() and writes into views",
          "[cuda][parity][views]") {
    std::uint64_t seed = 550;
    for (DType dt : kDTypes) {
        const Tensor a = host_uniform({33, 257, 5}, -1.0, 1.0, dt, ++seed);
        const Tensor ad = a.to(kDevice);
        for (const std::vector<std::int64_t>& order :
             std::vector<std::vector<std::int64_t>>{{2, 0, 1}, {1, 2, 0}, {0, 2, 1}}) {
            const Shape shape = a.permute(order).shape();
            check_close(label("permute().contiguous()", dt, shape),
                        ad.permute(order).contiguous(), a.permute(order).contiguous(), tolerance(dt));
            check_close(label("exp of a permuted view", dt, shape), exp(ad.permute(order)),
                        exp(a.permute(order)), tolerance(dt));
        }
        check_close(label("narrow + select", dt, a.shape()), ad.narrow(1, 7, 200).select(2, 3),
                    a.narrow(1, 7, 200).select(2, 3), tolerance(dt));
        check_close(label("binary op of two views", dt, a.shape()),
                    ad.narrow(1, 0, 100) * ad.narrow(1, 100, 100),
                    a.narrow(1, 0, 100) * a.narrow(1, 100, 100), tolerance(dt));
        // Writes into a non-contiguous view: fill_ and copy_, on the device and on the host.
        Tensor host = a.clone(), dev = ad.clone();
        host.narrow(1, 3, 50).select(2, 1).fill_(2.5);
        dev.narrow(1, 3, 50).select(2, 1).fill_(2.5);
        const Tensor src = host_uniform({5, 33}, -1.0, 1.0, dt, ++seed);
        host.select(1, 9).permute({1, 0}).copy_(src);
        dev.select(1, 9).permute({1, 0}).copy_(src.to(kDevice));
        check_close(label("fill_ and copy_ into views", dt, a.shape()), dev, host, tolerance(dt));
        // Gradient of a view on the device: zeros outside the window.
        Tensor x = ad.clone().detach();
        x.requires_grad_();
        sum(square(x.narrow(1, 10, 20).permute({2, 1, 0}))).backward();
        Tensor xh = a.clone().detach();
        xh.requires_grad_();
        sum(square(xh.narrow(1, 10, 20).permute({2, 1, 0}))).backward();
        check_close(label("grad through narrow and permute", dt, a.shape()), x.grad(), xh.grad(),
                    tolerance(dt));
        // concat and stack write into strided windows of their result.
        check_close(label("concat along dim 1", dt, a.shape()),
                    concat({ad.narrow(1, 0, 5), ad.permute({0, 2, 1}).permute({0, 2, 1})}, 1),
                    concat({a.narrow(1, 0, 5), a}, 1), tolerance(dt));
        check_close(label("stack along dim 2", dt, a.shape()), stack({ad, ad * 2.0}, 2),
                    stack({a, a * 2.0}, 2), tolerance(dt));
    }
}

// ---- reductions ---------------------------------------------------------------------------

TEST_CASE("sum and mean, over everything and along each axis, across kernel thresholds",
          "[cuda][parity]") {
    // kernels/linalg.cu sums an axis with one thread per output, or with one block per output
    // when len > 64 and outer * inner < 65536. These shapes put each axis on both sides:
    //   (3, 65): axis 0 len 3 (thread), axis 1 len 65 with 3 outputs (block)
    //   (64, 1000): axis 0 len 64, the last length on the thread side
    //   (70000, 3): axis 0 len 70000 with 3 outputs (block), axis 1 with 70000 outputs (thread)
    //   (1, 1<<20) / (1<<20, 1): one output summing 2^20 (block), or 2^20 outputs of len 1
    //   (65, 65535): axis 0 len 65 with 65535 outputs, the largest block-per-output grid
    //   (65, 65536): axis 0 len 65 with 65536 outputs, back to thread-per-output
    //   rank 3: the (outer, len, inner) decomposition with both outer and inner > 1
    const std::vector<Shape> shapes = {{1},        {255},         {257},         {3, 65},
                                       {64, 1000}, {70000, 3},    {1, 1 << 20},  {1 << 20, 1},
                                       {65, 65535}, {65, 65536},  {4, 65, 3},    {5, 3, 300}};
    std::uint64_t seed = 600;
    for (DType dt : kDTypes) {
        // Over everything: scalars and vectors of 1, 255, 257 and kLarge elements, and the above.
        std::vector<Shape> all = shapes;
        all.push_back({});
        all.push_back({kLarge});
        for (const Shape& shape : all) {
            // Positive values: no cancellation.
            const Tensor a = host_uniform(shape, 0.5, 1.5, dt, ++seed);
            const Tensor ad = a.to(kDevice);
            check_close(label("sum", dt, shape), sum(ad), sum(a), tolerance(dt));
            check_close(label("mean", dt, shape), mean(ad), mean(a), tolerance(dt));
            check_close(label("Tensor::sum", dt, shape), ad.sum(), a.sum(), tolerance(dt));
            check_close(label("Tensor::mean", dt, shape), ad.mean(), a.mean(), tolerance(dt));
        }
        for (const Shape& shape : shapes) {
            const Tensor a = host_uniform(shape, 0.5, 1.5, dt, ++seed);
            const Tensor ad = a.to(kDevice);
            const auto rank = static_cast<std::int64_t>(shape.size());
            for (std::int64_t axis = -rank; axis < rank; ++axis) {
                for (bool keepdim : {false, true}) {
                    std::ostringstream what;
                    what << " axis " << axis << (keepdim ? " keepdim" : "");
                    check_close(label("sum" + what.str(), dt, shape), sum(ad, axis, keepdim),
                                sum(a, axis, keepdim), tolerance(dt));
                    check_close(label("mean" + what.str(), dt, shape), mean(ad, axis, keepdim),
                                mean(a, axis, keepdim), tolerance(dt));
                }
            }
        }
    }
}

TEST_CASE("mse_loss and its backward", "[cuda][parity]") {
    // kernels/losses.cu reduces chunks of 4096 elements per block.
    const std::vector<Shape> shapes = {{}, {1}, {255}, {257}, {4096}, {4097}, {300, 7}, {kLarge}};
    std::uint64_t seed = 700;
    for (DType dt : kDTypes) {
        for (const Shape& shape : shapes) {
            const Tensor p = host_uniform(shape, -1.0, 1.0, dt, ++seed);
            const Tensor t = host_uniform(shape, -1.0, 1.0, dt, ++seed);
            Tensor pc = p.detach().requires_grad_();
            Tensor tc = t.detach().requires_grad_();
            Tensor pd = p.to(kDevice).detach().requires_grad_();
            Tensor td = t.to(kDevice).detach().requires_grad_();
            const Tensor lc = mse_loss(pc, tc), ld = mse_loss(pd, td);
            // A sum of squares: positive terms.
            check_close(label("mse_loss", dt, shape), ld, lc, tolerance(dt));
            lc.backward();
            ld.backward();
            // 2/n (p - t), elementwise: the same rounding on both sides.
            check_close(label("mse_loss backward, d/dpred", dt, shape), pd.grad(), pc.grad(),
                        tolerance(dt));
            check_close(label("mse_loss backward, d/dtarget", dt, shape), td.grad(), tc.grad(),
                        tolerance(dt));
        }
    }
}

// ---- conversions and copies ---------------------------------------------------------------

TEST_CASE("to(dtype), to(device) and clone on the device", "[cuda][parity]") {
    std::uint64_t seed = 800;
    for (DType dt : kDTypes) {
        const DType other = dt == DType::f32 ? DType::f64 : DType::f32;
        for (const Shape& shape : std::vector<Shape>{{}, {1}, {255}, {257}, {kLarge}, {17, 15}}) {
            const Tensor a = host_uniform(shape, -3.0, 3.0, dt, ++seed);
            const Tensor ad = a.to(kDevice);
            CHECK(ad.device() == kDevice);
            CHECK(ad.to(Device::cpu()).to_vector<double>() == a.to_vector<double>());

            const Tensor converted = ad.to(other);
            CHECK(converted.dtype() == other);
            // A cast rounds once (f64 -> f32) or is exact (f32 -> f64): identical values.
            check_close(label("to(other dtype)", dt, shape), converted, a.to(other), 0.0);
            check_close(label("to(other dtype) and back", dt, shape), converted.to(dt),
                        a.to(other).to(dt), 0.0);
            CHECK(ad.to(dt).impl() == ad.impl());  // no conversion: the same tensor
            CHECK(ad.to(kDevice).impl() == ad.impl());

            Tensor copy = ad.clone();
            CHECK(copy.data_ptr() != ad.data_ptr());
            check_close(label("clone", dt, shape), copy, a, 0.0);
            copy.fill_(7.0);
            check_close(label("the original after its clone was overwritten", dt, shape), ad, a,
                        0.0);
        }
        {  // to(dtype) on the device is differentiable: the gradient comes back in dt.
            Tensor x =
                host_uniform({257}, 0.5, 1.5, dt, ++seed).to(kDevice).detach().requires_grad_();
            Tensor xc = x.to(Device::cpu()).detach().requires_grad_();
            sum(square(x.to(other))).backward();
            sum(square(xc.to(other))).backward();
            check_close(label("grad through to(dtype)", dt, {257}), x.grad(), xc.grad(),
                        tolerance(DType::f32));
        }
    }
}

// ---- autodiff -----------------------------------------------------------------------------

TEST_CASE("backward through composite graphs matches the CPU", "[cuda][parity]") {
    std::uint64_t seed = 900;
    for (DType dt : kDTypes) {
        // Graph 1: mean(square(sigmoid(X w + b) - y)). With X > 0 and y < 0 < sigmoid, every
        // term of dL/dw_j = 2/n sum_i (s_i - y_i) s_i (1 - s_i) x_ij is positive. dL/dw is
        // Xᵀ g, a cuBLAS product over the n rows.
        for (const Shape& shape : std::vector<Shape>{{1, 1}, {255, 16}, {257, 3}, {4097, 64}}) {
            const std::int64_t n = shape[0], d = shape[1];
            const Tensor X = host_uniform(shape, 0.1, 1.0, dt, ++seed);
            const Tensor y = host_uniform({n}, -1.0, -0.1, dt, ++seed);
            const Tensor w0 = host_uniform({d}, -0.5, 0.5, dt, ++seed);
            const Tensor b0 = scalar(0.1, dt);
            const Tensor Xd = X.to(kDevice), yd = y.to(kDevice);
            Tensor wc = w0.detach().requires_grad_(), bc = b0.detach().requires_grad_();
            Tensor wd = w0.to(kDevice).detach().requires_grad_();
            Tensor bd = b0.to(kDevice).detach().requires_grad_();
            const Tensor lc = mean(square(sigmoid(matmul(X, wc) + bc) - y));
            const Tensor ld = mean(square(sigmoid(matmul(Xd, wd) + bd) - yd));
            lc.backward();
            ld.backward();
            const double tol = tolerance(dt, std::max(n, d));
            check_close(label("graph 1 loss", dt, shape), ld, lc, tol);
            check_close(label("graph 1 dL/dw", dt, shape), wd.grad(), wc.grad(), tol);
            check_close(label("graph 1 dL/db", dt, shape), bd.grad(), bc.grad(), tol);
        }

        // Graph 2: broadcasting (row scale s (d), column offset c (n, 1)), pow, division, sum
        // along an axis, log, sqrt, exp, tanh:
        //   L = mean(log(sum(pow(X * s, 1.5) / (c + 1), 1) + 1)) + sum(sqrt(s) * exp(s))
        //       + mean(tanh(X * s))
        // Every term of dL/ds is positive and every term of dL/dc negative: no cancellation.
        for (const Shape& shape : std::vector<Shape>{{1, 1}, {255, 16}, {257, 3}, {2000, 64}}) {
            const std::int64_t n = shape[0], d = shape[1];
            const Tensor X = host_uniform(shape, 0.5, 1.5, dt, ++seed);
            const Tensor s0 = host_uniform({d}, 0.5, 1.5, dt, ++seed);
            const Tensor c0 = host_uniform({n, 1}, 0.1, 1.0, dt, ++seed);
            auto graph = [](const Tensor& Xv, const Tensor& s, const Tensor& c) {
                const Tensor t = pow(Xv * s, 1.5) / (c + 1.0);
                return mean(log(sum(t, 1) + 1.0)) + sum(sqrt(s) * exp(s)) + mean(tanh(Xv * s));
            };
            Tensor sc = s0.detach().requires_grad_(), cc = c0.detach().requires_grad_();
            Tensor sd = s0.to(kDevice).detach().requires_grad_();
            Tensor cd = c0.to(kDevice).detach().requires_grad_();
            const Tensor lc = graph(X, sc, cc), ld = graph(X.to(kDevice), sd, cd);
            lc.backward();
            ld.backward();
            check_close(label("graph 2 loss", dt, shape), ld, lc, tolerance(dt));
            check_close(label("graph 2 dL/ds", dt, shape), sd.grad(), sc.grad(), tolerance(dt));
            check_close(label("graph 2 dL/dc", dt, shape), cd.grad(), cc.grad(), tolerance(dt));
        }
    }
}

// ---- selections, comparisons, max/min/argmax, index_select ---------------------------------

namespace {

// Values on a grid of 1/8 in [lo, hi): many exact ties, for the tie rules and the comparisons.
Tensor host_grid(const Shape& shape, double lo, double hi, DType dt, std::uint64_t seed) {
    std::vector<double> v = uniform(shape_numel(shape), lo, hi, seed);
    for (double& x : v) x = std::floor(x * 8.0) / 8.0;
    return from_vector(v, shape, dt);
}

// Bit-for-bit equality of a device result with a CPU one, a NaN matching a NaN: for the
// selections, which pick elements and must pick the same ones.
void check_same(const std::string& what, const Tensor& got, const Tensor& ref) {
    INFO(what);
    REQUIRE(got.device() == kDevice);
    REQUIRE(ref.device() == Device::cpu());
    REQUIRE(got.dtype() == ref.dtype());
    REQUIRE(got.shape() == ref.shape());
    const auto x = got.to_vector<double>(), y = ref.to_vector<double>();
    std::size_t mismatches = 0, first = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i]))) continue;
        if (mismatches++ == 0) first = i;
    }
    INFO(mismatches << " of " << x.size() << " elements differ; the first at " << first);
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("maximum, minimum, where and the comparisons, with broadcasting", "[cuda][parity]") {
    struct Case {
        Shape c, a, b;
    };
    const std::vector<Case> cases = {
        {{1}, {1}, {1}},
        {{255}, {255}, {255}},
        {{kLarge}, {kLarge}, {kLarge}},
        {{51, 5}, {51, 5}, {5}},
        {{4099, 1}, {4099, 256}, {256}},
        {{}, {17, 15}, {}},
        {{257}, {255, 1}, {1, 257}},
        {{3, 1, 5}, {4, 1}, {2, 3, 4, 5}},
    };
    using Binary2 = std::function<Tensor(const Tensor&, const Tensor&)>;
    const std::vector<std::pair<std::string, Binary2>> ops = {
        {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
        {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
        {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }},
        {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }},
        {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }},
        {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }},
        {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }},
        {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }},
        {"gt(a, 0.25)", [](const Tensor& a, const Tensor&) { return gt(a, 0.25); }},
        {"eq(a, 0.25)", [](const Tensor& a, const Tensor&) { return eq(a, 0.25); }},
    };
    std::uint64_t seed = 1300;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            // On a grid of 1/8 in [-1, 1): ties between a and b are common.
            const Tensor a = host_grid(c.a, -1.0, 1.0, dt, ++seed);
            const Tensor b = host_grid(c.b, -1.0, 1.0, dt, ++seed);
            const Tensor cond = gt(host_uniform(c.c, -1.0, 1.0, dt, ++seed), 0.0);
            const Tensor ad = a.to(kDevice), bd = b.to(kDevice), cd = cond.to(kDevice);
            for (const auto& [name, op] : ops)
                check_same(label(name, dt, c.a, c.b, true), op(ad, bd), op(a, b));
            check_same(label("where", dt, c.a, c.b, true), where(cd, ad, bd), where(cond, a, b));
            // Backward: where routes g, maximum and minimum split ties in half.
            Tensor ac = a.detach().requires_grad_(), bc = b.detach().requires_grad_();
            Tensor ag = ad.detach().requires_grad_(), bg = bd.detach().requires_grad_();
            const Tensor lc = sum(maximum(ac, bc) * 3.0 + minimum(ac, bc) + where(cond, ac, bc));
            const Tensor lg = sum(maximum(ag, bg) * 3.0 + minimum(ag, bg) + where(cd, ag, bg));
            lc.backward();
            lg.backward();
            // Sums over broadcast dimensions: positive terms only (0, 0.5, 1, 1.5, ...).
            check_close(label("maximum/minimum/where backward d/da", dt, c.a, c.b, true),
                        ag.grad(), ac.grad(), tolerance(dt), Metric::scaled);
            check_close(label("maximum/minimum/where backward d/db", dt, c.a, c.b, true),
                        bg.grad(), bc.grad(), tolerance(dt), Metric::scaled);
        }
    }
}

TEST_CASE("max, min, argmax, argmin: over everything and along each axis, across kernel thresholds",
          "[cuda][parity]") {
    // kernels/select.cu picks the maximum of an axis with one thread per output, or with one
    // block per output when len > 64 and outer * inner < 65536 (the thresholds of sum_axis);
    // the shapes are sum's, which put each axis on both sides.
    const std::vector<Shape> shapes = {{1},        {255},         {257},         {3, 65},
                                       {64, 1000}, {70000, 3},    {1, 1 << 20},  {1 << 20, 1},
                                       {65, 65535}, {65, 65536},  {4, 65, 3},    {5, 3, 300}};
    std::uint64_t seed = 1400;
    for (DType dt : kDTypes) {
        std::vector<Shape> all = shapes;
        all.push_back({});
        all.push_back({kLarge});
        for (const Shape& shape : all) {
            // A grid of 1/8 in [-4, 4): every maximum is tied many times over, so the first
            // position must be found by both the scan and the block tree.
            const Tensor a = host_grid(shape, -4.0, 4.0, dt, ++seed);
            const Tensor ad = a.to(kDevice);
            check_same(label("max", dt, shape), max(ad), max(a));
            check_same(label("min", dt, shape), min(ad), min(a));
            check_same(label("argmax", dt, shape), argmax(ad), argmax(a));
            check_same(label("argmin", dt, shape), argmin(ad), argmin(a));
        }
        for (const Shape& shape : shapes) {
            const Tensor a = host_grid(shape, -4.0, 4.0, dt, ++seed);
            const Tensor ad = a.to(kDevice);
            const auto rank = static_cast<std::int64_t>(shape.size());
            for (std::int64_t axis = -rank; axis < rank; ++axis) {
                for (bool keepdim : {false, true}) {
                    std::ostringstream what;
                    what << " axis " << axis << (keepdim ? " keepdim" : "");
                    check_same(label("max" + what.str(), dt, shape), max(ad, axis, keepdim),
                               max(a, axis, keepdim));
                    check_same(label("min" + what.str(), dt, shape), min(ad, axis, keepdim),
                               min(a, axis, keepdim));
                    check_same(label("argmax" + what.str(), dt, shape), argmax(ad, axis, keepdim),
                               argmax(a, axis, keepdim));
                    check_same(label("argmin" + what.str(), dt, shape), argmin(ad, axis, keepdim),
                               argmin(a, axis, keepdim));
                }
            }
        }
        // NaN wins, at its first position, on both paths.
        for (const Shape& shape : std::vector<Shape>{{3, 65}, {70000, 3}, {5, 3, 300}}) {
            std::vector<double> v = uniform(shape_numel(shape), -1.0, 1.0, ++seed);
            for (std::size_t i = 7; i < v.size(); i += 97) v[i] = std::nan("");
            const Tensor a = from_vector(v, shape, dt), ad = a.to(kDevice);
            for (std::int64_t axis = 0; axis < static_cast<std::int64_t>(shape.size()); ++axis) {
                check_same(label("max with NaNs", dt, shape), max(ad, axis), max(a, axis));
                check_same(label("argmin with NaNs", dt, shape), argmin(ad, axis), argmin(a, axis));
            }
            check_same(label("argmax with NaNs, everything", dt, shape), argmax(ad), argmax(a));
        }
        // Backward: max(a) shares among ties, max(a, axis) picks the first.
        const Tensor a = host_grid({257, 255}, -4.0, 4.0, dt, ++seed);
        Tensor ac = a.detach().requires_grad_();
        Tensor ag = a.to(kDevice).detach().requires_grad_();
        const Tensor lc = max(ac) + sum(max(ac, 0)) + sum(min(ac, 1, true) * 2.0);
        const Tensor lg = max(ag) + sum(max(ag, 0)) + sum(min(ag, 1, true) * 2.0);
        lc.backward();
        lg.backward();
        check_close(label("max/min backward", dt, {257, 255}), ag.grad(), ac.grad(), tolerance(dt),
                    Metric::scaled);
    }
}

TEST_CASE("index_select and its backward (index_add), with repeated indices", "[cuda][parity]") {
    struct Case {
        Shape shape;
        std::int64_t axis, count;
    };
    const std::vector<Case> cases = {
        {{1}, 0, 1},          {{257}, 0, 1000},      {{1000, 257}, 0, 5000},
        {{1000, 257}, 1, 3},  {{3, 4099, 5}, 1, 700}, {{2, 3, 300}, 2, 1},
        {{70000, 3}, 0, 0},   {{5, 7}, 1, 64},
    };
    std::uint64_t seed = 1500;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            const std::int64_t len = c.shape[static_cast<std::size_t>(c.axis)];
            std::mt19937_64 rng(++seed);
            // Concentrated on a few targets, so that runs are long and many are empty.
            std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(0, len / 3));
            std::vector<double> idx(static_cast<std::size_t>(c.count));
            for (double& x : idx) x = double(pick(rng));
            const Tensor index = from_vector(idx, {c.count}, dt);
            const Tensor a = host_uniform(c.shape, -1.0, 1.0, dt, ++seed);
            Tensor ac = a.detach().requires_grad_();
            Tensor ag = a.to(kDevice).detach().requires_grad_();
            const Tensor sc = index_select(ac, c.axis, index);
            const Tensor sg = index_select(ag, c.axis, index.to(kDevice));
            const std::string what = label("index_select axis " + std::to_string(c.axis) + " count " +
                                               std::to_string(c.count),
                                           dt, c.shape);
            check_same(what, sg, sc);
            Shape vshape = c.shape;
            vshape[static_cast<std::size_t>(c.axis)] = c.count;
            const Tensor v = host_uniform(vshape, -1.0, 1.0, dt, ++seed);
            sum(sc * v).backward();
            sum(sg * v.to(kDevice)).backward();
            // The same sums in the same order, in double on both sides.
            check_same(what + " backward", ag.grad(), ac.grad());
        }
    }
}

TEST_CASE("logsumexp, softmax, log_softmax and the classification losses", "[cuda][parity]") {
    std::uint64_t seed = 1600;
    for (DType dt : kDTypes) {
        for (const Shape& shape : std::vector<Shape>{{1}, {257}, {3, 65}, {64, 1000}, {4097, 10}, {4, 65, 3}}) {
            // Logits in [-3, 3) with a few at +-1e4: the stable forms must stay finite on both.
            std::vector<double> v = uniform(shape_numel(shape), -3.0, 3.0, ++seed);
            for (std::size_t i = 3; i < v.size(); i += 11) v[i] = (i % 2 ? 1e4 : -1e4);
            const Tensor a = from_vector(v, shape, dt);
            const auto rank = static_cast<std::int64_t>(shape.size());
            for (std::int64_t axis = -rank; axis < rank; ++axis) {
                std::ostringstream what;
                what << " axis " << axis;
                Tensor ac = a.detach().requires_grad_();
                Tensor ag = a.to(kDevice).detach().requires_grad_();
                const Tensor w = host_uniform(shape, 0.5, 1.5, dt, ++seed);
                const auto graph = [axis](const Tensor& x, const Tensor& wt) {
                    return sum(logsumexp(x, axis, true) * 0.5) + sum(softmax(x, axis) * wt) +
                           sum(log_softmax(x, axis) * wt * 1e-4);
                };
                const Tensor lc = graph(ac, w), lg = graph(ag, w.to(kDevice));
                check_close(label("logsumexp" + what.str(), dt, shape), logsumexp(ag, axis),
                            logsumexp(ac, axis), tolerance(dt), Metric::scaled);
                check_close(label("softmax" + what.str(), dt, shape), softmax(ag, axis),
                            softmax(ac, axis), tolerance(dt), Metric::scaled);
                check_close(label("log_softmax" + what.str(), dt, shape), log_softmax(ag, axis),
                            log_softmax(ac, axis), tolerance(dt), Metric::scaled);
                lc.backward();
                lg.backward();
                check_close(label("softmax family backward" + what.str(), dt, shape), ag.grad(),
                            ac.grad(), tolerance(dt), Metric::scaled);
            }
        }
        for (const Shape& shape : std::vector<Shape>{{1}, {300, 7}, {kLarge}}) {
            std::vector<double> x = uniform(shape_numel(shape), -4.0, 4.0, ++seed);
            for (std::size_t i = 5; i < x.size(); i += 13) x[i] = (i % 2 ? 1e4 : -1e4);
            const Tensor logits = from_vector(x, shape, dt);
            const Tensor target = host_uniform(shape, 0.0, 1.0, dt, ++seed);
            Tensor xc = logits.detach().requires_grad_();
            Tensor xg = logits.to(kDevice).detach().requires_grad_();
            const Tensor lc = binary_cross_entropy_with_logits(xc, target);
            const Tensor lg = binary_cross_entropy_with_logits(xg, target.to(kDevice));
            check_close(label("binary_cross_entropy_with_logits", dt, shape), lg, lc,
                        tolerance(dt));
            lc.backward();
            lg.backward();
            check_close(label("binary_cross_entropy_with_logits backward", dt, shape), xg.grad(),
                        xc.grad(), tolerance(dt), Metric::scaled);
        }
        for (const auto& [n, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {257, 10}, {4099, 3}, {64, 1000}}) {
            std::vector<double> x = uniform(n * k, -3.0, 3.0, ++seed);
            for (std::size_t i = 2; i < x.size(); i += 17) x[i] = (i % 2 ? 1e4 : -1e4);
            std::mt19937_64 rng(++seed);
            std::uniform_int_distribution<std::int64_t> pick(0, k - 1);
            std::vector<double> t(static_cast<std::size_t>(n));
            for (double& y : t) y = double(pick(rng));
            const Tensor logits = from_vector(x, {n, k}, dt), target = from_vector(t, {n}, dt);
            Tensor xc = logits.detach().requires_grad_();
            Tensor xg = logits.to(kDevice).detach().requires_grad_();
            const Tensor lc = cross_entropy(xc, target), lg = cross_entropy(xg, target.to(kDevice));
            check_close(label("cross_entropy", dt, {n, k}), lg, lc, tolerance(dt), Metric::scaled);
            lc.backward();
            lg.backward();
            check_close(label("cross_entropy backward", dt, {n, k}), xg.grad(), xc.grad(),
                        tolerance(dt), Metric::scaled);
        }
    }
}

TEST_CASE("bad indices and labels on the device are refused as on the cpu", "[cuda][errors]") {
    for (DType dt : kDTypes) {
        const Tensor a = zeros({5, 3}, dt, kDevice);
        const Tensor bad_index = from_vector(std::vector<double>{0, 4, 5}, {3}, dt).to(kDevice);
        const std::string e1 = error_message([&] { (void)index_select(a, 0, bad_index); });
        INFO(e1);
        CHECK(e1.find("index_select: index[2] = 5 is out of range") != std::string::npos);
        const Tensor labels = from_vector(std::vector<double>{0, 1.5, 2, 0, 1}, {5}, dt).to(kDevice);
        const std::string e2 = error_message([&] { (void)cross_entropy(a, labels); });
        INFO(e2);
        CHECK(e2.find("row 1 = 1.5 is not an integer") != std::string::npos);
        const std::string e3 = error_message([&] { (void)index_select(a, 0, bad_index.to(Device::cpu())); });
        INFO(e3);
        CHECK(e3.find("cpu") != std::string::npos);
        CHECK(e3.find("cuda:0") != std::string::npos);
    }
}

// ---- the fused linear-MSE step ------------------------------------------------------------

namespace {

// kernels/linear_mse.cu's planner: the tiled one-pass kernel needs a tile of at least 32 rows
// of d + 1 values (plus 8 bytes of residual per row) and the weights in 40 KiB of shared
// memory; wider X takes the cuBLAS gemv path. f64 is tiled up to d = 153, f32 up to d = 307.
bool wide_path(DType dt, std::int64_t d) {
    const auto elem = static_cast<std::int64_t>(dtype_size(dt));
    return (40 * 1024 - d * elem) / ((d + 1) * elem + 8) < 32;
}

struct LinearProblem {
    Tensor X, y, w;  // on the cpu
};

// X > 0, w > 0, y < 0: every residual x_i·w - y_i is positive, so the loss, each gradient
// entry and each Hessian entry are sums of positive terms.
LinearProblem positive_problem(std::int64_t n, std::int64_t d, DType dt, std::uint64_t seed) {
    return {host_uniform({n, d}, 0.1, 1.0, dt, seed), host_uniform({n}, -1.0, -0.1, dt, seed + 1),
            host_uniform({d}, 0.1, 1.0, dt, seed + 2)};
}

}  // namespace

TEST_CASE("linear_mse_value_and_grad / value_grad_hessian / hessian on every kernel path",
          "[cuda][parity][linear_mse]") {
    // n: one row; 255 / 257 around a 256-row tile; 300000 rows, more tiles than the fixed grid
    // of 1024 blocks x 256 rows (262144), so blocks take several tiles.
    // d: 1, 2, 3, 16, 32 (the row kernel widths of the gradient-only pass); 64, the widest Hessian accumulated in the pass; 65, Hessian from cuBLAS
    // syrk; 200, wide (gemv) path in f64 but tiled in f32; 600, wide in both dtypes.
    struct Case {
        std::int64_t n, d;
    };
    std::vector<Case> cases;
    for (std::int64_t n : {1, 255, 257, 300000})
        for (std::int64_t d : {1, 2, 3, 16, 32, 64, 65}) cases.push_back({n, d});
    cases.push_back({2049, 200});
    cases.push_back({1, 600});
    cases.push_back({257, 600});
    cases.push_back({2049, 600});
    CHECK(!wide_path(DType::f64, 153));
    CHECK(wide_path(DType::f64, 200));
    CHECK(!wide_path(DType::f32, 200));
    CHECK(wide_path(DType::f32, 600));

    std::uint64_t seed = 1000;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            const LinearProblem p = positive_problem(c.n, c.d, dt, seed += 3);
            const Tensor Xd = p.X.to(kDevice), yd = p.y.to(kDevice), wd = p.w.to(kDevice);
            const bool wide = wide_path(dt, c.d);
            std::ostringstream os;
            os << "linear_mse " << dtype_name(dt) << " n=" << c.n << " d=" << c.d
               << (wide ? " (wide path)" : " (tiled path)");
            const std::string name = os.str();

            // Loss and gradient: tiled, everything accumulates in double on both sides. Wide,
            // in f32 cuBLAS forms r = X w (d terms) and Xᵀ r (n terms) in float: scaled metric
            // with the float-accumulation tolerance (the inputs are positive, so relative and
            // scaled differ little; scaled keeps one small entry from dominating).
            const double tol = wide ? tolerance(dt, std::max(c.n, c.d)) : tolerance(dt);
            const Metric metric = wide ? Metric::scaled : Metric::relative;
            // Hessian: in the tiled pass for d <= 64 (double accumulation); otherwise cuBLAS
            // syrk over the n rows, in float for f32.
            const bool syrk = wide || c.d > 64;
            const double tol_h = syrk ? tolerance(dt, c.n) : tolerance(dt);

            const LinearMseResult vg_c = linear_mse_value_and_grad(p.X, p.y, p.w);
            const LinearMseResult vg_d = linear_mse_value_and_grad(Xd, yd, wd);
            check_close(name + " value_and_grad: loss", vg_d.loss, vg_c.loss, tol, metric);
            check_close(name + " value_and_grad: grad", vg_d.grad, vg_c.grad, tol, metric);
            CHECK_FALSE(vg_d.hessian.defined());

            const LinearMseResult h_c = linear_mse_value_grad_hessian(p.X, p.y, p.w);
            const LinearMseResult h_d = linear_mse_value_grad_hessian(Xd, yd, wd);
            check_close(name + " value_grad_hessian: loss", h_d.loss, h_c.loss, tol, metric);
            check_close(name + " value_grad_hessian: grad", h_d.grad, h_c.grad, tol, metric);
            check_close(name + " value_grad_hessian: hessian", h_d.hessian, h_c.hessian, tol_h,
                        syrk ? Metric::scaled : Metric::relative);
            {  // symmetric, exactly (each entry is written to both triangles)
                const auto h = h_d.hessian.to_vector<double>();
                std::size_t asymmetric = 0;
                const auto d = static_cast<std::size_t>(c.d);
                for (std::size_t j = 0; j < d; ++j)
                    for (std::size_t k = 0; k < j; ++k)
                        if (!(h[j * d + k] == h[k * d + j])) ++asymmetric;
                INFO(name);
                CHECK(asymmetric == 0);
            }

            // linear_mse_hessian: 2/n XᵀX as one transposed cuBLAS product over the n rows.
            check_close(name + " linear_mse_hessian", linear_mse_hessian(Xd),
                        linear_mse_hessian(p.X), tolerance(dt, c.n),
                        dt == DType::f32 ? Metric::scaled : Metric::relative);
        }

        // Signed data (residuals and features of both signs): gradient entries are sums that
        // cancel, so they are compared relative to the largest entry.
        for (const Case& c : std::vector<Case>{{300000, 16}, {300000, 65}, {2049, 600}}) {
            const Tensor X = host_uniform({c.n, c.d}, -1.0, 1.0, dt, seed += 3);
            const Tensor y = host_uniform({c.n}, -1.0, 1.0, dt, seed + 1);
            const Tensor w = host_uniform({c.d}, -1.0, 1.0, dt, seed + 2);
            std::ostringstream os;
            os << "linear_mse, signed data, " << dtype_name(dt) << " n=" << c.n << " d=" << c.d;
            const bool wide = wide_path(dt, c.d);
            const std::int64_t k = wide ? std::max(c.n, c.d) : 1;
            const std::int64_t k_h = wide || c.d > 64 ? c.n : 1;  // syrk: float over n rows
            const LinearMseResult rc = linear_mse_value_grad_hessian(X, y, w);
            const LinearMseResult rd =
                linear_mse_value_grad_hessian(X.to(kDevice), y.to(kDevice), w.to(kDevice));
            check_close(os.str() + ": loss", rd.loss, rc.loss, tolerance(dt, k), Metric::scaled);
            check_close(os.str() + ": grad", rd.grad, rc.grad, tolerance(dt, k), Metric::scaled);
            check_close(os.str() + ": hessian", rd.hessian, rc.hessian, tolerance(dt, k_h),
                        Metric::scaled);
        }
    }
}

TEST_CASE("linear_mse_hvp on every kernel path", "[cuda][parity][linear_mse][hvp]") {
    // The gradient pass against no target (y null), so the same paths as above: row kernels
    // (d 1..32), tiled (64, 65), wide gemv (600).
    std::uint64_t seed = 5000;
    for (DType dt : kDTypes) {
        for (std::int64_t n : {1, 257, 300000}) {
            for (std::int64_t d : {1, 2, 3, 16, 32, 64, 65, 600}) {
                if (n == 300000 && d == 600) continue;
                const LinearProblem p = positive_problem(n, d, dt, seed += 3);
                const bool wide = wide_path(dt, d);
                std::ostringstream os;
                os << "linear_mse_hvp " << dtype_name(dt) << " n=" << n << " d=" << d;
                const Tensor hv_d = linear_mse_hvp(p.X.to(kDevice), p.w.to(kDevice));
                const Tensor hv_c = linear_mse_hvp(p.X, p.w);
                check_close(os.str(), hv_d, hv_c, wide ? tolerance(dt, std::max(n, d)) : tolerance(dt),
                            wide ? Metric::scaled : Metric::relative);
                // Bitwise the device's gradient pass against a zero target.
                const Tensor g = linear_mse_value_and_grad(p.X.to(kDevice), zeros({n}, dt, kDevice),
                                                           p.w.to(kDevice)).grad;
                INFO(os.str());
                CHECK(hv_d.to_vector<double>() == g.to_vector<double>());
            }
        }
    }
}

TEST_CASE("grad with create_graph, hvp, hessian and jacobian on the device", "[cuda][parity][functional]") {
    std::uint64_t seed = 6000;
    for (DType dt : kDTypes) {
        const double tol = dt == DType::f64 ? 1e-12 : 1e-4;
        // A tanh MLP-like scalar function of a vector, with saved outputs (tanh, exp, sigmoid).
        const Tensor A = host_uniform({7, 5}, -1.0, 1.0, dt, seed += 3);
        const Tensor Ad = A.to(kDevice);
        const auto f_on = [](const Tensor& M) {
            return [M](const Tensor& x) {
                return sum(sigmoid(tanh(matmul(M, x)) * exp(x * 0.1).sum()));
            };
        };
        const Tensor x = host_uniform({5}, -1.0, 1.0, dt, seed += 3);
        const Tensor v = host_uniform({5}, -1.0, 1.0, dt, seed += 3);
        check_close(std::string("hessian ") + dtype_name(dt), hessian(f_on(Ad), x.to(kDevice)),
                    hessian(f_on(A), x), tol, Metric::scaled);
        check_close(std::string("hvp ") + dtype_name(dt), hvp(f_on(Ad), x.to(kDevice), v.to(kDevice)),
                    hvp(f_on(A), x, v), tol, Metric::scaled);
        const auto g_on = [](const Tensor& M) { return [M](const Tensor& x) { return tanh(matmul(M, x)); }; };
        check_close(std::string("jacobian ") + dtype_name(dt), jacobian(g_on(Ad), x.to(kDevice)),
                    jacobian(g_on(A), x), tol, Metric::scaled);
        CHECK(hessian(f_on(Ad), x.to(kDevice)).device() == kDevice);

        // hessian(w -> mse_loss(X w, y)) equals the fused pass's Hessian on the device.
        const LinearProblem p = positive_problem(50, 6, dt, seed += 3);
        const Tensor Xd = p.X.to(kDevice), yd = p.y.to(kDevice);
        const auto mse = [&](const Tensor& w) { return mse_loss(matmul(Xd, w), yd); };
        check_close(std::string("hessian of mse_loss vs fused ") + dtype_name(dt),
                    hessian(mse, p.w.to(kDevice)),
                    linear_mse_value_grad_hessian(Xd, yd, p.w.to(kDevice)).hessian, tol,
                    Metric::scaled);

        // Newton with the autodiff Hessian and Newton-CG with the autodiff HVP, on the device:
        // the same iterates as on the CPU (f64; f32's line search may branch otherwise).
        if (dt == DType::f64) {
            const LinearProblem q = positive_problem(40, 4, dt, seed += 3);
            const auto run = [&](const Device& dev, bool cg) {
                const Tensor Xq = q.X.to(dev), yq = q.y.to(dev);
                const auto loss = [Xq, yq](const Tensor& w) {
                    return mean(log(1.0 + exp(neg(yq * 0.01 * matmul(Xq, w)))));
                };
                Tensor w = zeros({4}, dt, dev).requires_grad_();
                const optim::Closure closure = [&] {
                    w.set_grad(Tensor());
                    Tensor l = loss(w);
                    l.backward();
                    return l;
                };
                if (cg) {
                    optim::NewtonCG opt({w}, {}, [&](const Tensor& v) { return hvp(loss, w, v); });
                    for (int k = 0; k < 4; ++k) opt.step(closure);
                } else {
                    optim::Newton opt({w}, {}, [&] { return hessian(loss, w); });
                    for (int k = 0; k < 4; ++k) opt.step(closure);
                }
                return w.to_vector<double>();
            };
            for (const bool cg : {false, true}) {
                const std::vector<double> on_cpu = run(Device::cpu(), cg), on_dev = run(kDevice, cg);
                INFO((cg ? "newton-cg" : "newton") << " with autodiff curvature");
                CHECK(max_error(on_dev, on_cpu, Metric::scaled) <= 1e-10);
            }
        }

        // Third order on the device: d3/dx3 x^3 = 6.
        Tensor s = scalar(2.0, dt, kDevice).requires_grad_();
        const Tensor d1 = grad({pow(s, 3.0)}, {s}, {}, true)[0];
        const Tensor d2 = grad({d1}, {s}, {}, true)[0];
        const Tensor d3 = grad({d2}, {s})[0];
        CHECK(d3.item() == 6.0);
    }
}

// ---- the fused classification passes (logistic, softmax) --------------------------------

namespace {

// Labels on the cpu: 0/1 (classes = 2) or class indices 0..classes-1, drawn uniformly.
Tensor host_labels(std::int64_t n, std::int64_t classes, DType dt, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = double(rng() % static_cast<std::uint64_t>(classes));
    return from_vector(v, {n}, dt);
}

// kernels/logistic.cu's planner: gradient only at d in {1,2,3,4,8,16,32} takes the rows
// kernel; the Hessian for d <= 64 and other widths the tiled kernel while a tile of 32 rows
// fits in 40 KiB (f64 up to d = 152, f32 up to d = 304); the rest the cuBLAS wide path.
bool logistic_wide(DType dt, std::int64_t d, bool hessian) {
    const auto elem = static_cast<std::int64_t>(dtype_size(dt));
    const std::int64_t rows = (40 * 1024 - (d + 1) * elem) / ((d + 1) * elem + 24);
    return (hessian && d > 64) || rows < 32;
}

}  // namespace

TEST_CASE("logistic_value_and_grad / value_grad_hessian on every kernel path",
          "[cuda][parity][logistic]") {
    // n: one row; around a 256-row tile; more tiles than the fixed grid of 1024 blocks.
    // d: the rows kernel widths (1, 2, 3, 16, 32), 5 (tiled without the Hessian), 64 (the
    // widest Hessian in the pass), 65 (Hessian on the wide path), 200 (f64 wide, f32 tiled
    // for the gradient), 600 (wide).
    struct Case {
        std::int64_t n, d;
    };
    std::vector<Case> cases;
    for (std::int64_t n : {1, 255, 257, 300000})
        for (std::int64_t d : {1, 2, 3, 5, 16, 32, 64, 65}) cases.push_back({n, d});
    cases.push_back({2049, 200});
    cases.push_back({257, 600});
    cases.push_back({2049, 600});
    std::uint64_t seed = 3000;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            // X > 0: the Hessian's entries are sums of positive terms (relative metric); the
            // gradient's terms σ - y have both signs (scaled metric); the loss terms are > 0.
            const Tensor X = host_uniform({c.n, c.d}, 0.1, 1.0, dt, seed += 3);
            const Tensor y = host_labels(c.n, 2, dt, seed + 1);
            const Tensor w = host_uniform({c.d}, -1.0, 1.0, dt, seed + 2);
            const Tensor Xd = X.to(kDevice), yd = y.to(kDevice), wd = w.to(kDevice);
            std::ostringstream os;
            os << "logistic " << dtype_name(dt) << " n=" << c.n << " d=" << c.d;
            const std::string name = os.str();
            // The wide path forms X w, Xᵀ r and (diag(h) X)ᵀ X with cuBLAS, in float for f32.
            const bool wide_g = logistic_wide(dt, c.d, false), wide_h = logistic_wide(dt, c.d, true);
            const double tol_g = wide_g ? tolerance(dt, std::max(c.n, c.d)) : tolerance(dt);
            const double tol_h = wide_h ? tolerance(dt, std::max(c.n, c.d)) : tolerance(dt);

            const LogisticResult vg_c = logistic_value_and_grad(X, y, w);
            const LogisticResult vg_d = logistic_value_and_grad(Xd, yd, wd);
            check_close(name + " value_and_grad: loss", vg_d.loss, vg_c.loss, tol_g);
            check_close(name + " value_and_grad: grad", vg_d.grad, vg_c.grad, tol_g, Metric::scaled);
            CHECK_FALSE(vg_d.hessian.defined());

            const LogisticResult h_c = logistic_value_grad_hessian(X, y, w);
            const LogisticResult h_d = logistic_value_grad_hessian(Xd, yd, wd);
            check_close(name + " value_grad_hessian: loss", h_d.loss, h_c.loss, tol_h);
            check_close(name + " value_grad_hessian: grad", h_d.grad, h_c.grad, tol_h, Metric::scaled);
            check_close(name + " value_grad_hessian: hessian", h_d.hessian, h_c.hessian, tol_h,
                        wide_h ? Metric::scaled : Metric::relative);
            const auto h = h_d.hessian.to_vector<double>();
            std::size_t asymmetric = 0;
            const auto d = static_cast<std::size_t>(c.d);
            for (std::size_t j = 0; j < d; ++j)
                for (std::size_t k = 0; k < j; ++k)
                    if (!(h[j * d + k] == h[k * d + j])) ++asymmetric;
            INFO(name);
            CHECK(asymmetric == 0);
        }
    }
}

TEST_CASE("logistic and softmax at extreme logits (|z| = 1e4) on the device", "[cuda][parity][stability]") {
    for (DType dt : kDTypes) {
        const std::int64_t n = 1000;
        std::vector<double> X(static_cast<std::size_t>(2 * n));
        for (std::int64_t i = 0; i < n; ++i) {
            X[2 * i] = (i % 3 == 0 ? -1e4 : 1e4);
            X[2 * i + 1] = double(i % 7) - 3.0;
        }
        const Tensor Xc = from_vector(X, {n, 2}, dt);
        const Tensor yc = host_labels(n, 2, dt, 17);
        const Tensor wc = from_vector(std::vector<double>{1.0, 0.0}, {2}, dt);
        const LogisticResult rc = logistic_value_grad_hessian(Xc, yc, wc);
        const LogisticResult rd = logistic_value_grad_hessian(Xc.to(kDevice), yc.to(kDevice), wc.to(kDevice));
        const std::string name = std::string("logistic |z| = 1e4 ") + dtype_name(dt);
        check_close(name + ": loss", rd.loss, rc.loss, tolerance(dt));
        check_close(name + ": grad", rd.grad, rc.grad, tolerance(dt), Metric::scaled);
        for (double v : rd.hessian.to_vector<double>()) CHECK(v == 0.0);

        const Tensor Wc = from_vector(std::vector<double>{1.0, 0.0, -1.0, 0.0, 0.0, 0.0}, {2, 3}, dt);
        const Tensor lc = host_labels(n, 3, dt, 18);
        const SoftmaxCrossEntropyResult sc = softmax_cross_entropy_value_and_grad(Xc, lc, Wc);
        const SoftmaxCrossEntropyResult sd =
            softmax_cross_entropy_value_and_grad(Xc.to(kDevice), lc.to(kDevice), Wc.to(kDevice));
        check_close(std::string("softmax |z| = 1e4 ") + dtype_name(dt) + ": loss", sd.loss, sc.loss,
                    tolerance(dt));
        check_close(std::string("softmax |z| = 1e4 ") + dtype_name(dt) + ": grad", sd.grad, sc.grad,
                    tolerance(dt), Metric::scaled);
    }
}

TEST_CASE("softmax_cross_entropy_value_and_grad on both kernel paths", "[cuda][parity][softmax]") {
    // kernels/softmax.cu: tiled while 1 + d k <= 2304 and 32 rows fit in 40 KiB with W;
    // (300, 10) and (600, 4) take the cuBLAS wide path.
    struct Case {
        std::int64_t n, d, k;
    };
    std::vector<Case> cases;
    for (std::int64_t n : {1, 255, 257, 300000})
        for (const auto& dk : std::vector<std::pair<std::int64_t, std::int64_t>>{
                 {1, 2}, {3, 3}, {16, 10}, {40, 4}})
            cases.push_back({n, dk.first, dk.second});
    cases.push_back({2049, 300, 10});
    cases.push_back({257, 600, 4});
    std::uint64_t seed = 4000;
    for (DType dt : kDTypes) {
        for (const Case& c : cases) {
            const Tensor X = host_uniform({c.n, c.d}, -1.0, 1.0, dt, seed += 3);
            const Tensor labels = host_labels(c.n, c.k, dt, seed + 1);
            const Tensor W = host_uniform({c.d, c.k}, -1.0, 1.0, dt, seed + 2);
            const bool wide = 1 + c.d * c.k > 2304;
            std::ostringstream os;
            os << "softmax " << dtype_name(dt) << " n=" << c.n << " d=" << c.d << " k=" << c.k
               << (wide ? " (wide path)" : " (tiled path)");
            const double tol = wide ? tolerance(dt, std::max(c.n, c.d)) : tolerance(dt);
            const SoftmaxCrossEntropyResult rc = softmax_cross_entropy_value_and_grad(X, labels, W);
            const SoftmaxCrossEntropyResult rd = softmax_cross_entropy_value_and_grad(
                X.to(kDevice), labels.to(kDevice), W.to(kDevice));
            check_close(os.str() + ": loss", rd.loss, rc.loss, tol);
            check_close(os.str() + ": grad", rd.grad, rc.grad, tol, Metric::scaled);
        }
    }
}

TEST_CASE("the classification passes are bitwise reproducible on the device", "[cuda][determinism]") {
    std::uint64_t seed = 5000;
    for (DType dt : kDTypes) {
        for (std::int64_t d : {16, 17, 65}) {  // rows kernel, tiled, wide Hessian
            const Tensor X = host_uniform({300000, d}, -1.0, 1.0, dt, seed += 3).to(kDevice);
            const Tensor y = host_labels(300000, 2, dt, seed + 1).to(kDevice);
            const Tensor w = host_uniform({d}, -1.0, 1.0, dt, seed + 2).to(kDevice);
            const std::string name = std::string(dtype_name(dt)) + " d=" + std::to_string(d);
            const LogisticResult a = logistic_value_grad_hessian(X, y, w);
            const LogisticResult b = logistic_value_grad_hessian(X, y, w);
            check_identical("logistic loss " + name, a.loss, b.loss);
            check_identical("logistic grad " + name, a.grad, b.grad);
            check_identical("logistic hessian " + name, a.hessian, b.hessian);
            const LogisticResult g1 = logistic_value_and_grad(X, y, w);
            const LogisticResult g2 = logistic_value_and_grad(X, y, w);
            check_identical("logistic grad only " + name, g1.grad, g2.grad);
            const Tensor labels = host_labels(300000, 7, dt, seed + 4).to(kDevice);
            const Tensor W = host_uniform({d, 7}, -1.0, 1.0, dt, seed + 5).to(kDevice);
            const SoftmaxCrossEntropyResult s1 = softmax_cross_entropy_value_and_grad(X, labels, W);
            const SoftmaxCrossEntropyResult s2 = softmax_cross_entropy_value_and_grad(X, labels, W);
            check_identical("softmax loss " + name, s1.loss, s2.loss);
            check_identical("softmax grad " + name, s1.grad, s2.grad);
        }
    }
}

// ---- determinism --------------------------------------------------------------------------

TEST_CASE("device results are bitwise reproducible", "[cuda][determinism]") {
    std::uint64_t seed = 1100;
    for (DType dt : kDTypes) {
        // The fused step on each path: tiled with the Hessian in the pass (full 1024-block
        // grid), tiled + syrk, and wide + syrk.
        struct Case {
            std::int64_t n, d;
        };
        for (const Case& c : std::vector<Case>{{300000, 16}, {300000, 65}, {2049, 600}}) {
            const Tensor X = host_uniform({c.n, c.d}, -1.0, 1.0, dt, seed += 3).to(kDevice);
            const Tensor y = host_uniform({c.n}, -1.0, 1.0, dt, seed + 1).to(kDevice);
            const Tensor w = host_uniform({c.d}, -1.0, 1.0, dt, seed + 2).to(kDevice);
            std::ostringstream os;
            os << dtype_name(dt) << " n=" << c.n << " d=" << c.d;
            const LinearMseResult a = linear_mse_value_and_grad(X, y, w);
            const LinearMseResult b = linear_mse_value_and_grad(X, y, w);
            check_identical("value_and_grad loss " + os.str(), a.loss, b.loss);
            check_identical("value_and_grad grad " + os.str(), a.grad, b.grad);
            const LinearMseResult ha = linear_mse_value_grad_hessian(X, y, w);
            const LinearMseResult hb = linear_mse_value_grad_hessian(X, y, w);
            check_identical("value_grad_hessian loss " + os.str(), ha.loss, hb.loss);
            check_identical("value_grad_hessian grad " + os.str(), ha.grad, hb.grad);
            check_identical("value_grad_hessian hessian " + os.str(), ha.hessian, hb.hessian);
            check_identical("linear_mse_hessian " + os.str(), linear_mse_hessian(X),
                            linear_mse_hessian(X));
        }
        // Reductions over many blocks, and mse_loss.
        const Tensor big = host_uniform({kLarge}, -1.0, 1.0, dt, ++seed).to(kDevice);
        const Tensor big2 = host_uniform({kLarge}, -1.0, 1.0, dt, ++seed).to(kDevice);
        check_identical(std::string("sum ") + dtype_name(dt), sum(big), sum(big));
        check_identical(std::string("mean ") + dtype_name(dt), mean(big), mean(big));
        check_identical(std::string("mse_loss ") + dtype_name(dt), mse_loss(big, big2),
                        mse_loss(big, big2));
        const Tensor m = host_uniform({65, 65535}, -1.0, 1.0, dt, ++seed).to(kDevice);
        check_identical(std::string("sum axis 0 ") + dtype_name(dt), sum(m, 0), sum(m, 0));
        check_identical(std::string("sum axis 1 ") + dtype_name(dt), sum(m, 1), sum(m, 1));
        const Tensor A = host_uniform({1024, 64}, -1.0, 1.0, dt, ++seed).to(kDevice);
        const Tensor B = host_uniform({64, 1024}, -1.0, 1.0, dt, ++seed).to(kDevice);
        check_identical(std::string("matmul ") + dtype_name(dt), matmul(A, B), matmul(A, B));
        // The selections and index_add (no atomics): block and thread paths of max, and an
        // index_select backward whose runs are thousands long.
        check_identical(std::string("argmax axis 0 ") + dtype_name(dt), argmax(m, 0), argmax(m, 0));
        check_identical(std::string("max axis 1 ") + dtype_name(dt), max(m, 1), max(m, 1));
        check_identical(std::string("logsumexp axis 1 ") + dtype_name(dt), logsumexp(m, 1),
                        logsumexp(m, 1));
        const Tensor index = from_vector(std::vector<double>(20000, 3.0), {20000}, dt).to(kDevice);
        const Tensor small = host_uniform({300, 257}, -1.0, 1.0, dt, ++seed).to(kDevice);
        const auto index_grad = [&] {
            Tensor x = small.detach().requires_grad_();
            sum(index_select(x, 0, index) * 1.5).backward();
            return x.grad();
        };
        check_identical(std::string("index_select backward ") + dtype_name(dt), index_grad(),
                        index_grad());
    }
}

// ---- solves -------------------------------------------------------------------------------

TEST_CASE("solve_spd on the device matches the CPU", "[cuda][parity][solve]") {
    std::uint64_t seed = 1200;
    for (DType dt : kDTypes) {
        for (std::int64_t d : {1, 2, 16, 100}) {
            // A = BᵀB + d I (in double on the host, then converted): BᵀB's eigenvalues lie in
            // [0, about 4d/3] for B uniform in [-1, 1), so A's condition number is below ~2.5.
            const auto B = uniform(d * d, -1.0, 1.0, ++seed);
            std::vector<double> A(static_cast<std::size_t>(d * d));
            for (std::int64_t i = 0; i < d; ++i)
                for (std::int64_t j = 0; j < d; ++j) {
                    double s = i == j ? double(d) : 0.0;
                    for (std::int64_t k = 0; k < d; ++k) s += B[k * d + i] * B[k * d + j];
                    A[i * d + j] = s;
                }
            const Tensor Ac = from_vector(A, {d, d}, dt);
            const Tensor bc = host_uniform({d}, -1.0, 1.0, dt, ++seed);
            const Tensor Ad = Ac.to(kDevice), bd = bc.to(kDevice);
            for (double damping : {0.0, 0.5}) {
                std::ostringstream os;
                os << "solve_spd " << dtype_name(dt) << " d=" << d << " damping " << damping;
                const Tensor xd = solve_spd(Ad, bd, damping);
                CHECK(xd.device() == kDevice);
                // A Cholesky solve is accurate normwise (error ~ cond(A) u |x|), not entry by
                // entry: compare relative to max |x|. f32: the device factorises in float (a
                // float Cholesky of these matrices is off by <= 9e-7), the CPU in double.
                check_close(os.str(), xd, solve_spd(Ac, bc, damping), tolerance(dt),
                            Metric::scaled);
            }
        }
        // Singular matrices: zero, and all ones (rank 1; every pivot after the first is
        // exactly 0 in floating point too).
        for (std::int64_t d : {1, 2, 16, 100}) {
            const Tensor singular = d == 1 ? zeros({1, 1}, dt) : ones({d, d}, dt);
            const Tensor b = ones({d}, dt);
            INFO("solve_spd of a singular " << dtype_name(dt) << " " << d << "x" << d << " matrix");
            const std::string cpu =
                error_message([&] { (void)solve_spd(singular, b); });
            const std::string dev = error_message(
                [&] { (void)solve_spd(singular.to(kDevice), b.to(kDevice)); });
            INFO("cpu: " << cpu);
            INFO("device: " << dev);
            CHECK(cpu.find("not positive definite") != std::string::npos);
            CHECK(dev.find("not positive definite") != std::string::npos);
            CHECK(dev.find("solve_spd") != std::string::npos);
        }
    }
}

// ---- mixing devices -----------------------------------------------------------------------

TEST_CASE("an op between a cpu tensor and a device tensor names both devices", "[cuda][errors]") {
    for (DType dt : kDTypes) {
        const Tensor v = ones({3}, dt), vd = ones({3}, dt, kDevice);
        const Tensor M = ones({3, 3}, dt), Md = ones({3, 3}, dt, kDevice);
        const std::vector<std::pair<std::string, std::function<void()>>> cases = {
            {"add", [&] { (void)add(v, vd); }},
            {"operator- (device first)", [&] { (void)(vd - v); }},
            {"mul", [&] { (void)mul(vd, v); }},
            {"operator/", [&] { (void)(v / vd); }},
            {"matmul", [&] { (void)matmul(Md, v); }},
            {"matmul (cpu matrix)", [&] { (void)matmul(M, vd); }},
            {"mse_loss", [&] { (void)mse_loss(v, vd); }},
            {"linear_mse_value_and_grad", [&] { (void)linear_mse_value_and_grad(Md, v, vd); }},
            {"linear_mse_value_grad_hessian",
             [&] { (void)linear_mse_value_grad_hessian(M, vd, v); }},
            {"solve_spd", [&] { (void)solve_spd(Md, v); }},
        };
        for (const auto& [name, f] : cases) {
            const std::string message = error_message(f);
            INFO(name << " " << dtype_name(dt) << ": \"" << message << "\"");
            CHECK(message.find("cpu") != std::string::npos);
            CHECK(message.find("cuda:0") != std::string::npos);
        }
    }
}

TEST_CASE("dropout: the same mask on the device as on the cpu, bitwise", "[cuda][parity][dropout]") {
    for (const DType dt : {DType::f32, DType::f64})
        for (const double p : {0.0, 0.2, 0.5, 1.0}) {
            INFO(dtype_name(dt) << " p = " << p);
            const Tensor x = from_vector(std::vector<double>(5000, 1.5), {50, 100}, dt);
            const std::vector<double> cpu = dropout_mask(x, p, 31, 1000).to_vector<double>();
            const std::vector<double> gpu = dropout_mask(x.to(kDevice), p, 31, 1000).to_vector<double>();
            REQUIRE(gpu == cpu);
            REQUIRE(dropout(x.to(kDevice), p, 31, 1000).to_vector<double>() ==
                    dropout(x, p, 31, 1000).to_vector<double>());
            // The gradient through it, on the device.
            Tensor w = x.to(kDevice).detach().requires_grad_();
            sum(dropout(w, p, 31, 1000)).backward();
            REQUIRE(w.grad().to_vector<double>() == cpu);
        }
}
