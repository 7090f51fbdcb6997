// dropout (ops.hpp, src/shared/dropout.hpp): the mask's values and rate, its definition from
// Philox4x32-10 (checked against the Random123 known answers in test_philox.cpp) element by
// element, independence from the thread count, the counter-based offsets (a part of a mask
// drawn alone equals that part of the whole), seeds, p = 0 and 1, bad p, and the gradient
// (the same mask); gradcheck and gradgradcheck are in their suites, CUDA parity in
// test_cuda_parity.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "descent/descent.hpp"
#include "shared/philox.hpp"

using namespace descent;

TEST_CASE("dropout masks: values, rate and their definition", "[dropout]") {
    for (const DType dtype : {DType::f32, DType::f64})
        for (const double p : {0.1, 0.5, 0.9}) {
            INFO(dtype_name(dtype) << " p = " << p);
            const std::int64_t n = 400000;
            const Tensor x = ones({n}, dtype);
            const std::vector<double> mask = dropout_mask(x, p, 1234, 99).to_vector<double>();
            const double scale = dtype == DType::f32 ? double(float(1.0 / (1.0 - p))) : 1.0 / (1.0 - p);
            std::int64_t kept = 0;
            for (std::int64_t i = 0; i < n; ++i) {
                // Element i: the Philox uniform at counter (99 + i, stream 16) with key 1234.
                const std::uint64_t index = 99 + std::uint64_t(i);
                const std::uint32_t key[2] = {1234u, 0u};
                const std::uint32_t counter[4] = {std::uint32_t(index), std::uint32_t(index >> 32), 0u, 16u};
                const detail::Philox4x32Out r = detail::philox4x32_10(counter, key);
                const bool keep = detail::uniform53(r.v[0], r.v[1]) >= p;
                REQUIRE(mask[static_cast<std::size_t>(i)] == (keep ? scale : 0.0));
                kept += keep;
            }
            // The kept fraction within 5 standard deviations of 1 - p.
            const double sd = std::sqrt(p * (1.0 - p) / double(n));
            CHECK(std::abs(double(kept) / double(n) - (1.0 - p)) < 5.0 * sd);
            // dropout = x * mask.
            const Tensor y = from_vector(std::vector<double>(static_cast<std::size_t>(n), 3.0), {n}, dtype);
            const std::vector<double> out = dropout(y, p, 1234, 99).to_vector<double>();
            for (std::int64_t i = 0; i < n; i += 997)
                REQUIRE(out[static_cast<std::size_t>(i)] ==
                        (dtype == DType::f32 ? double(float(3.0f * float(mask[static_cast<std::size_t>(i)])))
                                             : 3.0 * mask[static_cast<std::size_t>(i)]));
        }
}

TEST_CASE("dropout masks: counter-based, the same for any thread count, new per seed", "[dropout]") {
    const Tensor x = ones({300, 700}, DType::f32);
    const std::vector<double> whole = dropout_mask(x, 0.3, 8, 0).to_vector<double>();
    // Rows 100.. drawn alone (offset 100 * 700) equal the whole mask's rows 100...
    const std::vector<double> tail = dropout_mask(ones({200, 700}, DType::f32), 0.3, 8, 100 * 700).to_vector<double>();
    REQUIRE(std::vector<double>(whole.begin() + 100 * 700, whole.end()) == tail);
    const int original = cpu_threads();
    for (int threads : {1, 2, 3}) {
        set_cpu_threads(threads);
        CHECK(dropout_mask(x, 0.3, 8, 0).to_vector<double>() == whole);
    }
    set_cpu_threads(original);
    CHECK(dropout_mask(x, 0.3, 9, 0).to_vector<double>() != whole);
    CHECK(dropout_mask(x, 0.3, 8, 1).to_vector<double>() != whole);
}

TEST_CASE("dropout: p = 0 and 1, bad p, the gradient", "[dropout]") {
    const Tensor x = from_vector(std::vector<double>{1, -2, 3, -4, 5, -6}, {2, 3});
    CHECK(dropout(x, 0.0, 1).to_vector<double>() == x.to_vector<double>());
    CHECK(dropout(x, 1.0, 1).to_vector<double>() == std::vector<double>(6, 0.0));
    for (const double p : {-0.1, 1.5, double(NAN)})
        CHECK_THROWS_WITH(dropout(x, p, 1), Catch::Contains("dropout: p must be in [0, 1]"));
    CHECK_THROWS_WITH(dropout(Tensor(), 0.5, 1), Catch::Contains("dropout"));
    // The gradient is the same mask.
    Tensor w = from_vector(std::vector<double>(1000, 1.0), {1000}).requires_grad_();
    sum(dropout(w, 0.25, 77, 5) * 2.0).backward();
    const std::vector<double> mask = dropout_mask(w.detach(), 0.25, 77, 5).to_vector<double>();
    const std::vector<double> g = w.grad().to_vector<double>();
    for (std::size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == 2.0 * mask[i]);
}
