// Benchmark harness for the one-pass training step: times a full-batch epoch (fused
// value-and-grad [+ Hessian] + optimizer step) on a synthetic problem and compares it with the
// memory-bandwidth floor measured in the same run, one floor read after each timed epoch:
//   cpu:  a streaming read of the same bytes (X and y), with the same threads, SIMD sum;
//   cuda: a device-to-device copy of the same bytes (reported as copy bandwidth, 2x bytes).
// Prints one JSON object per run. Usage:
//   bench_linear --n 10000000 --d 16 [--dtype f32] [--device cpu|cuda] [--optimizer adam]
//                [--reps 10] [--warmup 2] [--blog [--cuda-graph]] [--batch-size B [--shuffle]]
//                [--stream-chunk ROWS] [--hvp] [--loss mse|logistic]
// With --batch-size an epoch is train_linear's mini-batch pass (one step per batch; the
// shuffled gather reads rows scattered over X, so the floor is only a reference there).
// --blog instead times the blog problem's whole 50-epoch run (wall time, synchronised), and
// reports kernel launches and CUDA graph launches per epoch (cuda_launch_stats); with
// --cuda-graph its epochs 1..49 run as one CUDA graph (TrainOptions::cuda_graph).
// --stream-chunk ROWS times the full-batch epoch over data held in host memory and streamed
// through the device ROWS rows at a time (StreamedHost; on a GPU the chunks' copies overlap
// the work), with its own floor: on a GPU a pinned host-to-device copy of the same bytes
// ("floor_kind": "h2d_copy"), on the cpu the streaming read.
// --hvp times the fused Hessian-vector product linear_mse_hvp(X, v) = 2/n Xᵀ(X v) instead,
// against the floor of one read of X alone (it reads no y).
// --loss logistic times the full-batch epoch of logistic regression instead, as the training
// loop runs it: LinearModel's fused logistic pass (with a Newton optimizer, its Hessian too)
// into buffers made once + the optimizer step (the labels checked once, before the epochs, as
// train() does), on the synthetic X with labels
// y = [synthetic target > 0] (0/1, same dtype), against the same floor (X and y).
// bench/torch_logistic_time.py times idiomatic PyTorch on the same problem.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "descent/descent.hpp"

using namespace descent;
using namespace bench;

namespace {

struct Config {
    std::int64_t n = 1000000, d = 16;
    DType dtype = DType::f32;
    std::string device = "cpu", optimizer = "adam";
    int reps = 10, warmup = 2;
    bool blog = false;
    std::int64_t batch_size = 0;  // 0: full batch
    bool shuffle = false;
    bool cuda_graph = false;
    std::int64_t stream_chunk = 0;  // 0: the data in the device's memory
    bool hvp = false;
    std::string loss = "mse";  // or "logistic"
};

Config parse(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw Error("bench_linear: " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--n") c.n = std::stoll(next());
        else if (a == "--d") c.d = std::stoll(next());
        else if (a == "--dtype") c.dtype = parse_dtype(next());
        else if (a == "--device") c.device = next();
        else if (a == "--optimizer") c.optimizer = next();
        else if (a == "--reps") c.reps = std::stoi(next());
        else if (a == "--warmup") c.warmup = std::stoi(next());
        else if (a == "--blog") c.blog = true;
        else if (a == "--batch-size") c.batch_size = std::stoll(next());
        else if (a == "--shuffle") c.shuffle = true;
        else if (a == "--cuda-graph") c.cuda_graph = true;
        else if (a == "--stream-chunk") c.stream_chunk = std::stoll(next());
        else if (a == "--hvp") c.hvp = true;
        else if (a == "--loss") c.loss = next();
        else throw Error("bench_linear: unknown argument " + a);
    }
    if (c.reps < 1) throw Error("bench_linear: --reps must be >= 1");
    if (c.loss != "mse" && c.loss != "logistic")
        throw Error("bench_linear: --loss must be mse or logistic, got " + c.loss);
    if (c.loss == "logistic" && (c.blog || c.batch_size > 0 || c.stream_chunk > 0 || c.hvp))
        throw Error("bench_linear: --loss logistic times the full-batch epoch only; drop --blog, "
                    "--batch-size, --stream-chunk and --hvp");
    if (c.cuda_graph && !c.blog)
        throw Error("bench_linear: --cuda-graph times the blog run only; add --blog");
    if (c.cuda_graph && !parse_device(c.device).is_cuda())
        throw Error("bench_linear: --cuda-graph needs --device cuda");
    if (c.stream_chunk < 0) throw Error("bench_linear: --stream-chunk must be >= 1");
    if (c.stream_chunk > 0 && (c.blog || c.batch_size > 0))
        throw Error("bench_linear: --stream-chunk times the full-batch epoch; drop --blog and --batch-size");
    if (c.stream_chunk > 0 && c.warmup < 1)
        throw Error("bench_linear: --stream-chunk needs --warmup >= 1 (the first epoch page-locks the data)");
    return c;
}

// One read of the floor: on the cpu a streaming read of X and y (y may be undefined: X
// alone), on a GPU a device-to-device copy of them. Timed once per repetition, alternating with the epochs, so that both see the
// same state of a shared machine (its memory bandwidth drifts by tens of percent).
double floor_once_seconds(const Tensor& X, const Tensor& y) {
    static volatile double sink = 0.0;
    synchronize(X.device());
    const auto t0 = Clock::now();
    if (X.device().is_cpu()) {
        if (X.dtype() == DType::f32) {
            sink = sink + stream_read(X.data<float>(), X.numel()) +
                   (y.defined() ? stream_read(y.data<float>(), y.numel()) : 0.0);
        } else {
            sink = sink + stream_read(X.data<double>(), X.numel()) +
                   (y.defined() ? stream_read(y.data<double>(), y.numel()) : 0.0);
        }
    } else {
        const Tensor a = X.detach().clone(), b = y.defined() ? y.detach().clone() : Tensor();
        synchronize(X.device());
    }
    return seconds_since(t0);
}

// The floor of a streamed epoch on a GPU: one host-to-device copy of the same bytes, from X
// and y where the run holds them (page-locked by it while it lasts), into device memory.
double h2d_once_seconds(const Tensor& X, const Tensor& y, Device device) {
    synchronize(device);
    const auto t0 = Clock::now();
    const Tensor a = X.to(device), b = y.to(device);  // each copy waits for its end
    synchronize(device);
    return seconds_since(t0);
}

// --stream-chunk: the epochs of one train_linear_streamed run over host data (one run, so the
// data is page-locked once, as in real use), each timed from the end of the previous one's
// floor read to its on_epoch (every epoch reads its loss back: sync_every 1); the floor is
// read inside on_epoch, alternating with the epochs.
void run_streamed(const Config& c, Device device) {
    SyntheticSpec spec;
    spec.n = c.n;
    spec.d = c.d - 1;  // the intercept column makes d columns in X
    spec.noise = 0.1;
    spec.seed = 1;
    const Dataset host = synthetic_dataset(spec, true, c.dtype, Device::cpu());
    StreamedHost data;
    data.X = host.X;
    data.y = host.y;
    data.chunk_rows = c.stream_chunk;
    Tensor w = zeros({c.d}, c.dtype, device).requires_grad_();
    optim::OptimizerConfig oc;
    oc.name = c.optimizer;
    auto opt = optim::make_optimizer(oc, {w});

    std::vector<double> times, floors;
    std::size_t pinned = 0, in_use = 0;
    const std::size_t in_use_before = cuda_memory_stats(device.index).bytes_in_use;
    std::uint64_t mallocs_after_first = 0;
    TrainOptions t;
    t.epochs = c.warmup + c.reps;
    t.sync_every = 1;
    Clock::time_point t0;
    t.on_epoch = [&](std::int64_t epoch, double) {
        const double seconds = seconds_since(t0);
        if (epoch >= c.warmup) times.push_back(seconds);
        const DeviceMemoryStats m = cuda_memory_stats(device.index);
        pinned = std::max(pinned, m.host_bytes_pinned);
        in_use = std::max(in_use, m.bytes_in_use - std::min(m.bytes_in_use, in_use_before));
        const double f = device.is_cpu() ? floor_once_seconds(host.X, host.y)
                                         : h2d_once_seconds(host.X, host.y, device);
        if (epoch >= c.warmup) floors.push_back(f);
        // The floor's device copy is allocated in the first epoch's on_epoch, then cached.
        if (epoch == 0) mallocs_after_first = cuda_memory_stats(device.index).device_allocations;
        t0 = Clock::now();
    };
    t0 = Clock::now();
    train_linear_streamed(data, *opt, t);

    const double epoch = median(times);
    const double bytes = double(host.X.numel() + host.y.numel()) * double(dtype_size(c.dtype));
    const double floor = median(floors);
    std::printf(
        "{\"bench\": \"epoch_streamed\", \"n\": %lld, \"d\": %lld, \"dtype\": \"%s\", \"device\": \"%s\", "
        "\"optimizer\": \"%s\", \"stream_chunk\": %lld, \"threads\": %d, \"epoch_ms_median\": %.6g, "
        "\"epoch_ms_min\": %.6g, \"effective_gbps\": %.6g, \"floor_kind\": \"%s\", \"floor_ms\": %.6g, "
        "\"floor_gbps\": %.6g, \"ratio_to_floor\": %.4g, \"bytes_per_epoch\": %.6g, "
        "\"host_bytes_pinned\": %zu, \"device_mb_in_use_max\": %.1f, \"peak_rss_mb\": %.1f, "
        "\"cuda_mallocs_after_first_epoch\": %llu}\n",
        static_cast<long long>(c.n), static_cast<long long>(c.d), dtype_name(c.dtype),
        device.str().c_str(), c.optimizer.c_str(), static_cast<long long>(c.stream_chunk), threads(),
        1e3 * epoch, 1e3 * *std::min_element(times.begin(), times.end()), bytes / epoch / 1e9,
        device.is_cpu() ? "stream_read" : "h2d_copy", 1e3 * floor, bytes / floor / 1e9,
        device.is_cpu() ? epoch / floor : floor / epoch, bytes, pinned, double(in_use) / 1e6,
        peak_rss_mb(),
        static_cast<unsigned long long>(cuda_memory_stats(device.index).device_allocations -
                                        mallocs_after_first));
}

void run_blog(const Config& c, Device device) {
    const BlogProblem blog = blog_problem(c.dtype, device);
    constexpr std::int64_t kEpochs = 50;
    std::vector<double> times;
    DeviceLaunchStats before{};  // at the first timed run
    for (int r = 0; r < c.warmup + c.reps; ++r) {
        if (r == c.warmup && device.is_cuda()) before = cuda_launch_stats(device.index);
        Tensor w = from_vector(blog.initial_weights, {2}, c.dtype, device).requires_grad_();
        optim::OptimizerConfig oc;
        oc.name = c.optimizer;
        oc.preset = optim::Preset::blog;
        auto opt = optim::make_optimizer(oc, {w});
        TrainOptions t;
        t.epochs = kEpochs;
        t.record_weights = false;
        t.sync_every = kEpochs;
        t.cuda_graph = c.cuda_graph;
        synchronize(device);
        const auto t0 = Clock::now();
        train_linear(blog.data.X, blog.data.y, *opt, t);
        synchronize(device);
        if (r >= c.warmup) times.push_back(seconds_since(t0));
    }
    // Launches per epoch over the timed runs (zero on the cpu). Kernel launches include the
    // few outside the epochs proper (the weights' read-back after the run).
    DeviceLaunchStats after{};
    if (device.is_cuda()) after = cuda_launch_stats(device.index);
    const double epochs_timed = double(kEpochs) * c.reps;
    const auto per_epoch = [&](std::uint64_t later, std::uint64_t earlier) {
        return double(later - earlier) / epochs_timed;
    };
    std::printf("{\"bench\": \"blog\", \"device\": \"%s\", \"dtype\": \"%s\", \"optimizer\": \"%s\", "
                "\"epochs\": %lld, \"cuda_graph\": %s, \"run_ms_median\": %.6g, \"run_ms_min\": %.6g, "
                "\"epoch_us\": %.6g, \"kernel_launches_per_epoch\": %.4g, "
                "\"graph_launches_per_epoch\": %.4g, \"graph_kernels_per_epoch\": %.4g}\n",
                device.str().c_str(), dtype_name(c.dtype), c.optimizer.c_str(),
                static_cast<long long>(kEpochs), c.cuda_graph ? "true" : "false",
                1e3 * median(times), 1e3 * *std::min_element(times.begin(), times.end()),
                1e6 * median(times) / double(kEpochs),
                per_epoch(after.kernel_launches, before.kernel_launches),
                per_epoch(after.graph_launches, before.graph_launches),
                per_epoch(after.graph_kernel_nodes, before.graph_kernel_nodes));
}

// --hvp: linear_mse_hvp against one read of X, alternating as the epochs do.
void run_hvp(const Config& c, Device device, const Dataset& data) {
    const Tensor v = full({c.d}, 0.5, c.dtype, device);
    std::vector<double> times, floors;
    for (int r = 0; r < c.warmup + c.reps; ++r) {
        synchronize(device);
        const auto t0 = Clock::now();
        const Tensor hv = linear_mse_hvp(data.X, v);
        synchronize(device);
        const double t = seconds_since(t0);
        const double f = floor_once_seconds(data.X, Tensor());
        if (r >= c.warmup) {
            times.push_back(t);
            floors.push_back(f);
        }
    }
    const double bytes = double(data.X.numel()) * double(dtype_size(c.dtype));
    const double t = median(times), floor = median(floors);
    std::printf("{\"bench\": \"linear_mse_hvp\", \"n\": %lld, \"d\": %lld, \"dtype\": \"%s\", "
                "\"device\": \"%s\", \"threads\": %d, \"hvp_ms_median\": %.6g, \"hvp_ms_min\": %.6g, "
                "\"floor_kind\": \"%s\", \"floor_ms\": %.6g, \"ratio_to_floor\": %.4g, "
                "\"bytes\": %.6g}\n",
                static_cast<long long>(c.n), static_cast<long long>(c.d), dtype_name(c.dtype),
                device.str().c_str(), threads(), 1e3 * t,
                1e3 * *std::min_element(times.begin(), times.end()),
                device.is_cpu() ? "stream_read_X" : "d2d_copy_X", 1e3 * floor,
                device.is_cpu() ? t / floor : t / (floor / 2), bytes);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Config c = parse(argc, argv);
        const Device device = parse_device(c.device);
        if (c.blog) {
            run_blog(c, device);
            return 0;
        }
        if (c.stream_chunk > 0) {
            run_streamed(c, device);
            return 0;
        }
        SyntheticSpec spec;
        spec.n = c.n;
        spec.d = c.d - 1;  // the intercept column makes d columns in X
        spec.noise = 0.1;
        spec.seed = 1;
        Dataset data = synthetic_dataset(spec, true, c.dtype, device);
        const bool logistic = c.loss == "logistic";
        if (logistic) {  // labels 0/1: the sign of the synthetic target
            std::vector<double> labels = data.y.to_vector<double>();
            for (double& v : labels) v = v > 0.0 ? 1.0 : 0.0;
            data.y = from_vector(labels, {c.n}, c.dtype, device);
        }
        if (c.hvp) {
            run_hvp(c, device, data);
            return 0;
        }
        Tensor w = zeros({c.d}, c.dtype, device).requires_grad_();
        optim::OptimizerConfig oc;
        oc.name = c.optimizer;
        auto opt = optim::make_optimizer(oc, {w});
        const bool newton = opt->needs_hessian();
        auto* newton_opt = dynamic_cast<optim::Newton*>(opt.get());
        const LinearModel model(w);
        const Tensor loss_slot = empty({1}, c.dtype, device);
        const Tensor hessian = newton ? empty({c.d, c.d}, c.dtype, device) : Tensor();
        if (logistic) check_binary_labels("bench_linear", data.y);  // once, as train() does

        std::vector<double> times, floors;
        const std::uint64_t mallocs_before = cuda_memory_stats(device.index).device_allocations;
        std::uint64_t mallocs_after_first = 0;
        for (int r = 0; r < c.warmup + c.reps; ++r) {
            synchronize(device);
            const auto t0 = Clock::now();
            if (c.batch_size > 0) {
                TrainOptions t;
                t.epochs = 1;
                t.batch_size = c.batch_size;
                t.shuffle = c.shuffle;
                train_linear(data.X, data.y, *opt, t);
            } else if (logistic) {
                // The training loop's epoch: the model's fused pass into buffers made once
                // (train() checks the labels once a run, not each epoch), then the step.
                model.fused_pass(Loss::bce_with_logits, data.X, data.y, loss_slot, hessian);
                if (newton_opt) newton_opt->set_hessian(hessian);
                opt->step();
            } else {
                const LinearMseResult step = newton ? linear_mse_value_grad_hessian(data.X, data.y, w.detach())
                                                    : linear_mse_value_and_grad(data.X, data.y, w.detach());
                w.set_grad(step.grad);
                if (newton_opt) newton_opt->set_hessian(step.hessian);
                opt->step();
            }
            synchronize(device);
            if (r >= c.warmup) times.push_back(seconds_since(t0));
            if (r == 0) mallocs_after_first = cuda_memory_stats(device.index).device_allocations;
            const double f = floor_once_seconds(data.X, data.y);  // warm-ups touch the pages
            if (r >= c.warmup) floors.push_back(f);
        }
        const double epoch = median(times);
        const double bytes = double(data.X.numel() + data.y.numel()) * double(dtype_size(c.dtype));
        const double floor = median(floors);
        const double floor_gbps = device.is_cpu() ? bytes / floor / 1e9 : 2 * bytes / floor / 1e9;
        std::printf(
            "{\"bench\": \"epoch\", \"loss\": \"%s\", \"n\": %lld, \"d\": %lld, \"dtype\": \"%s\", \"device\": \"%s\", "
            "\"optimizer\": \"%s\", \"batch_size\": %lld, \"shuffle\": %s, \"threads\": %d, \"epoch_ms_median\": %.6g, \"epoch_ms_min\": %.6g, "
            "\"effective_gbps\": %.6g, \"floor_kind\": \"%s\", \"floor_ms\": %.6g, \"floor_gbps\": %.6g, "
            "\"ratio_to_floor\": %.4g, \"bytes_per_epoch\": %.6g, \"peak_rss_mb\": %.1f, "
            "\"cuda_mallocs_after_first_epoch\": %llu}\n",
            c.loss.c_str(), static_cast<long long>(c.n), static_cast<long long>(c.d), dtype_name(c.dtype),
            device.str().c_str(), c.optimizer.c_str(), static_cast<long long>(c.batch_size),
            c.shuffle ? "true" : "false", threads(), 1e3 * epoch,
            1e3 * *std::min_element(times.begin(), times.end()), bytes / epoch / 1e9,
            device.is_cpu() ? "stream_read" : "d2d_copy", 1e3 * floor, floor_gbps,
            device.is_cpu() ? epoch / floor : (bytes / epoch) / (2 * bytes / floor) , bytes,
            peak_rss_mb(),
            static_cast<unsigned long long>(cuda_memory_stats(device.index).device_allocations -
                                            std::max(mallocs_before, mallocs_after_first)));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_linear: error: %s\n", e.what());
        return 1;
    }
}
