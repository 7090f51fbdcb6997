// The blog post's data set, reproduced bit for bit with numpy's RandomState stream.
// Verified by tests/test_random.cpp against tests/reference/fixtures/blog_data.txt.
#include <cstddef>

#include "descent/data.hpp"
#include "descent/random.hpp"

namespace descent {

BlogProblem blog_problem(DType dtype, Device device) {
    constexpr std::int64_t n = 100;
    // numpy's linspace formula (descent::linspace matches it value for value).
    const std::vector<double> x = linspace(-10.0, 10.0, n, DType::f64).to_vector<double>();

    RandomState rng(5);
    const std::vector<double> noise = rng.normal(0.0, 3.0, n);
    // The post's `y = params[0]*x + params[1] + noise` with int params: (5.0*x + 2.0) + noise.
    std::vector<double> y(n);
    std::vector<double> X(2 * n);
    for (std::size_t i = 0; i < std::size_t(n); ++i) {
        y[i] = 5.0 * x[i] + 2.0 + noise[i];
        X[2 * i] = x[i];
        X[2 * i + 1] = 1.0;
    }

    BlogProblem problem;
    problem.data.X = from_vector(X, {n, 2}, dtype, device);
    problem.data.y = from_vector(y, {n}, dtype, device);
    problem.data.source = "blog";
    problem.data.intercept = true;
    problem.data.true_weights = {5.0, 2.0};
    problem.data.rows = RowShard{0, n, n};
    problem.initial_weights = rng.random_sample(2);  // the post's np.random.rand(2)
    return problem;
}

}  // namespace descent
