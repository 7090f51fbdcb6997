// The classification ops against torch 1.13: every case of
// tests/reference/fixtures/torch_classification_ops.txt (tests/reference/
// torch_classification_ops.py; format in tests/reference/README.md) is rebuilt with descent's
// ops on the CPU, in the case's dtype, and its output, its gradients (of sum(out * v), through
// descent::grad) and, for the smooth ops, the second-order product d/dx sum(grad * w) are
// compared with torch's.
//
// Tolerance. The selections (abs, clamp, maximum, minimum, where, comparisons, max/min,
// argmax/argmin, index_select) pick or copy elements, and their gradients are g, g/2 or a
// short sum in the same order as torch's: all must match bit for bit. log1p is libm's on both
// sides: 1 ulp. The smooth ops differ from torch in summation order and in exp/log's last
// bit: |got - ref| <= rtol * max(1, max|ref|) over the tensor (as test_hessian_torch.cpp),
// rtol = 1e-14 in f64 (measured: 2.1e-16 at worst). The f32 cases are held against torch's
// float64 results for the same float32 inputs (the exact answer; see the script): rtol = 1e-6
// (measured: 1e-7 at worst, logsumexp's value at 1e4, where ulp(1e4) = 2^-10). Every
// reference value is finite, also at logits of +-1e4, so any inf or NaN fails.
//
// Also here: the tie rules on their own (documented in ops.hpp), errors for bad labels and
// bad indices, and the non-recording of comparisons and argmax.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/functional.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"
#include "error_of.hpp"
#include "fixture_file.hpp"

using Catch::Matchers::Contains;
using descent::DType;
using descent::Shape;
using descent::Tensor;

namespace {

struct Values {
    Shape shape;
    std::vector<double> data;
};

struct Input {
    bool differentiable = false;
    Values values;
};

struct Case {
    std::string name, op;
    DType dtype = DType::f64;
    std::map<std::string, std::string> params;
    std::vector<Input> inputs;
    Values out, v, w;
    std::map<int, Values> grads, gradgrads;
};

// "<rank> <dims...> <values...>" starting at field `first`.
Values parse_values(const fixture::Record& r, std::size_t first) {
    Values v;
    const auto rank = static_cast<std::size_t>(std::stoll(r.at(first)));
    for (std::size_t i = 0; i < rank; ++i) v.shape.push_back(std::stoll(r.at(first + 1 + i)));
    v.data = fixture::numbers(r, first + 1 + rank);
    REQUIRE(static_cast<std::int64_t>(v.data.size()) == descent::shape_numel(v.shape));
    return v;
}

std::vector<Case> load_cases() {
    std::vector<Case> cases;
    Case c;
    for (const auto& r : fixture::read("torch_classification_ops.txt")) {
        const std::string& tag = r.at(0);
        if (tag == "case") {
            c = Case{};
            c.name = r.at(1);
            c.op = r.at(2);
            c.dtype = r.at(3) == "f32" ? DType::f32 : DType::f64;
        } else if (tag == "param") {
            c.params[r.at(1)] = r.at(2);
        } else if (tag == "in") {
            REQUIRE(std::stoul(r.at(1)) == c.inputs.size());
            c.inputs.push_back(Input{r.at(2) == "1", parse_values(r, 3)});
        } else if (tag == "out") {
            c.out = parse_values(r, 1);
        } else if (tag == "v") {
            c.v = parse_values(r, 1);
        } else if (tag == "w") {
            c.w = parse_values(r, 1);
        } else if (tag == "grad") {
            c.grads[std::stoi(r.at(1))] = parse_values(r, 2);
        } else if (tag == "gradgrad") {
            c.gradgrads[std::stoi(r.at(1))] = parse_values(r, 2);
        } else if (tag == "end") {
            cases.push_back(c);
        } else {
            FAIL("unknown fixture record " << tag);
        }
    }
    return cases;
}

Tensor make(const Values& v, DType dtype) { return descent::from_vector(v.data, v.shape, dtype); }

std::int64_t int_param(const Case& c, const std::string& key) { return std::stoll(c.params.at(key)); }

std::optional<double> bound(const Case& c, const std::string& key) {
    const auto it = c.params.find(key);
    if (it == c.params.end()) return std::nullopt;
    return fixture::number(it->second);
}

// The case's op, built from descent's ops.
Tensor run(const Case& c, const std::vector<Tensor>& in) {
    const std::string& op = c.op;
    const bool has_dim = c.params.count("dim") > 0;
    const bool keepdim = c.params.count("keepdim") > 0 && int_param(c, "keepdim") == 1;
    if (op == "abs") return descent::abs(in[0]);
    if (op == "log1p") return descent::log1p(in[0]);
    if (op == "clamp") {
        const auto lo = bound(c, "min"), hi = bound(c, "max");
        if (lo && !hi) return descent::clamp_min(in[0], *lo);
        if (hi && !lo) return descent::clamp_max(in[0], *hi);
        return descent::clamp(in[0], lo, hi);
    }
    if (op == "maximum") return descent::maximum(in[0], in[1]);
    if (op == "minimum") return descent::minimum(in[0], in[1]);
    if (op == "where") return descent::where(in[0], in[1], in[2]);
    if (c.params.count("scalar")) {
        const double s = fixture::number(c.params.at("scalar"));
        if (op == "eq") return descent::eq(in[0], s);
        if (op == "ne") return descent::ne(in[0], s);
        if (op == "lt") return descent::lt(in[0], s);
        if (op == "le") return descent::le(in[0], s);
        if (op == "gt") return descent::gt(in[0], s);
        if (op == "ge") return descent::ge(in[0], s);
    }
    if (op == "eq") return descent::eq(in[0], in[1]);
    if (op == "ne") return descent::ne(in[0], in[1]);
    if (op == "lt") return descent::lt(in[0], in[1]);
    if (op == "le") return descent::le(in[0], in[1]);
    if (op == "gt") return descent::gt(in[0], in[1]);
    if (op == "ge") return descent::ge(in[0], in[1]);
    if (op == "max")
        return has_dim ? descent::max(in[0], int_param(c, "dim"), keepdim) : descent::max(in[0]);
    if (op == "min")
        return has_dim ? descent::min(in[0], int_param(c, "dim"), keepdim) : descent::min(in[0]);
    if (op == "argmax")
        return has_dim ? descent::argmax(in[0], int_param(c, "dim"), keepdim) : descent::argmax(in[0]);
    if (op == "argmin")
        return has_dim ? descent::argmin(in[0], int_param(c, "dim"), keepdim) : descent::argmin(in[0]);
    if (op == "index_select") return descent::index_select(in[0], int_param(c, "dim"), in[1]);
    if (op == "logsumexp") return descent::logsumexp(in[0], int_param(c, "dim"), keepdim);
    if (op == "softmax") return descent::softmax(in[0], int_param(c, "dim"));
    if (op == "log_softmax") return descent::log_softmax(in[0], int_param(c, "dim"));
    if (op == "binary_cross_entropy_with_logits")
        return descent::binary_cross_entropy_with_logits(in[0], in[1]);
    if (op == "cross_entropy") return descent::cross_entropy(in[0], in[1]);
    FAIL("no descent op for " << op);
    return Tensor();
}

enum class Match { exact, ulp, close };

Match match_for(const std::string& op) {
    for (const char* smooth : {"logsumexp", "softmax", "log_softmax",
                               "binary_cross_entropy_with_logits", "cross_entropy"})
        if (op == smooth) return Match::close;
    if (op == "log1p") return Match::ulp;
    return Match::exact;
}

void compare(const std::string& what, const Tensor& got, const Values& ref, Match match,
             DType dtype) {
    INFO(what);
    REQUIRE(got.defined());
    REQUIRE(got.dtype() == dtype);
    REQUIRE(got.shape() == ref.shape);
    const std::vector<double> g = got.to_vector<double>();
    double scale = 1.0;
    for (double r : ref.data) scale = std::max(scale, std::abs(r));
    const double rtol = dtype == DType::f64 ? 1e-14 : 1e-6;
    const double ulp = dtype == DType::f64 ? 0x1p-52 : 0x1p-23;
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO("element " << i << ": descent " << g[i] << ", torch " << ref.data[i]
                        << ", |difference| / max(1, max|torch|) " << std::abs(g[i] - ref.data[i]) / scale);
        REQUIRE(std::isfinite(g[i]) == std::isfinite(ref.data[i]));
        if (!std::isfinite(ref.data[i])) {
            CHECK(g[i] == ref.data[i]);  // the same infinity
            continue;
        }
        switch (match) {
            case Match::exact: CHECK(g[i] == ref.data[i]); break;
            case Match::ulp: CHECK(std::abs(g[i] - ref.data[i]) <= ulp * std::abs(ref.data[i])); break;
            case Match::close: CHECK(std::abs(g[i] - ref.data[i]) <= rtol * scale); break;
        }
    }
}

}  // namespace

TEST_CASE("classification ops match torch: values, gradients, second derivatives", "[classification][torch]") {
    const std::vector<Case> cases = load_cases();
    REQUIRE(cases.size() >= 100);
    for (const Case& c : cases) {
        INFO("case " << c.name << " (" << c.op << ", " << descent::dtype_name(c.dtype) << ")");
        std::vector<Tensor> in;
        std::vector<Tensor> diff;
        std::vector<int> diff_index;
        for (std::size_t k = 0; k < c.inputs.size(); ++k) {
            Tensor t = make(c.inputs[k].values, c.dtype);
            if (c.inputs[k].differentiable) {
                t.requires_grad_();
                diff.push_back(t);
                diff_index.push_back(static_cast<int>(k));
            }
            in.push_back(t);
        }
        const Match match = match_for(c.op);
        const Tensor out = run(c, in);
        compare("output", out, c.out, match, c.dtype);
        if (diff.empty()) {
            CHECK_FALSE(out.requires_grad());  // comparisons and argmax are never recorded
            continue;
        }
        REQUIRE(out.requires_grad());
        const bool second = !c.gradgrads.empty();
        const Tensor v = make(c.v, c.dtype);
        const std::vector<Tensor> grads =
            descent::grad({descent::sum(out * v)}, diff, {}, /*create_graph=*/second);
        for (std::size_t i = 0; i < diff.size(); ++i)
            compare("gradient of input " + std::to_string(diff_index[i]), grads[i],
                    c.grads.at(diff_index[i]), match, c.dtype);
        if (second) {
            const Tensor w = make(c.w, c.dtype);
            const Tensor gg = descent::grad({descent::sum(grads[0] * w)}, {diff[0]})[0];
            compare("second derivative d/dx sum(grad * w)", gg, c.gradgrads.at(diff_index[0]),
                    match, c.dtype);
        }
    }
}

// --- the tie rules of ops.hpp, on their own ----------------------------------------------

TEST_CASE("ties: max(a) shares the gradient, max(a, dim) gives it to the first position", "[classification][ties]") {
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor a = descent::from_vector(std::vector<double>{1, 3, 3, 0, 3, 2, 3, 1}, {2, 4}, dt);
        a.requires_grad_();
        descent::max(a).backward();  // four elements equal 3: a quarter each
        CHECK(a.grad().to_vector<double>() == std::vector<double>{0, .25, .25, 0, .25, 0, .25, 0});
        a.set_grad(Tensor());
        descent::sum(descent::max(a, 1)).backward();  // rows (1, 3, 3, 0) and (3, 2, 3, 1)
        CHECK(a.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 0, 1, 0, 0, 0});
        CHECK(descent::argmax(a, 1).to_vector<double>() == std::vector<double>{1, 0});
        CHECK(descent::argmax(a).item() == 1.0);
        a.set_grad(Tensor());
        // Columns (1, 3), (3, 2), (3, 3), (0, 1).
        descent::sum(descent::min(a, 0, true)).backward();
        CHECK(a.grad().to_vector<double>() == std::vector<double>{1, 0, 1, 1, 0, 1, 0, 0});
        CHECK(descent::argmin(a, 0, true).shape() == Shape{1, 4});
        CHECK(descent::argmin(a, 0).to_vector<double>() == std::vector<double>{0, 1, 0, 0});
    }
}

TEST_CASE("ties: maximum and minimum split the gradient in half", "[classification][ties]") {
    Tensor a = descent::from_vector(std::vector<double>{1, 2, 3});
    Tensor b = descent::from_vector(std::vector<double>{2, 2, 2});
    a.requires_grad_();
    b.requires_grad_();
    const auto g = descent::grad({descent::sum(descent::maximum(a, b))}, {a, b});
    CHECK(g[0].to_vector<double>() == std::vector<double>{0, 0.5, 1});
    CHECK(g[1].to_vector<double>() == std::vector<double>{1, 0.5, 0});
    const auto h = descent::grad({descent::sum(descent::minimum(a, b))}, {a, b});
    CHECK(h[0].to_vector<double>() == std::vector<double>{1, 0.5, 0});
    CHECK(h[1].to_vector<double>() == std::vector<double>{0, 0.5, 1});
}

TEST_CASE("NaN propagates through max, min, maximum, clamp, and argmax points at it", "[classification][nan]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor a = descent::from_vector(std::vector<double>{1, nan, 5, nan}, {2, 2});
    CHECK(std::isnan(descent::max(a).item()));
    CHECK(std::isnan(descent::min(a).item()));
    CHECK(descent::argmax(a).item() == 1.0);
    CHECK(descent::argmin(a, 1).to_vector<double>() == std::vector<double>{1, 1});
    const auto col = descent::max(a, 0).to_vector<double>();  // columns (1, 5), (nan, nan)
    CHECK(col[0] == 5.0);
    CHECK(std::isnan(col[1]));
    const auto m = descent::maximum(a, descent::scalar(2.0, DType::f64)).to_vector<double>();
    CHECK((m[0] == 2.0 && std::isnan(m[1]) && m[2] == 5.0 && std::isnan(m[3])));
    const auto c = descent::clamp(a, 0.0, 3.0).to_vector<double>();
    CHECK((c[0] == 1.0 && std::isnan(c[1]) && c[2] == 3.0 && std::isnan(c[3])));
    // max(a)'s gradient goes to the NaNs, shared.
    Tensor x = a.clone().detach().requires_grad_();
    descent::max(x).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0, 0.5});
}

TEST_CASE("softmax family: infinite logits as torch", "[classification]") {
    const double inf = std::numeric_limits<double>::infinity();
    // A row of -inf (everything masked): logsumexp -inf; an entry of +inf: logsumexp +inf.
    const Tensor a = descent::from_vector(std::vector<double>{-inf, -inf, -inf, inf, 1, 2}, {2, 3});
    const auto lse = descent::logsumexp(a, 1).to_vector<double>();
    CHECK(lse[0] == -inf);
    CHECK(lse[1] == inf);
    // One -inf among finite logits: probability exactly 0, log-probability -inf, no NaN.
    const Tensor b = descent::from_vector(std::vector<double>{-inf, 0, 0}, {1, 3});
    CHECK(descent::softmax(b, 1).to_vector<double>() == std::vector<double>{0, 0.5, 0.5});
    const auto ls = descent::log_softmax(b, 1).to_vector<double>();
    CHECK(ls[0] == -inf);
    CHECK(ls[1] == Approx(std::log(0.5)).epsilon(1e-15));
    // cross_entropy ignores a -inf logit of another class (where(), not a product with 0).
    Tensor logits = descent::from_vector(std::vector<double>{-inf, 1, 2}, {1, 3});
    logits.requires_grad_();
    const Tensor loss = descent::cross_entropy(logits, descent::from_vector(std::vector<double>{2}, {1}));
    CHECK(std::isfinite(loss.item()));
    loss.backward();
    for (double g : logits.grad().to_vector<double>()) CHECK(std::isfinite(g));
}

TEST_CASE("comparisons and argmax are not recorded", "[classification]") {
    Tensor a = descent::from_vector(std::vector<double>{1, 2, 3});
    a.requires_grad_();
    for (const Tensor& t : {descent::eq(a, a), descent::ne(a, 2.0), descent::lt(a, a * 2.0),
                            descent::le(a, 1.0), descent::gt(a, 0.0), descent::ge(a, a),
                            descent::argmax(a), descent::argmin(a, 0)}) {
        CHECK_FALSE(t.requires_grad());
        CHECK(t.is_leaf());
    }
    CHECK(descent::gt(a, 1.5).to_vector<double>() == std::vector<double>{0, 1, 1});
}

// --- errors ------------------------------------------------------------------------------

TEST_CASE("errors: cross_entropy labels that are not classes name the row", "[classification][errors]") {
    const Tensor logits = descent::zeros({4, 3}, DType::f64);
    const auto labels = [](std::vector<double> v) { return descent::from_vector(v, {4}); };
    std::string e = error_of([&] { (void)descent::cross_entropy(logits, labels({0, 1, 2.5, 0})); });
    CHECK_THAT(e, Contains("cross_entropy") && Contains("row 2") && Contains("2.5") &&
                      Contains("not an integer"));
    e = error_of([&] { (void)descent::cross_entropy(logits, labels({0, 1, 2, 3})); });
    CHECK_THAT(e, Contains("cross_entropy") && Contains("row 3") && Contains("= 3") &&
                      Contains("out of range") && Contains("3 classes"));
    e = error_of([&] { (void)descent::cross_entropy(logits, labels({0, -1, 2, 0})); });
    CHECK_THAT(e, Contains("row 1") && Contains("-1"));
    e = error_of([&] {
        (void)descent::cross_entropy(logits, labels({0, std::nan(""), 2, 0}));
    });
    CHECK_THAT(e, Contains("row 1") && Contains("nan") && Contains("not an integer"));
    e = error_of([&] { (void)descent::cross_entropy(logits, descent::zeros({3}, DType::f64)); });
    CHECK_THAT(e, Contains("cross_entropy") && Contains("(4, 3)") && Contains("(3,)"));
    e = error_of([&] { (void)descent::cross_entropy(descent::zeros({4}, DType::f64), labels({0, 0, 0, 0})); });
    CHECK_THAT(e, Contains("cross_entropy") && Contains("logits (4,)"));
    e = error_of([&] { (void)descent::cross_entropy(logits, descent::zeros({4}, DType::f32)); });
    CHECK_THAT(e, Contains("cross_entropy") && Contains("dtype"));
}

TEST_CASE("errors: index_select with a bad index names the position", "[classification][errors]") {
    const Tensor a = descent::zeros({5, 3}, DType::f64);
    const auto index = [](std::vector<double> v) {
        const Shape s{static_cast<std::int64_t>(v.size())};
        return descent::from_vector(v, s);
    };
    std::string e = error_of([&] { (void)descent::index_select(a, 0, index({0, 1.5})); });
    CHECK_THAT(e, Contains("index_select") && Contains("index[1] = 1.5") && Contains("not an integer"));
    e = error_of([&] { (void)descent::index_select(a, 1, index({0, 2, 3})); });
    CHECK_THAT(e, Contains("index[2] = 3") && Contains("out of range [0, 3)"));
    e = error_of([&] { (void)descent::index_select(a, 0, index({-1})); });
    CHECK_THAT(e, Contains("index[0] = -1") && Contains("out of range"));
    e = error_of([&] { (void)descent::index_select(a, 2, index({0})); });
    CHECK_THAT(e, Contains("index_select") && Contains("axis 2") && Contains("out of range"));
    e = error_of([&] { (void)descent::index_select(a, 0, descent::zeros({1, 1}, DType::f64)); });
    CHECK_THAT(e, Contains("index_select") && Contains("(1, 1)") && Contains("1-D"));
}

TEST_CASE("errors: shape mismatches, empty reductions and bad axes", "[classification][errors]") {
    const Tensor a = descent::zeros({2, 3}, DType::f64);
    const Tensor b = descent::zeros({4}, DType::f64);
    CHECK_THAT(error_of([&] { (void)descent::maximum(a, b); }),
               Contains("maximum") && Contains("(2, 3)") && Contains("(4,)"));
    CHECK_THAT(error_of([&] { (void)descent::where(a, a, b); }),
               Contains("where") && Contains("(4,)"));
    CHECK_THAT(error_of([&] { (void)descent::where(b, a, a); }), Contains("where"));
    CHECK_THAT(error_of([&] { (void)descent::eq(a, b); }), Contains("eq") && Contains("(4,)"));
    CHECK_THAT(error_of([&] { (void)descent::binary_cross_entropy_with_logits(a, descent::zeros({3}, DType::f64)); }),
               Contains("binary_cross_entropy_with_logits") && Contains("same shape"));
    CHECK_THAT(error_of([&] { (void)descent::binary_cross_entropy_with_logits(descent::zeros({0}, DType::f64), descent::zeros({0}, DType::f64)); }),
               Contains("binary_cross_entropy_with_logits") && Contains("empty"));
    CHECK_THAT(error_of([&] { (void)descent::max(descent::zeros({0, 3}, DType::f64)); }),
               Contains("max") && Contains("empty"));
    CHECK_THAT(error_of([&] { (void)descent::argmin(descent::zeros({0, 3}, DType::f64), 0); }),
               Contains("argmin") && Contains("axis 0") && Contains("empty"));
    for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"max", [&] { (void)descent::max(a, 2); }},
             {"min", [&] { (void)descent::min(a, -3); }},
             {"argmax", [&] { (void)descent::argmax(a, 5); }},
             {"logsumexp", [&] { (void)descent::logsumexp(a, 2); }},
             {"softmax", [&] { (void)descent::softmax(a, -3); }},
             {"log_softmax", [&] { (void)descent::log_softmax(a, 2); }},
         }) {
        CHECK_THAT(error_of(f), Contains(name) && Contains("out of range") && Contains("(2, 3)"));
    }
    CHECK_THAT(error_of([&] { (void)descent::clamp(a, std::nullopt, std::nullopt); }),
               Contains("clamp") && Contains("neither"));
}

TEST_CASE("errors: f32 positions past 2^24 are refused, values are not", "[classification][errors]") {
    // 2^24 + 1 is the first integer a float cannot hold: argmax could not name it.
    const std::int64_t n = (std::int64_t(1) << 24) + 1;
    const Tensor big = descent::zeros({n}, DType::f32);
    CHECK_THAT(error_of([&] { (void)descent::argmax(big); }),
               Contains("argmax") && Contains("16777217 positions") && Contains("f64"));
    Tensor row = big.reshape({1, n});
    row.requires_grad_();
    // max along the axis needs the positions for its backward; max over everything does not.
    CHECK_THAT(error_of([&] { (void)descent::max(row, 1); }), Contains("max") && Contains("axis 1"));
    CHECK(descent::max(row).item() == 0.0);
}
