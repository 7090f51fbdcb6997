// Philox4x32 and the synthetic-data values built on it (shared/philox.hpp): published
// known-answer vectors, value ranges, distribution moments (5-sigma bounds) and the order
// independence that lets CPU threads and GPU blocks generate rows anywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "shared/philox.hpp"

using namespace descent::detail;

namespace {

struct Kat {
    int rounds;
    std::uint32_t counter[4];
    std::uint32_t key[2];
    std::uint32_t expected[4];
};

// Random123's tests/kat_vectors (D. E. Shaw Research, github.com/DEShawResearch/random123),
// lines "philox4x32 R ctr[4] key[2] out[4]"; the same vectors appear in TensorFlow's
// stateful_random_ops_test.py (citing Random123-Boost's test_philox.cpp) and other ports.
const Kat kKats[] = {
    {7, {0, 0, 0, 0}, {0, 0}, {0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}},
    {7, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}},
    {7, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}},
    {10, {0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {10, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {10, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

// Sample mean and (population) variance.
void moments(const std::vector<double>& v, double& mean, double& var) {
    mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    var = 0.0;
    for (double x : v) var += (x - mean) * (x - mean);
    var /= double(v.size());
}

}  // namespace

TEST_CASE("philox4x32 matches Random123's known-answer vectors", "[philox]") {
    for (const Kat& k : kKats) {
        INFO("rounds " << k.rounds << ", counter[0] " << std::hex << k.counter[0]);
        const Philox4x32Out out = k.rounds == 10 ? philox4x32_10(k.counter, k.key)
                                                 : philox4x32(k.counter, k.key, k.rounds);
        for (int i = 0; i < 4; ++i) CHECK(out.v[i] == k.expected[i]);
    }
}

TEST_CASE("uniform53 covers [0, 1) with 53 bits", "[philox]") {
    CHECK(uniform53(0, 0) == 0.0);
    CHECK(uniform53(0xffffffffu, 0xffffffffu) == 1.0 - std::ldexp(1.0, -53));
    CHECK(uniform53(0, 1u << 6) == std::ldexp(1.0, -53));   // lowest bit used of lo
    CHECK(uniform53(1u << 31, 0) == 0.5);                   // top bit of hi
}

TEST_CASE("synthetic_value follows the documented counter layout and ranges", "[philox]") {
    const std::uint64_t seed = 0x0123456789abcdefULL;
    const std::uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    const std::uint64_t row = 0x0000000500000007ULL;
    const std::uint32_t counter[4] = {7u, 5u, 3u, kStreamNoise};
    const Philox4x32Out out = philox4x32_10(counter, key);
    CHECK(synthetic_uniform(seed, kStreamNoise, row, 3) == uniform53(out.v[0], out.v[1]));
    CHECK(synthetic_value(seed, kStreamNoise, row, 3) ==
          (2.0 * uniform53(out.v[0], out.v[1]) - 1.0) * std::sqrt(3.0));

    // The seed's high half, the row's high half, the column and the stream all matter.
    const double base = synthetic_value(1, kStreamFeature, 0, 0);
    CHECK(synthetic_value(1 + (1ULL << 32), kStreamFeature, 0, 0) != base);
    CHECK(synthetic_value(1, kStreamFeature, 1ULL << 32, 0) != base);
    CHECK(synthetic_value(1, kStreamFeature, 0, 1) != base);
    CHECK(synthetic_uniform(1, kStreamNoise, 0, 0) != synthetic_uniform(1, kStreamFeature, 0, 0));

    const double sqrt3 = std::sqrt(3.0);
    for (std::uint64_t i = 0; i < 2000; ++i) {
        const double x = synthetic_value(7, kStreamFeature, i, std::uint32_t(i % 13));
        const double e = synthetic_value(7, kStreamNoise, i, 0);
        const double w = synthetic_value(7, kStreamWeight, i, 0);
        CHECK((x >= -1.0 && x < 1.0));
        CHECK((e >= -sqrt3 && e < sqrt3));
        CHECK((w >= -2.0 && w < 2.0));
    }
}

TEST_CASE("synthetic features and noise have the intended moments", "[philox]") {
    const std::size_t n = 100000;
    std::vector<double> x, e;
    for (std::size_t i = 0; i < n; ++i) {
        x.push_back(synthetic_value(42, kStreamFeature, i / 10, std::uint32_t(i % 10)));
        e.push_back(synthetic_value(42, kStreamNoise, i, 0));
    }
    double mean, var;
    // U(-1, 1): mean 0, variance 1/3; the estimates have standard errors sqrt(var/n) and
    // sqrt((E[x^4] - var^2)/n) = sqrt((1/5 - 1/9)/n).
    moments(x, mean, var);
    CHECK(std::abs(mean) < 5.0 * std::sqrt(1.0 / 3.0 / n));
    CHECK(std::abs(var - 1.0 / 3.0) < 5.0 * std::sqrt((1.0 / 5.0 - 1.0 / 9.0) / n));
    // sqrt(3) U(-1, 1): mean 0, variance 1; E[e^4] = 9/5.
    moments(e, mean, var);
    CHECK(std::abs(mean) < 5.0 * std::sqrt(1.0 / n));
    CHECK(std::abs(var - 1.0) < 5.0 * std::sqrt((9.0 / 5.0 - 1.0) / n));
}

TEST_CASE("synthetic values do not depend on the order they are generated in", "[philox]") {
    const std::uint64_t rows = 64, cols = 9, seed = 2024;
    std::vector<double> forward(rows * cols), shuffled(rows * cols);
    for (std::uint64_t i = 0; i < rows; ++i)
        for (std::uint64_t j = 0; j < cols; ++j)
            forward[i * cols + j] = synthetic_value(seed, kStreamFeature, i, std::uint32_t(j));

    std::vector<std::uint64_t> order(rows * cols);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
    for (const std::uint64_t k : order)
        shuffled[k] = synthetic_value(seed, kStreamFeature, k / cols, std::uint32_t(k % cols));
    CHECK(shuffled == forward);

    // ... and the block's values are distinct (no two (row, col) share a counter).
    CHECK(std::set<double>(forward.begin(), forward.end()).size() == forward.size());
}
