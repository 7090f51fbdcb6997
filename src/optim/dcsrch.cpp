#include "optim/dcsrch.hpp"

#include <algorithm>
#include <cmath>

namespace descent::optim::detail {

namespace {

constexpr double p5 = 0.5, p66 = 0.66, xtrapl = 1.1, xtrapu = 4.0;

// dcstep: a safeguarded step for the interval [stx, sty] (or beyond it when not yet
// bracketed) from the cubic and quadratic models, and the interval's update.
void dcstep(double& stx, double& fx, double& dx, double& sty, double& fy, double& dy, double& stp,
            double fp, double dp, bool& brackt, double stpmin, double stpmax) {
    const double sgnd = dp * (dx / std::abs(dx));
    double stpf;
    if (fp > fx) {
        // First case: a higher function value. The minimum is bracketed.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        const double s = std::max({std::abs(theta), std::abs(dx), std::abs(dp)});
        double gamma = s * std::sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s));
        if (stp < stx) gamma = -gamma;
        const double p = (gamma - dx) + theta;
        const double q = ((gamma - dx) + gamma) + dp;
        const double r = p / q;
        const double stpc = stx + r * (stp - stx);
        const double stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
        if (std::abs(stpc - stx) < std::abs(stpq - stx)) {
            stpf = stpc;
        } else {
            stpf = stpc + (stpq - stpc) / 2.0;
        }
        brackt = true;
    } else if (sgnd < 0.0) {
        // Second case: a lower function value and derivatives of opposite sign.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        const double s = std::max({std::abs(theta), std::abs(dx), std::abs(dp)});
        double gamma = s * std::sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s));
        if (stp > stx) gamma = -gamma;
        const double p = (gamma - dp) + theta;
        const double q = ((gamma - dp) + gamma) + dx;
        const double r = p / q;
        const double stpc = stp + r * (stx - stp);
        const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        if (std::abs(stpc - stp) > std::abs(stpq - stp)) {
            stpf = stpc;
        } else {
            stpf = stpq;
        }
        brackt = true;
    } else if (std::abs(dp) < std::abs(dx)) {
        // Third case: a lower function value, derivatives of the same sign, and the magnitude
        // of the derivative decreases.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        const double s = std::max({std::abs(theta), std::abs(dx), std::abs(dp)});
        double gamma = s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)));
        if (stp > stx) gamma = -gamma;
        const double p = (gamma - dp) + theta;
        const double q = (gamma + (dx - dp)) + gamma;
        const double r = p / q;
        double stpc;
        if (r < 0.0 && gamma != 0.0) {
            stpc = stp + r * (stx - stp);
        } else if (stp > stx) {
            stpc = stpmax;
        } else {
            stpc = stpmin;
        }
        const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        if (brackt) {
            // A step closer to stp than the cubic's, within 0.66 of the way to sty.
            stpf = std::abs(stpc - stp) < std::abs(stpq - stp) ? stpc : stpq;
            if (stp > stx) {
                stpf = std::min(stp + p66 * (sty - stp), stpf);
            } else {
                stpf = std::max(stp + p66 * (sty - stp), stpf);
            }
        } else {
            stpf = std::abs(stpc - stp) > std::abs(stpq - stp) ? stpc : stpq;
            stpf = std::min(stpmax, stpf);
            stpf = std::max(stpmin, stpf);
        }
    } else {
        // Fourth case: a lower function value, derivatives of the same sign, and the
        // magnitude of the derivative does not decrease.
        if (brackt) {
            const double theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
            const double s = std::max({std::abs(theta), std::abs(dy), std::abs(dp)});
            double gamma = s * std::sqrt((theta / s) * (theta / s) - (dy / s) * (dp / s));
            if (stp > sty) gamma = -gamma;
            const double p = (gamma - dp) + theta;
            const double q = ((gamma - dp) + gamma) + dy;
            const double r = p / q;
            stpf = stp + r * (sty - stp);
        } else if (stp > stx) {
            stpf = stpmax;
        } else {
            stpf = stpmin;
        }
    }
    // Update the interval which contains a minimizer.
    if (fp > fx) {
        sty = stp;
        fy = fp;
        dy = dp;
    } else {
        if (sgnd < 0.0) {
            sty = stx;
            fy = fx;
            dy = dx;
        }
        stx = stp;
        fx = fp;
        dx = dp;
    }
    stp = stpf;
}

}  // namespace

Dcsrch::Task Dcsrch::start(double stp, double f, double g) {
    m_stp = stp;
    const auto error = [&](const char* what) {
        m_message = what;
        return Task::error;
    };
    if (stp < m_stpmin) return error("ERROR: STP .LT. STPMIN");
    if (stp > m_stpmax) return error("ERROR: STP .GT. STPMAX");
    if (g >= 0.0) return error("ERROR: INITIAL G .GE. ZERO");
    if (m_ftol < 0.0) return error("ERROR: FTOL .LT. ZERO");
    if (m_gtol < 0.0) return error("ERROR: GTOL .LT. ZERO");
    if (m_xtol < 0.0) return error("ERROR: XTOL .LT. ZERO");
    if (m_stpmin < 0.0) return error("ERROR: STPMIN .LT. ZERO");
    if (m_stpmax < m_stpmin) return error("ERROR: STPMAX .LT. STPMIN");
    m_brackt = false;
    m_stage = 1;
    m_finit = f;
    m_ginit = g;
    m_gtest = m_ftol * m_ginit;
    m_width = m_stpmax - m_stpmin;
    m_width1 = m_width / p5;
    m_stx = 0.0;
    m_fx = m_finit;
    m_gx = m_ginit;
    m_sty = 0.0;
    m_fy = m_finit;
    m_gy = m_ginit;
    m_stmin = 0.0;
    m_stmax = stp + xtrapu * stp;
    m_message = "FG";
    return Task::evaluate;
}

Dcsrch::Task Dcsrch::next(double f, double g) { return iterate(f, g); }

Dcsrch::Task Dcsrch::iterate(double f, double g) {
    double& stp = m_stp;
    const double ftest = m_finit + stp * m_gtest;
    if (m_stage == 1 && f <= ftest && g >= 0.0) m_stage = 2;

    // Test for warnings, then for convergence.
    Task task = Task::evaluate;
    if (m_brackt && (stp <= m_stmin || stp >= m_stmax)) {
        task = Task::warning;
        m_message = "WARNING: ROUNDING ERRORS PREVENT PROGRESS";
    }
    if (m_brackt && m_stmax - m_stmin <= m_xtol * m_stmax) {
        task = Task::warning;
        m_message = "WARNING: XTOL TEST SATISFIED";
    }
    if (stp == m_stpmax && f <= ftest && g <= m_gtest) {
        task = Task::warning;
        m_message = "WARNING: STP = STPMAX";
    }
    if (stp == m_stpmin && (f > ftest || g >= m_gtest)) {
        task = Task::warning;
        m_message = "WARNING: STP = STPMIN";
    }
    if (f <= ftest && std::abs(g) <= m_gtol * (-m_ginit)) {
        task = Task::converged;
        m_message = "CONVERGENCE";
    }
    if (task != Task::evaluate) return task;

    // In the first stage, while a lower value than phi(0) has been found but not a
    // sufficient decrease, the step comes from the modified function phi(a) - a ftol phi'(0).
    if (m_stage == 1 && f <= m_fx && f > ftest) {
        const double fm = f - stp * m_gtest;
        double fxm = m_fx - m_stx * m_gtest;
        double fym = m_fy - m_sty * m_gtest;
        const double gm = g - m_gtest;
        double gxm = m_gx - m_gtest;
        double gym = m_gy - m_gtest;
        dcstep(m_stx, fxm, gxm, m_sty, fym, gym, stp, fm, gm, m_brackt, m_stmin, m_stmax);
        m_fx = fxm + m_stx * m_gtest;
        m_fy = fym + m_sty * m_gtest;
        m_gx = gxm + m_gtest;
        m_gy = gym + m_gtest;
    } else {
        dcstep(m_stx, m_fx, m_gx, m_sty, m_fy, m_gy, stp, f, g, m_brackt, m_stmin, m_stmax);
    }

    // Decide if a bisection step is needed.
    if (m_brackt) {
        if (std::abs(m_sty - m_stx) >= p66 * m_width1) stp = m_stx + p5 * (m_sty - m_stx);
        m_width1 = m_width;
        m_width = std::abs(m_sty - m_stx);
    }
    // Set the minimum and maximum steps allowed for stp.
    if (m_brackt) {
        m_stmin = std::min(m_stx, m_sty);
        m_stmax = std::max(m_stx, m_sty);
    } else {
        m_stmin = stp + xtrapl * (stp - m_stx);
        m_stmax = stp + xtrapu * (stp - m_stx);
    }
    // Force the step to be within the bounds stpmax and stpmin.
    stp = std::max(stp, m_stpmin);
    stp = std::min(stp, m_stpmax);
    // If further progress is not possible, let stp be the best point obtained so far.
    if ((m_brackt && (stp <= m_stmin || stp >= m_stmax)) ||
        (m_brackt && m_stmax - m_stmin <= m_xtol * m_stmax))
        stp = m_stx;
    m_message = "FG";
    return Task::evaluate;
}

}  // namespace descent::optim::detail
