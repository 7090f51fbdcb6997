// descent::optim::detail::scalar_search_wolfe2 (src/optim/wolfe2.hpp) against scipy 1.10.1's
// scipy.optimize._linesearch.scalar_search_wolfe2 (tests/reference/fixtures/scipy_wolfe2.txt,
// made by tests/reference/wolfe2_reference.py) on 20 analytic phi(alpha): immediate
// acceptance, the first step from old_phi0 (and its reset to 1), doubling, maxiter, the zoom
// entered by each of its three conditions, its cubic, quadratic and bisection steps (with
// the cubic and quadratic failing), the zoom giving up, and alpha1 == 0.
//
// phi and derphi are rebuilt here with the same floating-point operations in the same order
// as the Python (see the script's docstring), so every value is bit-identical: the first test
// checks that against the values the fixture recorded, so that a failure of the second test
// is the search's, not this file's. The second test runs the search and requires exactly
// scipy's calls (the sequence of phi-call alphas, of derphi-call alphas, and their
// interleaving) and scipy's result, all bit for bit (no tolerance).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixture_file.hpp"
#include "optim/wolfe2.hpp"

namespace {

// The functions of wolfe2_reference.py, operation for operation (t = alpha).
struct Function {
    std::string kind;
    std::vector<double> p;

    double phi(double t) const {
        if (kind == "quad") {  // a m c: d = t - m; a*(d*d) + c
            const double d = t - p[1];
            return p[0] * (d * d) + p[2];
        }
        if (kind == "quartic") {  // a m c: d = t - m; e = d*d; a*(e*e) + c
            const double d = t - p[1];
            const double e = d * d;
            return p[0] * (e * e) + p[2];
        }
        if (kind == "phuber") {  // s m b: d = t - m; s*sqrt(b*b + d*d)
            const double d = t - p[1];
            return p[0] * std::sqrt(p[2] * p[2] + d * d);
        }
        if (kind == "expwall") {  // k m g: exp(k*(t - m)) - g*t
            return std::exp(p[0] * (t - p[1])) - p[2] * t;
        }
        if (kind == "asym") {  // a b m: d = t - m; (d < 0 ? a : b)*(d*d)
            const double d = t - p[2];
            return (d < 0 ? p[0] : p[1]) * (d * d);
        }
        if (kind == "neglog") {  // s: -log1p(s*t)
            return -std::log1p(p[0] * t);
        }
        throw std::runtime_error("unknown function " + kind);
    }

    double derphi(double t) const {
        if (kind == "quad") {  // (2*a)*d
            const double d = t - p[1];
            return (2.0 * p[0]) * d;
        }
        if (kind == "quartic") {  // (4*a)*(e*d)
            const double d = t - p[1];
            const double e = d * d;
            return (4.0 * p[0]) * (e * d);
        }
        if (kind == "phuber") {  // s*(d/sqrt(b*b + d*d))
            const double d = t - p[1];
            return p[0] * (d / std::sqrt(p[2] * p[2] + d * d));
        }
        if (kind == "expwall") {  // k*exp(k*(t - m)) - g
            return p[0] * std::exp(p[0] * (t - p[1])) - p[2];
        }
        if (kind == "asym") {  // (d < 0 ? 2*a : 2*b)*d
            const double d = t - p[2];
            return (d < 0 ? 2.0 * p[0] : 2.0 * p[1]) * d;
        }
        if (kind == "neglog") {  // -(s/(1 + s*t))
            return -(p[0] / (1.0 + p[0] * t));
        }
        throw std::runtime_error("unknown function " + kind);
    }
};

struct Call {
    bool is_phi = true;  // false: derphi
    double alpha = 0, value = 0;
};

struct Case {
    std::string name;
    Function fn;
    double phi0 = 0, derphi0 = 0;
    std::optional<double> old_phi0;
    std::vector<Call> calls;
    std::optional<double> alpha_star, phi_star, derphi_star;
};

std::optional<double> optional_number(const std::string& text) {
    if (text == "none") return std::nullopt;
    return fixture::number(text);
}

std::vector<Case> read_cases() {
    std::vector<Case> cases;
    Case c;
    for (const fixture::Record& r : fixture::read("scipy_wolfe2.txt")) {
        const std::string& k = r[0];
        if (k == "case") {
            c = Case{};
            c.name = r[1];
            c.fn.kind = r[2];
            c.fn.p = fixture::numbers(r, 4);
            if (c.fn.p.size() != std::stoul(r[3])) throw std::runtime_error("bad case " + c.name);
        } else if (k == "start") {
            c.phi0 = fixture::number(r[1]);
            c.old_phi0 = optional_number(r[2]);
            c.derphi0 = fixture::number(r[3]);
        } else if (k == "call") {
            c.calls.push_back({r[1] == "phi", fixture::number(r[2]), fixture::number(r[3])});
        } else if (k == "result") {
            c.alpha_star = optional_number(r[1]);
            c.phi_star = optional_number(r[2]);
            c.derphi_star = optional_number(r[3]);
        } else if (k == "end") {
            cases.push_back(c);
        }
    }
    return cases;
}

// Bitwise equality (so 0.0 and -0.0 differ; NaN never occurs here).
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string hex(double v) {
    std::ostringstream s;
    s << std::hexfloat << v;
    return s.str();
}

std::string describe(const std::vector<Call>& calls) {
    std::string s;
    for (const Call& c : calls) s += (c.is_phi ? " phi(" : " derphi(") + hex(c.alpha) + ")";
    return s;
}

std::vector<double> alphas(const std::vector<Call>& calls, bool phi) {
    std::vector<double> a;
    for (const Call& c : calls)
        if (c.is_phi == phi) a.push_back(c.alpha);
    return a;
}

bool same_sequence(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
    return true;
}

}  // namespace

TEST_CASE("wolfe2 fixture: the C++ phi and derphi reproduce the Python values bit for bit",
          "[wolfe2]") {
    const std::vector<Case> cases = read_cases();
    REQUIRE(cases.size() == 20);
    for (const Case& c : cases) {
        INFO("case " << c.name << " (" << c.fn.kind << ")");
        CHECK(same(c.fn.phi(0.0), c.phi0));
        CHECK(same(c.fn.derphi(0.0), c.derphi0));
        for (const Call& call : c.calls) {
            INFO((call.is_phi ? "phi(" : "derphi(") << hex(call.alpha) << ")");
            const double v = call.is_phi ? c.fn.phi(call.alpha) : c.fn.derphi(call.alpha);
            CHECK(hex(v) == hex(call.value));
        }
    }
}

TEST_CASE("scalar_search_wolfe2 makes scipy's calls and returns scipy's result", "[wolfe2]") {
    using descent::optim::detail::scalar_search_wolfe2;
    const std::vector<Case> cases = read_cases();
    REQUIRE(cases.size() == 20);
    for (const Case& c : cases) {
        INFO("case " << c.name << " (" << c.fn.kind << ")");
        std::vector<Call> calls;
        auto record = [&](bool is_phi, double alpha) {
            // scipy makes at most 1 + 10 + 11 phi calls; stop a runaway search.
            if (calls.size() > 100) throw std::runtime_error("more than 100 calls");
            const double v = is_phi ? c.fn.phi(alpha) : c.fn.derphi(alpha);
            calls.push_back({is_phi, alpha, v});
            return v;
        };
        const std::optional<descent::optim::detail::Wolfe2Result> r = scalar_search_wolfe2(
            [&](double a) { return record(true, a); }, [&](double a) { return record(false, a); },
            c.phi0, c.old_phi0, c.derphi0);

        INFO("scipy:" << describe(c.calls));
        INFO("descent:" << describe(calls));
        CHECK(same_sequence(alphas(calls, true), alphas(c.calls, true)));    // phi's alphas
        CHECK(same_sequence(alphas(calls, false), alphas(c.calls, false)));  // derphi's alphas
        bool interleaved = calls.size() == c.calls.size();
        for (std::size_t i = 0; interleaved && i < calls.size(); ++i)
            interleaved = calls[i].is_phi == c.calls[i].is_phi;
        CHECK(interleaved);

        REQUIRE(r.has_value() == c.alpha_star.has_value());
        if (r) {
            INFO("scipy alpha " << hex(*c.alpha_star) << " phi " << hex(*c.phi_star)
                                << ", descent alpha " << hex(r->alpha) << " phi "
                                << hex(r->phi));
            CHECK(same(r->alpha, *c.alpha_star));
            CHECK(same(r->phi, *c.phi_star));
            CHECK(r->derphi_known == c.derphi_star.has_value());
        }
    }
}

TEST_CASE("wolfe2 fixture covers the search's branches", "[wolfe2]") {
    // What the cases were chosen for, as visible in their calls and results (the script's
    // '# branches:' comments list every branch).
    const std::vector<Case> cases = read_cases();
    auto find = [&](const std::string& name) -> const Case& {
        for (const Case& c : cases)
            if (c.name == name) return c;
        throw std::runtime_error("no case " + name);
    };
    CHECK(find("accept_first").calls.size() == 2);
    CHECK(find("maxiter_quad").calls.size() == 21);   // 11 phi, 10 derphi
    CHECK_FALSE(find("maxiter_quad").derphi_star.has_value());
    CHECK(find("maxiter_quad").alpha_star == 1024.0);
    CHECK_FALSE(find("zoom_exhausted").alpha_star.has_value());
    CHECK(alphas(find("zoom_exhausted").calls, true).size() == 12);  // 1 + 11 zoom trials
    CHECK_FALSE(find("zoom_collapse").alpha_star.has_value());
    CHECK(find("alpha1_zero").calls.size() == 1);
    CHECK(std::signbit(find("alpha1_zero").calls[0].alpha));
    CHECK(find("alpha1_underflow").calls.size() == 1);
    CHECK_FALSE(std::signbit(find("alpha1_underflow").calls[0].alpha));
    CHECK(find("old_phi0_step").calls[0].alpha < 1.0);
}
