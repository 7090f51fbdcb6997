// RandomState: numpy's legacy np.random.RandomState (MT19937 + its polar-method Gaussian),
// reproduced bit for bit so that the blog's `np.random.seed(5)` experiment runs unchanged.
// Verified by tests/test_random.cpp against fixtures written by tests/reference/numpy_random.py.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace descent {

class RandomState {
public:
    // The full generator state, laid out as numpy's get_state() tuple
    // ('MT19937', key, pos, has_gauss, cached_gaussian), so checkpoints can carry it.
    struct State {
        std::array<std::uint32_t, 624> key{};
        int pos = 624;           // index of the next word of key to temper; 624 = regenerate
        bool has_gauss = false;  // the polar method makes Gaussians in pairs; one may be cached
        double gauss = 0.0;
    };

    // np.random.RandomState(seed) / np.random.seed(seed) for an integer seed.
    explicit RandomState(std::uint32_t seed);
    void seed(std::uint32_t seed);

    // The next raw MT19937 output (numpy's bit_generator.random_raw()).
    std::uint32_t next_uint32();

    // Uniform in [0, 1) from 53 random bits: np.random.random_sample() / np.random.rand().
    double random_sample();
    std::vector<double> random_sample(std::size_t n);

    // numpy's legacy Gaussian (Marsaglia polar method, second value cached).
    double standard_normal();
    std::vector<double> standard_normal(std::size_t n);
    // loc + scale * standard_normal(), as np.random.normal(loc, scale[, n]).
    double normal(double loc, double scale);
    std::vector<double> normal(double loc, double scale, std::size_t n);

    State state() const;
    // Restores a state from state() (or numpy's get_state()); throws descent::Error when pos
    // is outside [0, 624].
    void set_state(const State& state);

private:
    void regenerate();  // refills m_state.key with the next 624 words

    State m_state;
};

}  // namespace descent
