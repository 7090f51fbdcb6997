// The blog post's experiment through the library API: its data (numpy's RandomState, seed 5),
// its seven runs with the blog preset, and a table of where each optimizer ends.
// Run: build/examples/blog_optimizers
#include <cmath>
#include <cstdio>

#include "descent/descent.hpp"

using namespace descent;

int main() {
    const BlogProblem blog = blog_problem(DType::f64);
    const Tensor optimum = linear_least_squares(blog.data.X, blog.data.y);
    const std::vector<double> best = optimum.to_vector<double>();
    std::printf("initial weights [%.8f %.8f], least-squares optimum [%.8f %.8f]\n\n",
                blog.initial_weights[0], blog.initial_weights[1], best[0], best[1]);
    std::printf("%-10s %-8s %-28s %-12s %s\n", "optimizer", "lr", "final weights", "final loss",
                "distance to optimum");

    for (const optim::OptimizerConfig& config : optim::blog_configs()) {
        Tensor w = from_vector(blog.initial_weights).requires_grad_();
        auto optimizer = optim::make_optimizer(config, {w});
        const TrainResult r = train_linear(blog.data.X, blog.data.y, *optimizer);  // 50 epochs
        const double loss = linear_mse_value_and_grad(blog.data.X, blog.data.y, w.detach()).loss.item();
        const double dist = std::hypot(r.final_weights[0] - best[0], r.final_weights[1] - best[1]);
        std::printf("%-10s %-8g [%.8f, %.8f]   %-12.8g %.3g\n", config.name.c_str(),
                    config.lr.value_or(0.0), r.final_weights[0], r.final_weights[1], loss, dist);
    }
    return 0;
}
