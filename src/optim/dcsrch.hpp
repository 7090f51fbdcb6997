// The Moré-Thuente line search of MINPACK-2 (dcsrch with its step rule dcstep), as scipy 1.10
// calls it from line_search_wolfe1 (c1 1e-4, c2 0.9, xtol 1e-14, amin 1e-8, amax 50; at most
// 100 trial steps). A reverse-communication routine, as the Fortran: start() with the step to
// try and phi(0), phi'(0); then, while next() says evaluate, give it phi and phi' at step().
// Ported from the published Fortran (Moré and Thuente, ACM TOMS 20, 1994; MINPACK-2
// dcsrch.f and dcstep.f), statement for statement, so the steps are scipy's.
#pragma once

#include <string>

namespace descent::optim::detail {

class Dcsrch {
public:
    enum class Task { evaluate, converged, warning, error };

    Dcsrch(double ftol, double gtol, double xtol, double stpmin, double stpmax)
        : m_ftol(ftol), m_gtol(gtol), m_xtol(xtol), m_stpmin(stpmin), m_stpmax(stpmax) {}

    // The first trial step stp and phi(0), phi'(0) (< 0).
    Task start(double stp, double f, double g);
    // phi and phi' at step(): the next task.
    Task next(double f, double g);
    double step() const { return m_stp; }
    const std::string& message() const { return m_message; }

private:
    Task iterate(double f, double g);

    double m_ftol, m_gtol, m_xtol, m_stpmin, m_stpmax;
    double m_stp = 0;
    std::string m_message;
    // dsave / isave of the Fortran
    bool m_brackt = false;
    int m_stage = 1;
    double m_ginit = 0, m_gtest = 0, m_gx = 0, m_gy = 0, m_finit = 0, m_fx = 0, m_fy = 0;
    double m_stx = 0, m_sty = 0, m_stmin = 0, m_stmax = 0, m_width = 0, m_width1 = 0;
};

}  // namespace descent::optim::detail
