// scalar_search_wolfe2 and its helpers, in the order of scipy 1.10.1's _linesearch.py.
#include "optim/wolfe2.hpp"

#include <algorithm>
#include <cmath>

namespace descent::optim::detail {

namespace {

bool finite(double v) { return std::isfinite(v); }

// _cubicmin: the minimiser of the cubic through (a, fa) with slope fpa, (b, fb) and (c, fc);
// empty where numpy would raise (a zero division, an overflow, an invalid root) or the result
// is not finite.
std::optional<double> cubicmin(double a, double fa, double fpa, double b, double fb, double c,
                               double fc) {
    const double C = fpa;
    const double db = b - a;
    const double dc = c - a;
    const double denom = (db * dc) * (db * dc) * (db - dc);
    const double d00 = dc * dc, d01 = -(db * db), d10 = -std::pow(dc, 3), d11 = std::pow(db, 3);
    const double v0 = fb - fa - C * db, v1 = fc - fa - C * dc;
    double A = d00 * v0 + d01 * v1;
    double B = d10 * v0 + d11 * v1;
    if (!finite(denom) || !finite(A) || !finite(B) || denom == 0) return std::nullopt;
    A /= denom;
    B /= denom;
    const double radical = B * B - 3 * A * C;
    if (!finite(A) || !finite(B) || !finite(radical) || radical < 0 || 3 * A == 0)
        return std::nullopt;
    const double xmin = a + (-B + std::sqrt(radical)) / (3 * A);
    if (!finite(xmin)) return std::nullopt;
    return xmin;
}

// _quadmin: the minimiser of the quadratic through (a, fa) with slope fpa and (b, fb).
std::optional<double> quadmin(double a, double fa, double fpa, double b, double fb) {
    const double D = fa;
    const double C = fpa;
    const double db = b - a * 1.0;
    const double dbdb = db * db;
    if (dbdb == 0 || !finite(dbdb)) return std::nullopt;
    const double B = (fb - D - C * db) / dbdb;
    if (!finite(B) || 2.0 * B == 0) return std::nullopt;
    const double xmin = a - C / (2.0 * B);
    if (!finite(xmin)) return std::nullopt;
    return xmin;
}

struct ZoomResult {
    double alpha, phi;
};

// _zoom: refines [a_lo, a_hi] (at most 10 iterations) to a point satisfying the strong Wolfe
// conditions; empty when it does not find one.
std::optional<ZoomResult> zoom(double a_lo, double a_hi, double phi_lo, double phi_hi,
                               double derphi_lo, const std::function<double(double)>& phi,
                               const std::function<double(double)>& derphi, double phi0,
                               double derphi0, double c1, double c2) {
    constexpr int maxiter = 10;
    constexpr double delta1 = 0.2;  // cubic interpolant check
    constexpr double delta2 = 0.1;  // quadratic interpolant check
    double phi_rec = phi0;
    double a_rec = 0;
    for (int i = 0;; ++i) {
        const double dalpha = a_hi - a_lo;
        double a, b;
        if (dalpha < 0) {
            a = a_hi;
            b = a_lo;
        } else {
            a = a_lo;
            b = a_hi;
        }
        std::optional<double> a_j;
        double cchk = 0;
        if (i > 0) {
            cchk = delta1 * dalpha;
            a_j = cubicmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec);
        }
        if (i == 0 || !a_j || *a_j > b - cchk || *a_j < a + cchk) {
            const double qchk = delta2 * dalpha;
            a_j = quadmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi);
            if (!a_j || *a_j > b - qchk || *a_j < a + qchk) a_j = a_lo + 0.5 * dalpha;
        }
        const double aj = *a_j;
        const double phi_aj = phi(aj);
        if ((phi_aj > phi0 + c1 * aj * derphi0) || (phi_aj >= phi_lo)) {
            phi_rec = phi_hi;
            a_rec = a_hi;
            a_hi = aj;
            phi_hi = phi_aj;
        } else {
            const double derphi_aj = derphi(aj);
            if (std::abs(derphi_aj) <= -c2 * derphi0) return ZoomResult{aj, phi_aj};
            if (derphi_aj * (a_hi - a_lo) >= 0) {
                phi_rec = phi_hi;
                a_rec = a_hi;
                a_hi = a_lo;
                phi_hi = phi_lo;
            } else {
                phi_rec = phi_lo;
                a_rec = a_lo;
            }
            a_lo = aj;
            phi_lo = phi_aj;
            derphi_lo = derphi_aj;
        }
        if (i + 1 > maxiter) return std::nullopt;
    }
}

}  // namespace

std::optional<Wolfe2Result> scalar_search_wolfe2(const std::function<double(double)>& phi,
                                                 const std::function<double(double)>& derphi,
                                                 double phi0, std::optional<double> old_phi0,
                                                 double derphi0, double c1, double c2,
                                                 int maxiter) {
    double alpha0 = 0;
    double alpha1 = old_phi0 && derphi0 != 0 ? std::min(1.0, 1.01 * 2 * (phi0 - *old_phi0) / derphi0)
                                             : 1.0;
    if (alpha1 < 0) alpha1 = 1.0;
    double phi_a1 = phi(alpha1);
    double phi_a0 = phi0;
    double derphi_a0 = derphi0;
    for (int i = 0; i < maxiter; ++i) {
        if (alpha1 == 0) return std::nullopt;  // rounding errors prevent progress
        const bool not_first_iteration = i > 0;
        if ((phi_a1 > phi0 + c1 * alpha1 * derphi0) || ((phi_a1 >= phi_a0) && not_first_iteration)) {
            const auto z = zoom(alpha0, alpha1, phi_a0, phi_a1, derphi_a0, phi, derphi, phi0,
                                derphi0, c1, c2);
            if (!z) return std::nullopt;
            return Wolfe2Result{z->alpha, z->phi, true};
        }
        const double derphi_a1 = derphi(alpha1);
        if (std::abs(derphi_a1) <= -c2 * derphi0) return Wolfe2Result{alpha1, phi_a1, true};
        if (derphi_a1 >= 0) {
            const auto z = zoom(alpha1, alpha0, phi_a1, phi_a0, derphi_a1, phi, derphi, phi0,
                                derphi0, c1, c2);
            if (!z) return std::nullopt;
            return Wolfe2Result{z->alpha, z->phi, true};
        }
        const double alpha2 = 2 * alpha1;  // increase by a factor of two each iteration
        alpha0 = alpha1;
        alpha1 = alpha2;
        phi_a0 = phi_a1;
        phi_a1 = phi(alpha1);
        derphi_a0 = derphi_a1;
    }
    // Out of iterations: scipy returns the last step without its derivative.
    return Wolfe2Result{alpha1, phi_a1, false};
}

}  // namespace descent::optim::detail
