// numpy's legacy RandomState: MT19937 (Matsumoto & Nishimura 1998, numpy's mt19937.c) and
// numpy's legacy_gauss / legacy_double, written to reproduce numpy's streams exactly.
// Verified bitwise by tests/test_random.cpp against tests/reference/fixtures/numpy_random.txt.
#include "descent/random.hpp"

#include <cmath>
#include <string>

#include "descent/error.hpp"

namespace descent {

namespace {
constexpr int kN = 624;
constexpr int kM = 397;
constexpr std::uint32_t kMatrixA = 0x9908b0dfu;
constexpr std::uint32_t kUpperMask = 0x80000000u;
constexpr std::uint32_t kLowerMask = 0x7fffffffu;
}  // namespace

RandomState::RandomState(std::uint32_t seed) { this->seed(seed); }

void RandomState::seed(std::uint32_t seed) {
    // init_genrand, as numpy's mt19937_seed (uint32 arithmetic wraps, as the C code masks).
    m_state.key[0] = seed;
    for (int i = 1; i < kN; ++i) {
        const std::uint32_t prev = m_state.key[i - 1];
        m_state.key[i] = 1812433253u * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(i);
    }
    m_state.pos = kN;
    m_state.has_gauss = false;
    m_state.gauss = 0.0;
}

void RandomState::regenerate() {
    auto& mt = m_state.key;
    auto twist = [&mt](int i, int next, int far) {
        const std::uint32_t y = (mt[i] & kUpperMask) | (mt[next] & kLowerMask);
        mt[i] = mt[far] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
    };
    int i = 0;
    for (; i < kN - kM; ++i) twist(i, i + 1, i + kM);
    for (; i < kN - 1; ++i) twist(i, i + 1, i + kM - kN);
    twist(kN - 1, 0, kM - 1);
    m_state.pos = 0;
}

std::uint32_t RandomState::next_uint32() {
    if (m_state.pos == kN) regenerate();
    std::uint32_t y = m_state.key[m_state.pos++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

double RandomState::random_sample() {
    // 27 + 26 = 53 bits; the order of the two draws is part of numpy's stream.
    const std::uint32_t a = next_uint32() >> 5;
    const std::uint32_t b = next_uint32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

std::vector<double> RandomState::random_sample(std::size_t n) {
    std::vector<double> out(n);
    for (auto& v : out) v = random_sample();
    return out;
}

double RandomState::standard_normal() {
    if (m_state.has_gauss) {
        const double cached = m_state.gauss;
        m_state.has_gauss = false;
        m_state.gauss = 0.0;
        return cached;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * random_sample() - 1.0;
        x2 = 2.0 * random_sample() - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    // std::log and std::sqrt are glibc's, the same libm numpy calls, so results match bitwise.
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    m_state.gauss = f * x1;
    m_state.has_gauss = true;
    return f * x2;
}

std::vector<double> RandomState::standard_normal(std::size_t n) {
    std::vector<double> out(n);
    for (auto& v : out) v = standard_normal();
    return out;
}

double RandomState::normal(double loc, double scale) { return loc + scale * standard_normal(); }

std::vector<double> RandomState::normal(double loc, double scale, std::size_t n) {
    std::vector<double> out(n);
    for (auto& v : out) v = normal(loc, scale);
    return out;
}

RandomState::State RandomState::state() const { return m_state; }

void RandomState::set_state(const State& state) {
    if (state.pos < 0 || state.pos > kN)
        throw Error("RandomState::set_state: pos " + std::to_string(state.pos) +
                    " is outside [0, 624]");
    m_state = state;
}

}  // namespace descent
