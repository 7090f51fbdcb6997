// The seed experiment reproduced: every optimizer of the blog post, with the blog preset and
// the post's hyperparameters, against the blog's own numpy code run by
// tests/reference/blog_reference.py (fixture: blog_trajectories.txt). Whole weight
// trajectories and loss sequences must match to 1e-10 relative.
#include <catch2/catch.hpp>

#include <map>

#include "descent/descent.hpp"
#include "fixture_file.hpp"

using namespace descent;

namespace {

struct BlogReference {
    std::vector<double> x, y, init;
    std::map<std::string, std::vector<std::vector<double>>> weights;  // name -> epoch -> w
    std::map<std::string, std::vector<double>> losses;
};

BlogReference load_reference() {
    BlogReference ref;
    for (const auto& r : fixture::read("blog_trajectories.txt")) {
        if (r[0] == "data") {
            ref.x.push_back(fixture::number(r[2]));
            ref.y.push_back(fixture::number(r[3]));
        } else if (r[0] == "init") {
            ref.init = fixture::numbers(r, 1);
        } else if (r[0] == "w") {
            ref.weights[r[1]].push_back(fixture::numbers(r, 3));
        } else if (r[0] == "loss") {
            ref.losses[r[1]].push_back(fixture::number(r[3]));
        }
    }
    return ref;
}

// The fixture's names for the blog's runs, in blog_configs() order.
const char* const kRunNames[] = {"gd",      "newton_lr0.1", "newton_lr1", "momentum",
                                 "adagrad", "rmsprop",      "adam"};

}  // namespace

TEST_CASE("blog_configs are the post's seven runs", "[optim][blog]") {
    const auto configs = optim::blog_configs();
    REQUIRE(configs.size() == 7);
    for (const auto& c : configs) CHECK(c.preset == optim::Preset::blog);
}

TEST_CASE("the blog's runs reproduce its numpy trajectories", "[optim][blog]") {
    const BlogReference ref = load_reference();
    REQUIRE(ref.x.size() == 100);
    std::vector<double> rows;
    for (double xi : ref.x) rows.insert(rows.end(), {xi, 1.0});
    const Tensor X = from_vector(rows, {100, 2});
    const Tensor y = from_vector(ref.y);

    const auto configs = optim::blog_configs();
    for (std::size_t k = 0; k < configs.size(); ++k) {
        const std::string name = kRunNames[k];
        SECTION(name) {
            Tensor w = from_vector(ref.init).requires_grad_();
            auto opt = optim::make_optimizer(configs[k], {w});
            TrainOptions options;
            options.epochs = 50;
            options.record_weights = true;
            const TrainResult result = train_linear(X, y, *opt, options);

            const auto& ref_w = ref.weights.at(name);
            const auto& ref_loss = ref.losses.at(name);
            REQUIRE(result.weights.size() == 51);
            REQUIRE(ref_w.size() == 51);
            REQUIRE(result.losses.size() == 50);
            for (std::size_t e = 0; e <= 50; ++e) {
                INFO(name << " epoch " << e);
                CHECK(fixture::max_rel_err(result.weights[e], ref_w[e]) <= 1e-10);
            }
            CHECK(fixture::max_rel_err(result.losses, ref_loss) <= 1e-10);
        }
    }
}

TEST_CASE("gradient descent ends where the post prints", "[optim][blog]") {
    const BlogReference ref = load_reference();
    std::vector<double> rows;
    for (double xi : ref.x) rows.insert(rows.end(), {xi, 1.0});
    Tensor w = from_vector(ref.init).requires_grad_();
    optim::Sgd gd({w}, optim::SgdOptions{});
    const TrainResult r = train_linear(from_vector(rows, {100, 2}), from_vector(ref.y), gd);
    // The post prints [5.00396765 1.77940355] (8 decimals).
    CHECK(std::abs(r.final_weights[0] - 5.00396765) < 5e-9);
    CHECK(std::abs(r.final_weights[1] - 1.77940355) < 5e-9);
    // and a final gradient of [~0, -1.01068650].
    CHECK(std::abs(r.final_grad[1] - -1.01068650) < 5e-9);
    CHECK(std::abs(r.final_grad[0]) < 1e-12);
}

TEST_CASE("the blog's data comes out of RandomState bit for bit", "[optim][blog]") {
    const BlogReference ref = load_reference();
    const BlogProblem blog = blog_problem(DType::f64);
    const auto X = blog.data.X.to_vector<double>();
    const auto y = blog.data.y.to_vector<double>();
    REQUIRE(y.size() == 100);
    for (std::size_t i = 0; i < 100; ++i) {
        CHECK(X[2 * i] == ref.x[i]);
        CHECK(X[2 * i + 1] == 1.0);
        CHECK(y[i] == ref.y[i]);
    }
    CHECK(blog.initial_weights == ref.init);
}
