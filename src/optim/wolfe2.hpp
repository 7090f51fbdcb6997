// scipy 1.10's second line search, scalar_search_wolfe2 (scipy/optimize/_linesearch.py: the
// strong-Wolfe bracketing search of Nocedal and Wright, algorithms 3.5 and 3.6, with its
// _zoom, _cubicmin and _quadmin), which _line_search_wolfe12 falls back to when the MINPACK
// search (dcsrch.hpp) fails. Ported expression by expression; numpy's errstate(raise) in the
// interpolants becomes "no interpolant" on a division by zero, an overflow or a negative root.
// Verified against scipy's own scalar_search_wolfe2 on analytic phi
// (tests/reference/fixtures/scipy_wolfe2.txt) in tests/test_wolfe2.cpp.
#pragma once

#include <functional>
#include <optional>

namespace descent::optim::detail {

struct Wolfe2Result {
    double alpha = 0;      // alpha_star
    double phi = 0;        // phi(alpha_star)
    bool derphi_known = false;  // false: the search ran out of iterations at alpha (scipy's
                                // derphi_star None: the caller re-evaluates the gradient)
};

// phi(alpha) = f(x + alpha p) and derphi(alpha) = g(x + alpha p)·p, phi0 = phi(0), derphi0 =
// derphi(0) < 0, old_phi0 = f at the previous iterate (for the first trial step), c1 1e-4,
// c2 0.9, no amax, at most 10 iterations (scipy's defaults). Empty when no step was found
// (scipy's alpha_star None). The callbacks are called in scipy's order (phi before derphi at
// each trial), so a caller that evaluates both at once can cache by alpha.
std::optional<Wolfe2Result> scalar_search_wolfe2(const std::function<double(double)>& phi,
                                                 const std::function<double(double)>& derphi,
                                                 double phi0, std::optional<double> old_phi0,
                                                 double derphi0, double c1 = 1e-4, double c2 = 0.9,
                                                 int maxiter = 10);

}  // namespace descent::optim::detail
