// Learning-rate schedules (include/descent/optim/lr_schedule.hpp). Each formula is torch
// 1.13's get_lr, with its operations in its order (Python floats are doubles; math.cos is
// the C library's cos), so the sequences agree bit for bit.
#include "descent/optim/lr_schedule.hpp"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "descent/error.hpp"
#include "text.hpp"

namespace descent::optim {

namespace {

constexpr double kPi = 3.141592653589793;  // math.pi

[[noreturn]] void bad(const std::string& text, const std::string& why) {
    throw Error("learning-rate schedule '" + detail::shown_field(text) + "': " + why +
                " (expected step:STEP,GAMMA | exponential:GAMMA | cosine:T_MAX[,ETA_MIN] | "
                "linear:START,END,ITERS | warmup-cosine:WARMUP,T_MAX[,ETA_MIN[,START]])");
}

std::int64_t count_field(const std::string& text, const std::string& field, const char* name) {
    char* end = nullptr;
    const long long v = std::strtoll(field.c_str(), &end, 10);
    if (field.empty() || *end != '\0' || v < 1 || v > (1LL << 40))
        bad(text, std::string(name) + " must be an integer >= 1, got '" +
                      detail::shown_field(field) + "'");
    return v;
}

double number_field(const std::string& text, const std::string& field, const char* name) {
    char* end = nullptr;
    const double v = std::strtod(field.c_str(), &end);
    if (field.empty() || *end != '\0' || !std::isfinite(v))
        bad(text, std::string(name) + " must be a finite number, got '" +
                      detail::shown_field(field) + "'");
    return v;
}

// Python's a % m for m > 0 (never negative).
std::int64_t py_mod(std::int64_t a, std::int64_t m) { return ((a % m) + m) % m; }

}  // namespace

LrScheduleSpec parse_lr_schedule(const std::string& text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos) bad(text, "no ':' after the kind");
    const std::string kind = text.substr(0, colon);
    std::vector<std::string> f;
    for (std::size_t at = colon + 1;;) {
        const std::size_t comma = text.find(',', at);
        f.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    const auto fields = [&](std::size_t lo, std::size_t hi) {
        if (f.size() < lo || f.size() > hi)
            bad(text, kind + " takes " + std::to_string(lo) +
                          (hi > lo ? " to " + std::to_string(hi) : "") + " field(s), got " +
                          std::to_string(f.size()));
    };
    const auto factor = [&](const std::string& field, const char* name, bool zero_ok) {
        const double v = number_field(text, field, name);
        if (v > 1.0 || v < 0.0 || (!zero_ok && v == 0.0))
            bad(text, std::string(name) + " must be in " + (zero_ok ? "[0, 1]" : "(0, 1]") +
                          ", got " + detail::format_number(v));
        return v;
    };
    const auto eta = [&](const std::string& field) {
        const double v = number_field(text, field, "ETA_MIN");
        if (v < 0.0) bad(text, "ETA_MIN must be >= 0, got " + detail::format_number(v));
        return v;
    };
    LrScheduleSpec s;
    if (kind == "step") {
        fields(2, 2);
        s.kind = LrScheduleSpec::Kind::step;
        s.step_size = count_field(text, f[0], "STEP");
        s.gamma = number_field(text, f[1], "GAMMA");
    } else if (kind == "exponential") {
        fields(1, 1);
        s.kind = LrScheduleSpec::Kind::exponential;
        s.gamma = number_field(text, f[0], "GAMMA");
    } else if (kind == "cosine") {
        fields(1, 2);
        s.kind = LrScheduleSpec::Kind::cosine;
        s.step_size = count_field(text, f[0], "T_MAX");
        if (f.size() > 1) s.eta_min = eta(f[1]);
    } else if (kind == "linear") {
        fields(3, 3);
        s.kind = LrScheduleSpec::Kind::linear;
        s.start = factor(f[0], "START", false);
        s.end = factor(f[1], "END", true);
        s.iters = count_field(text, f[2], "ITERS");
    } else if (kind == "warmup-cosine") {
        fields(2, 4);
        s.kind = LrScheduleSpec::Kind::warmup_cosine;
        s.iters = count_field(text, f[0], "WARMUP");
        s.step_size = count_field(text, f[1], "T_MAX");
        if (f.size() > 2) s.eta_min = eta(f[2]);
        s.start = f.size() > 3 ? factor(f[3], "START", false) : 1.0 / 3;
    } else {
        bad(text, "unknown kind '" + detail::shown_field(kind) + "'");
    }
    if ((s.kind == LrScheduleSpec::Kind::step || s.kind == LrScheduleSpec::Kind::exponential) &&
        !(s.gamma > 0.0))
        bad(text, "GAMMA must be > 0, got " + detail::format_number(s.gamma));
    return s;
}

std::string lr_schedule_str(const LrScheduleSpec& s) {
    using K = LrScheduleSpec::Kind;
    const auto n = [](double v) { return detail::format_number(v); };
    switch (s.kind) {
        case K::step: return "step:" + std::to_string(s.step_size) + "," + n(s.gamma);
        case K::exponential: return "exponential:" + n(s.gamma);
        case K::cosine: return "cosine:" + std::to_string(s.step_size) + "," + n(s.eta_min);
        case K::linear:
            return "linear:" + n(s.start) + "," + n(s.end) + "," + std::to_string(s.iters);
        case K::warmup_cosine:
            return "warmup-cosine:" + std::to_string(s.iters) + "," + std::to_string(s.step_size) +
                   "," + n(s.eta_min) + "," + n(s.start);
    }
    return "";
}

LrScheduler::LrScheduler(const LrScheduleSpec& spec, double base_lr)
    : m_spec(spec), m_base(base_lr), m_lr(base_lr) {
    using K = LrScheduleSpec::Kind;
    // Index 0, as after torch's constructor (its initial step).
    if (spec.kind == K::linear || spec.kind == K::warmup_cosine) m_lr = base_lr * spec.start;
}

// CosineAnnealingLR.get_lr at last_epoch >= 1 from the rate before (its step count past 1).
double LrScheduler::cosine_next(double lr, std::int64_t last_epoch) const {
    const double eta_min = m_spec.eta_min;
    const std::int64_t t_max = m_spec.step_size;
    if (py_mod(last_epoch - 1 - t_max, 2 * t_max) == 0)
        return lr + (m_base - eta_min) * (1 - std::cos(kPi / double(t_max))) / 2;
    return (1 + std::cos(kPi * double(last_epoch) / double(t_max))) /
               (1 + std::cos(kPi * double(last_epoch - 1) / double(t_max))) * (lr - eta_min) +
           eta_min;
}

// LinearLR.get_lr at last_epoch >= 1.
double LrScheduler::linear_next(double lr, std::int64_t last_epoch, double start, double end,
                                std::int64_t iters) const {
    if (last_epoch > iters) return lr;
    return lr * (1. + (end - start) / (double(iters) * start + double(last_epoch - 1) * (end - start)));
}

void LrScheduler::step() {
    using K = LrScheduleSpec::Kind;
    const std::int64_t k = ++m_index;  // torch's last_epoch after its step()
    switch (m_spec.kind) {
        case K::step:
            if (k % m_spec.step_size == 0) m_lr = m_lr * m_spec.gamma;
            break;
        case K::exponential: m_lr = m_lr * m_spec.gamma; break;
        case K::cosine: m_lr = cosine_next(m_lr, k); break;
        case K::linear: m_lr = linear_next(m_lr, k, m_spec.start, m_spec.end, m_spec.iters); break;
        case K::warmup_cosine: {
            const std::int64_t warmup = m_spec.iters;
            if (k < warmup) {
                m_lr = linear_next(m_lr, k, m_spec.start, 1.0, warmup);
            } else if (k == warmup) {
                // SequentialLR at its milestone: CosineAnnealingLR.step(0), its closed form.
                m_lr = m_spec.eta_min + (m_base - m_spec.eta_min) *
                                            (1 + std::cos(kPi * 0.0 / double(m_spec.step_size))) / 2;
            } else {
                m_lr = cosine_next(m_lr, k - warmup);
            }
            break;
        }
    }
}

double LrScheduler::lr_at(std::int64_t k) {
    if (k < 0) throw Error("LrScheduler::lr_at: negative index " + std::to_string(k));
    if (k < m_index) *this = LrScheduler(m_spec, m_base);
    while (m_index < k) step();
    return m_lr;
}

}  // namespace descent::optim
