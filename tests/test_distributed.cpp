// Data-parallel training (descent/communicator.hpp, descent/shard.hpp, src/shared/block_tree.hpp)
// with K communicators on K threads of this process:
//  - the block tree: every split of random partials into contiguous ranges combines to the bits
//    one fold over all of them gives; shard_rows covers the rows once, in whole blocks;
//  - training: for K = 1..4 processes, linear regression (f64, f32, implicit intercept),
//    logistic and softmax regression with every optimizer that runs full batch give losses,
//    trajectory and final weights bitwise those of one process over all rows (train without a
//    communicator, the oracle of the tree order: its own sums are checked against numpy and
//    torch elsewhere);
//  - resume: epochs on K processes, then the rest on K' processes, bitwise the whole run;
//  - agreement: one process's bad shard or bad label stops them all with its message; one
//    process's stop request stops all at the same epoch.
// The MPI communicator is run by tests/cli/distributed.sh (mpirun, K = 1..4).
#include <catch2/catch.hpp>

#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "descent/descent.hpp"
#include "descent/communicator.hpp"
#include "shared/block_tree.hpp"
#include "distributed_runs.hpp"

using namespace descent;

using namespace descent::test;

TEST_CASE("block tree: any split into ranges combines to the one fold", "[distributed]") {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal(0.0, 1.0);
    const std::int64_t entries = 3;
    for (std::int64_t N = 1; N <= 70; ++N) {
        std::vector<double> partials(static_cast<std::size_t>(N * entries));
        for (double& v : partials) v = normal(rng) * std::exp(6.0 * normal(rng));
        std::vector<double> all = partials;
        detail::fold_in_place(all.data(), N, entries);
        const std::vector<double> root(all.begin(), all.begin() + entries);
        for (int trial = 0; trial < 20; ++trial) {
            // Random cut points, empty ranges included.
            std::vector<std::int64_t> cuts = {0, N};
            const int extra = static_cast<int>(rng() % 5);
            for (int c = 0; c < extra; ++c) cuts.push_back(static_cast<std::int64_t>(rng() % (N + 1)));
            std::sort(cuts.begin(), cuts.end());
            std::vector<detail::BlockNode> nodes;
            std::vector<double> values;
            for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
                std::vector<double> mine(partials.begin() + cuts[c] * entries,
                                         partials.begin() + cuts[c + 1] * entries);
                for (const detail::BlockNode& node :
                     detail::nodes_of_range(cuts[c], cuts[c + 1], N)) {
                    const std::int64_t first = (node.index << node.level) - cuts[c];
                    const std::int64_t count =
                        std::min(std::int64_t(1) << node.level, cuts[c + 1] - cuts[c] - first);
                    detail::fold_in_place(mine.data() + first * entries, count, entries);
                    nodes.push_back(node);
                    values.insert(values.end(), mine.begin() + first * entries,
                                  mine.begin() + (first + 1) * entries);
                }
            }
            INFO("N = " << N << ", cuts " << cuts.size());
            REQUIRE(same_bits(detail::combine_nodes(nodes, values, entries, N), root));
        }
    }
    // Nodes that miss a block, overlap or repeat are an error, not a wrong sum.
    std::vector<double> v(3, 1.0), v2(6, 1.0), v3(9, 1.0);
    REQUIRE_THROWS_AS(detail::combine_nodes({{0, 0}}, v, 3, 2), std::logic_error);
    REQUIRE_THROWS_AS(detail::combine_nodes({{1, 0}, {0, 0}}, v2, 3, 2), std::logic_error);
    REQUIRE_THROWS_AS(detail::combine_nodes({{0, 0}, {0, 1}, {0, 1}}, v3, 3, 2), std::logic_error);
    REQUIRE_THROWS_AS(detail::combine_nodes({{0, 0}, {0, 2}}, v2, 3, 2), std::logic_error);
}

TEST_CASE("local_rank: a process's index among those of its host", "[distributed]") {
    // The threads of one process share its host: each is its host's process `rank`.
    std::vector<int> local(4, -1);
    on_threads(4, [&](int r, Communicator& comm) { local[static_cast<std::size_t>(r)] = local_rank(comm); });
    REQUIRE(local == std::vector<int>{0, 1, 2, 3});
    REQUIRE(local_rank(*single_process_communicator()) == 0);
}

TEST_CASE("shard_rows: whole blocks, contiguous, every row once", "[distributed]") {
    for (std::int64_t total : {0, 1, 4095, 4096, 4097, 3 * 4096 + 5, 100000}) {
        for (int K = 1; K <= 7; ++K) {
            std::int64_t at = 0;
            for (int r = 0; r < K; ++r) {
                const RowShard s = shard_rows(total, r, K);
                REQUIRE(s.total == total);
                REQUIRE(s.begin == at);
                REQUIRE((s.begin % kShardBlockRows == 0 || s.rows() == 0));
                REQUIRE((s.end % kShardBlockRows == 0 || s.end == total));
                at = s.end;
            }
            REQUIRE(at == total);
        }
    }
    REQUIRE(shard_rows(4096 * 3, 3, 4).rows() == 0);  // 3 blocks, 4 processes
    REQUIRE(shard_rows(100, 0, 4).rows() == 100);     // one short block: process 0's
    REQUIRE(shard_rows(4096 * 5, 0, 3).rows() == 2 * 4096);
    REQUIRE(shard_rows(4096 * 5, 2, 3).rows() == 4096);
    REQUIRE_THROWS_WITH(shard_rows(10, 2, 2), Catch::Contains("rank 2 of 2"));
}

TEST_CASE("distributed linear regression equals one process, bitwise", "[distributed]") {
    // 5 blocks and a short one: the processes hold 0 to 6 blocks each.
    const Data f64 = make_data(5 * 4096 + 77, 4, 0, DType::f64, 1);
    for (const char* name : {"gd", "momentum", "adagrad", "rmsprop", "adam", "adamw", "newton",
                             "newton-cg", "lbfgs"}) {
        INFO(name);
        Run run;
        run.optimizer = name;
        check_processes(run, f64);
    }
    SECTION("f32, implicit intercept") {
        const Data f32 = make_data(3 * 4096 + 1, 3, 0, DType::f32, 2);
        Run run;
        run.optimizer = "adam";
        check_processes(run, f32);
        run.intercept = true;
        run.optimizer = "newton";
        check_processes(run, f32);
    }
    SECTION("fewer rows than one block: process 0 holds them all") {
        Run run;
        run.optimizer = "gd";
        check_processes(run, make_data(100, 2, 0, DType::f64, 3));
    }
}

TEST_CASE("distributed mini-batches equal one process's, bitwise", "[distributed]") {
    const Data data = make_data(3 * 4096 + 123, 3, 0, DType::f64, 9);
    for (const bool shuffle : {true, false})
        for (const std::int64_t batch : {std::int64_t(1), std::int64_t(700), std::int64_t(5000)}) {
            INFO("batch " << batch << (shuffle ? ", shuffled" : ""));
            Run run;
            run.optimizer = "adam";
            run.epochs = batch == 1 ? 1 : 3;
            run.batch_size = batch;
            run.shuffle = shuffle;
            check_processes(run, batch == 1 ? make_data(300, 3, 0, DType::f64, 10) : data);
        }
    Run run;  // softmax, shuffled
    run.loss = Loss::cross_entropy;
    run.classes = 3;
    run.optimizer = "momentum";
    run.epochs = 2;
    run.batch_size = 999;
    run.shuffle = true;
    check_processes(run, make_data(2 * 4096 + 5, 3, 3, DType::f32, 11));
}

TEST_CASE("distributed logistic and softmax regression equal one process", "[distributed]") {
    const Data binary = make_data(4 * 4096 + 9, 3, 2, DType::f64, 4);
    for (const char* name : {"gd", "adam", "newton", "lbfgs", "newton-cg"}) {
        INFO(name);
        Run run;
        run.loss = Loss::bce_with_logits;
        run.classes = 2;
        run.optimizer = name;
        check_processes(run, binary);
    }
    Run run;
    run.loss = Loss::cross_entropy;
    run.classes = 3;
    run.optimizer = "adam";
    check_processes(run, make_data(3 * 4096 + 500, 3, 3, DType::f64, 5));
}

TEST_CASE("streamed synthetic data: each process its chunks, one process's result", "[distributed]") {
    StreamedSynthetic data;
    data.spec = parse_synthetic_spec("synthetic:n=9000,d=3,seed=4");
    data.chunk_rows = 1000;  // 9 chunks
    const auto run = [&](Communicator* comm) {
        Tensor w = zeros({4}, DType::f64).requires_grad_();
        optim::OptimizerConfig c;
        c.name = "newton";
        auto opt = optim::make_optimizer(c, {w});
        TrainOptions o;
        o.epochs = 3;
        o.record_weights = true;
        if (comm) o.parallel.communicator = comm;
        TrainResult r = train_linear_streamed(data, *opt, o);
        r.final_grad.push_back(linear_mse_streamed(data, w.detach(), false, comm).loss.item());
        return r;
    };
    const TrainResult one = run(nullptr);
    for (int K = 1; K <= 4; ++K) {
        INFO("K = " << K);
        std::vector<TrainResult> results(static_cast<std::size_t>(K));
        on_threads(K, [&](int r, Communicator& comm) { results[static_cast<std::size_t>(r)] = run(&comm); });
        for (const TrainResult& r : results) require_same(r, one);
    }
}

TEST_CASE("a run resumed on another process count equals the whole run", "[distributed]") {
    const Data data = make_data(6 * 4096 + 3, 3, 0, DType::f64, 6);
    Run whole;
    whole.optimizer = "adam";
    whole.epochs = 16;
    const TrainResult one = train_part(whole, data, nullptr, {});
    for (const auto& [first_k, second_k] : {std::pair{3, 2}, std::pair{1, 4}, std::pair{4, 1}}) {
        INFO(first_k << " then " << second_k << " processes");
        Run part = whole;
        part.epochs = 7;
        std::vector<TrainResult> firsts(static_cast<std::size_t>(first_k));
        std::vector<optim::OptimizerState> states(static_cast<std::size_t>(first_k));
        on_threads(first_k, [&](int r, Communicator& comm) {
            firsts[static_cast<std::size_t>(r)] = train_part(
                part, data, &comm, {}, {}, nullptr, &states[static_cast<std::size_t>(r)]);
        });
        for (const TrainResult& f : firsts) require_same(f, firsts[0]);
        TrainResult done = firsts[0];  // as a checkpoint holds it: the epochs' weights only
        done.weights.pop_back();
        std::vector<TrainResult> seconds(static_cast<std::size_t>(second_k));
        on_threads(second_k, [&](int r, Communicator& comm) {
            TrainOptions o;
            o.resume = &done;
            seconds[static_cast<std::size_t>(r)] = train_part(
                whole, data, &comm, o, firsts[0].final_weights, &states[0]);
        });
        for (const TrainResult& r : seconds) require_same(r, one);
    }
}

TEST_CASE("one process's error stops every process with its message", "[distributed]") {
    const Data data = make_data(3 * 4096, 2, 3, DType::f64, 7);
    SECTION("a bad class label in process 2's rows") {
        Data bad = data;
        std::vector<double> y = data.y.to_vector<double>();
        y[2 * 4096 + 5] = 7.0;
        bad.y = from_vector(y, {data.n}, DType::f64);
        Run run;
        run.loss = Loss::cross_entropy;
        run.classes = 3;
        run.optimizer = "adam";
        std::vector<std::string> messages(3);
        on_threads(3, [&](int r, Communicator& comm) {
            try {
                train_part(run, bad, &comm, {});
            } catch (const std::exception& e) {
                messages[static_cast<std::size_t>(r)] = e.what();
            }
        });
        REQUIRE_THAT(messages[2], Catch::Contains("label") && !Catch::Contains("process 2:"));
        for (int r : {0, 1})
            REQUIRE_THAT(messages[static_cast<std::size_t>(r)],
                         Catch::StartsWith("process 2: ") && Catch::Contains("label"));
    }
    SECTION("a shard that is not shard_rows'") {
        std::vector<std::string> messages(2);
        on_threads(2, [&](int r, Communicator& comm) {
            Tensor w = zeros({2}, DType::f64).requires_grad_();
            LinearModel model(w);
            auto opt = optim::make_optimizer(config_of("gd"), model.parameters());
            TrainOptions o;
            o.parallel.communicator = &comm;
            o.parallel.shard = r == 1 ? RowShard{0, data.n, data.n} : shard_rows(data.n, 0, 2);
            try {
                train(model, Loss::mse, data.X.narrow(0, o.parallel.shard.begin, o.parallel.shard.rows()),
                      data.y.narrow(0, o.parallel.shard.begin, o.parallel.shard.rows()), *opt, o);
            } catch (const std::exception& e) {
                messages[static_cast<std::size_t>(r)] = e.what();
            }
        });
        REQUIRE_THAT(messages[1], Catch::Contains("is not shard_rows"));
        REQUIRE_THAT(messages[0], Catch::StartsWith("process 1: "));
    }
}

namespace {
// LinearModel whose fused pass fails on one process at its `at`-th call (an error of that
// process alone: memory, a device, a write).
class FailingOn final : public Model {
public:
    FailingOn(Tensor w, int rank, int fail_rank, int at)
        : m_inner(std::move(w)), m_rank(rank), m_fail_rank(fail_rank), m_at(at) {}
    std::vector<Tensor> parameters() const override { return m_inner.parameters(); }
    Tensor forward(const Tensor& X) const override { return m_inner.forward(X); }
    std::string name() const override { return "failing"; }
    bool has_fused(Loss loss) const override { return m_inner.has_fused(loss); }
    bool fused_pass(Loss loss, const Tensor& X, const Tensor& y, const Tensor& out,
                    const Tensor& hessian, const detail::BlockShard* shard) const override {
        if (m_rank == m_fail_rank && ++m_calls == m_at) throw Error("disk on fire");
        return m_inner.fused_pass(loss, X, y, out, hessian, shard);
    }

private:
    LinearModel m_inner;
    int m_rank, m_fail_rank, m_at;
    mutable int m_calls = 0;
};
}  // namespace

TEST_CASE("one process's own error in training ends the group's wait", "[distributed]") {
    const Data data = make_data(3 * 4096, 2, 0, DType::f64, 12);
    std::vector<std::string> messages(3);
    on_threads(3, [&](int r, Communicator& comm) {
        Tensor w = zeros({2}, DType::f64).requires_grad_();
        FailingOn model(w, r, 1, 3);
        auto opt = optim::make_optimizer(config_of("gd"), model.parameters());
        TrainOptions o;
        o.epochs = 10;
        o.parallel = {&comm, shard_rows(data.n, r, 3), 0.2};
        try {
            train(model, Loss::mse, data.X.narrow(0, o.parallel.shard.begin, o.parallel.shard.rows()),
                  data.y.narrow(0, o.parallel.shard.begin, o.parallel.shard.rows()), *opt, o);
        } catch (const std::exception& e) {
            messages[static_cast<std::size_t>(r)] = e.what();
        }
    });
    // Process 1 keeps its own error; the others learn that it left instead of waiting for ever.
    REQUIRE(messages[1] == "disk on fire");
    for (int r : {0, 2})
        REQUIRE_THAT(messages[static_cast<std::size_t>(r)], Catch::Contains("process 1 left"));
}

TEST_CASE("one process's stop request stops every process at the same epoch", "[distributed]") {
    const Data data = make_data(2 * 4096 + 1, 2, 0, DType::f64, 8);
    Run run;
    run.optimizer = "momentum";
    run.epochs = 20;
    std::vector<TrainResult> results(3);
    on_threads(3, [&](int r, Communicator& comm) {
        int polls = 0;
        TrainOptions o;
        o.stop_requested = [&polls, r] { return r == 1 && ++polls == 6; };
        results[static_cast<std::size_t>(r)] = train_part(run, data, &comm, o);
    });
    for (const TrainResult& r : results) {
        REQUIRE(r.stopped);
        REQUIRE(r.losses.size() == 6);
        require_same(r, results[0]);
    }
}
