// Learning-rate schedules (issue 16 item 5) against torch.optim.lr_scheduler 1.13 (fixtures
// from tests/reference/lr_schedule_reference.py): every rate of every schedule bit for bit,
// also when asked out of order (a resumed run); trajectories of schedules stepped per epoch
// and per batch through train_linear to 1e-12; bad specs refused.
#include <catch2/catch.hpp>

#include <cstring>
#include <sstream>

#include "descent/descent.hpp"
#include "error_of.hpp"
#include "fixture_file.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("schedules give torch's rates bit for bit", "[lr_schedule]") {
    int cases = 0;
    for (const fixture::Record& r : fixture::read("torch_lr_schedule.txt")) {
        if (r[0] != "lrs") continue;
        ++cases;
        INFO(r[1]);
        const double base = fixture::number(r[2]);
        const std::vector<double> want = fixture::numbers(r, 4);
        const optim::LrScheduleSpec spec = optim::parse_lr_schedule(r[1]);
        CHECK(optim::parse_lr_schedule(optim::lr_schedule_str(spec)).kind == spec.kind);
        optim::LrScheduler in_order(spec, base);
        for (std::size_t k = 0; k < want.size(); ++k) {
            INFO("index " << k);
            CHECK(same_bits(in_order.lr_at(static_cast<std::int64_t>(k)), want[k]));
        }
        // Out of order: a resumed run starts at its own index; going back replays.
        optim::LrScheduler jumping(spec, base);
        for (std::int64_t k : {30, 12, 59, 0, 45})
            CHECK(same_bits(jumping.lr_at(k), want[static_cast<std::size_t>(k)]));
    }
    CHECK(cases == 12);
}

TEST_CASE("training with a schedule follows torch's trajectory", "[lr_schedule]") {
    const std::vector<fixture::Record> records = fixture::read("torch_lr_schedule.txt");
    int cases = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const fixture::Record& head = records[i];
        if (head[0] != "traj") continue;
        ++cases;
        INFO(head[1]);
        const std::string optimizer = head[2], spec_text = head[3], per = head[4];
        const std::int64_t batch = std::stoll(head[5]), epochs = std::stoll(head[6]);
        optim::OptimizerConfig config;
        config.name = optimizer == "sgd" ? "momentum" : "adam";
        for (std::size_t f = 7; f < head.size(); ++f) {
            const std::string kv = head[f];
            const std::string key = kv.substr(0, kv.find('='));
            const double value = std::stod(kv.substr(kv.find('=') + 1));
            if (key == "lr") config.lr = value;
            if (key == "momentum") config.momentum = value;
        }
        const std::vector<double> Xv = fixture::numbers(records[i + 1], 1),
                                  yv = fixture::numbers(records[i + 2], 1),
                                  w0 = fixture::numbers(records[i + 3], 1);
        const auto n = static_cast<std::int64_t>(yv.size());
        const Tensor X = from_vector(Xv, {n, 3}), y = from_vector(yv, {n});
        Tensor w = from_vector(w0, {3}).requires_grad_();
        auto opt = optim::make_optimizer(config, {w});
        optim::LrScheduler scheduler(optim::parse_lr_schedule(spec_text), *config.lr);
        TrainOptions options;
        options.epochs = epochs;
        options.batch_size = batch;
        options.record_weights = true;
        options.lr_per_batch = per == "batch";
        options.lr_at = [&](std::int64_t k) { return scheduler.lr_at(k); };
        const TrainResult result = train_linear(X, y, *opt, options);
        for (std::int64_t e = 1; e <= epochs; ++e) {
            const fixture::Record& row = records[i + 3 + static_cast<std::size_t>(e)];
            REQUIRE(row[0] == "w");
            REQUIRE(std::stoll(row[1]) == e);
            INFO("epoch " << e);
            CHECK(fixture::max_rel_err(result.weights[static_cast<std::size_t>(e)],
                                       fixture::numbers(row, 2)) <= 1e-12);
        }
    }
    CHECK(cases == 3);
}

TEST_CASE("schedules refuse what torch refuses", "[lr_schedule]") {
    const auto err = [](const std::string& text) {
        return error_of([&] { optim::parse_lr_schedule(text); });
    };
    CHECK_THAT(err("step:0,0.5"), Contains("STEP must be an integer >= 1, got '0'"));
    CHECK_THAT(err("step:5"), Contains("step takes 2 field(s), got 1"));
    CHECK_THAT(err("exponential:-1"), Contains("GAMMA must be > 0"));
    CHECK_THAT(err("linear:0,1,5"), Contains("START must be in (0, 1]"));
    CHECK_THAT(err("linear:0.5,1.5,5"), Contains("END must be in [0, 1]"));
    CHECK_THAT(err("cosine:10,-0.1"), Contains("ETA_MIN must be >= 0"));
    CHECK_THAT(err("cosine:ten"), Contains("T_MAX must be an integer"));
    CHECK_THAT(err("plateau:3"), Contains("unknown kind 'plateau'"));
    CHECK_THAT(err("cosine"), Contains("no ':'"));
    // An optimizer without a learning rate, and a rate that is not one.
    Tensor w = zeros({2}).requires_grad_();
    optim::OptimizerConfig cg;
    cg.name = "newton-cg";
    auto newton_cg = optim::make_optimizer(cg, {w});
    CHECK_FALSE(newton_cg->has_lr());
    TrainOptions options;
    options.lr_at = [](std::int64_t) { return 0.1; };
    const Tensor X = ones({4, 2}), y = ones({4});
    CHECK_THAT(error_of([&] { train_linear(X, y, *newton_cg, options); }),
               Contains("newton-cg has no learning rate to schedule"));
    optim::OptimizerConfig gd;
    auto sgd = optim::make_optimizer(gd, {w});
    CHECK_THAT(error_of([&] { sgd->set_lr(-0.1); }), Contains("lr must be >= 0 and finite"));
    CHECK_THAT(error_of([&] { sgd->set_lr(INFINITY); }), Contains("lr must be >= 0 and finite"));
    sgd->set_lr(0.0);  // annealed to 0, as torch allows
    CHECK(sgd->lr() == 0.0);
}
