// `descent train`: one optimizer on one dataset, with a summary, --json and --trace.
#include <cmath>
#include <map>
#include <cstdio>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/output.hpp"
#include "cli/run_identity.hpp"
#include "descent/checkpoint.hpp"
#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/solve.hpp"
#include "descent/stream.hpp"

namespace descent::cli {

namespace {

std::vector<FlagSpec> train_flags() {
    std::vector<FlagSpec> flags{
        {"data", true, "SPEC", "blog | synthetic:n=N,d=D[,noise=S][,seed=K] | FILE.csv | FILE.npy (default blog)"},
        {"epochs", true, "N", "full passes over the data (default 50)"},
        {"init", true, "SPEC", "blog | zeros | random | v1,v2,... (default: blog for --data blog, else zeros)"},
        {"seed", true, "K", "seed for --init random and --shuffle (default 0)"},
        {"device", true, "DEV", "auto | cpu | cuda | cuda:N (default auto)"},
        {"dtype", true, "T", "f32 | f64 (default f64)"},
        {"no-intercept", false, "", "do not append the ones column (weights read [slope..., intercept] otherwise)"},
        {"batch-size", true, "B", "rows per optimizer step (default: all rows, full batch; not for newton)"},
        {"shuffle", false, "", "visit the rows in a new seeded order (--seed) every epoch"},
        {"on-divergence", true, "MODE", "stop | warn: when the loss or a weight turns non-finite (default stop)"},
        {"checkpoint", true, "FILE", "save weights, optimizer state, epoch and losses to FILE, atomically"},
        {"checkpoint-every", true, "K", "save the checkpoint every K epochs (default 1) and after the last"},
        {"resume", true, "FILE", "continue the run saved in FILE (give the flags of the run that wrote it)"},
        {"cuda-graph", false, "", "CUDA only: launch each block of epochs between loss read-backs as one CUDA graph (full batch; not newton)"},
        {"stream-chunk", true, "ROWS", "full batch, ROWS rows at a time: synthetic data is generated on the device chunk by chunk, never held; other data (files, blog) is held in host memory and streamed to the device (for data bigger than its memory)"},
        {"trace", true, "FILE.csv", "write epoch, loss and weights of every epoch"},
        {"json", false, "", "print one JSON object on stdout and nothing else"},
        {"quiet", false, "", "no progress on stderr"},
        {"help", false, "", "show this help"},
    };
    const auto opt = optimizer_flags();
    flags.insert(flags.begin() + 1, opt.begin(), opt.end());
    return flags;
}

std::string trace_csv(const TrainResult& r, double final_loss) {
    std::ostringstream os;
    os << "epoch,loss";
    for (std::size_t j = 0; j < r.final_weights.size(); ++j) os << ",w" << j;
    os << "\n";
    for (std::size_t e = 0; e < r.weights.size(); ++e) {
        os << e << "," << format_number(e < r.losses.size() ? r.losses[e] : final_loss);
        for (double v : r.weights[e]) os << "," << format_number(v);
        os << "\n";
    }
    return os.str();
}

}  // namespace

int run_train(const std::vector<std::string>& argv) {
    const std::vector<FlagSpec> specs = train_flags();
    const Args args("train", argv, specs);
    if (args.has("help")) {
        std::printf("usage: descent train [flags]\n\nTrains a linear model y = X w (+ intercept) "
                    "with MSE loss, full batch or in mini-batches.\n\n%s",
                    describe_flags(specs).c_str());
        return 0;
    }
    const optim::OptimizerConfig config = optimizer_config(args, "gd");
    const auto hyper = optim::effective_hyperparameters(config);  // validates names and flags
    const long long epochs = args.integer("epochs").value_or(50);
    if (epochs < 1) throw UsageError("--epochs must be >= 1, got " + std::to_string(epochs));
    const long long seed = args.integer("seed").value_or(0);
    if (seed < 0 || seed > 4294967295LL)
        throw UsageError("--seed must be in [0, 2^32 - 1], got " + std::to_string(seed));
    const DType dtype = parse_dtype(args.text("dtype", "f64"));
    const std::string data_spec = args.text("data", "blog");
    const bool json = args.has("json");
    const DeviceChoice choice = resolve_device(args.text("device", "auto"));
    const Device device = choice.device;
    // --cuda-graph where nothing would be captured is a mistake worth saying, not a no-op.
    const bool cuda_graph = args.has("cuda-graph");
    if (cuda_graph && !device.is_cuda())
        throw UsageError("--cuda-graph needs a CUDA device; this run trains on " + device.str() +
                         (args.text("device", "auto") == "auto" ? " (--device auto found no GPU)"
                                                                : ""));
    if (cuda_graph && config.name == "newton")
        throw UsageError("--cuda-graph: newton's steps are not captured (each reads the "
                         "Cholesky status back to the host); drop --cuda-graph");
    if (cuda_graph && args.has("stream-chunk"))
        throw UsageError("--cuda-graph: streamed data (--stream-chunk) is not captured; drop one");

    // --stream-chunk: synthetic rows generated chunk by chunk on the device, never held whole
    // (`streamed`); any other data held in host memory and streamed through the device
    // (`host_streamed`: on the cpu the chunks are read in place).
    const bool chunked = args.has("stream-chunk");
    const long long stream_chunk = args.integer("stream-chunk").value_or(0);
    if (chunked && stream_chunk < 1)
        throw UsageError("--stream-chunk must be >= 1, got " + std::to_string(stream_chunk));
    if (chunked && args.has("batch-size"))
        throw UsageError("--stream-chunk trains full batch; drop --batch-size");
    const bool synthetic = data_spec.rfind("synthetic:", 0) == 0;
    const bool streamed = chunked && synthetic;
    const bool host_streamed = chunked && !synthetic;
    Dataset data;
    StreamedSynthetic stream;
    StreamedHost host;
    if (streamed) {
        stream.spec = parse_synthetic_spec(data_spec);
        stream.intercept = !args.has("no-intercept");
        stream.chunk_rows = stream_chunk;
        data.source = synthetic_spec_str(stream.spec);
        data.intercept = stream.intercept;
        data.true_weights = synthetic_true_weights(stream.spec, stream.intercept, dtype);
    } else {
        data = load_dataset(data_spec, !args.has("no-intercept"), dtype,
                            host_streamed ? Device::cpu() : device);
        host.X = data.X;
        host.y = data.y;
        host.chunk_rows = stream_chunk;
    }
    const std::int64_t n = streamed ? stream.spec.n : data.X.shape()[0];
    const std::int64_t d = streamed ? static_cast<std::int64_t>(data.true_weights.size())
                                    : data.X.shape()[1];
    const std::vector<double> init = initial_weights(
        args.text("init", data.source == "blog" ? "blog" : "zeros"), d, data,
        static_cast<std::uint32_t>(seed));

    const long long batch_size = args.integer("batch-size").value_or(0);
    if (args.has("batch-size") && batch_size < 1)
        throw UsageError("--batch-size must be >= 1, got " + std::to_string(batch_size));
    if (args.has("shuffle") && !args.has("batch-size"))
        throw UsageError("--shuffle needs --batch-size (a full batch has no order)");
    if (cuda_graph && batch_size > 0 && batch_size < n)
        throw UsageError("--cuda-graph captures full-batch training only; drop --batch-size " +
                         std::to_string(batch_size) + " (< " + std::to_string(n) + " rows)");
    const std::string divergence = args.text("on-divergence", "stop");
    if (divergence != "stop" && divergence != "warn")
        throw UsageError("--on-divergence must be stop or warn, got '" + divergence + "'");
    const long long checkpoint_every = args.integer("checkpoint-every").value_or(1);
    if (checkpoint_every < 1)
        throw UsageError("--checkpoint-every must be >= 1, got " + std::to_string(checkpoint_every));
    if (args.has("checkpoint-every") && !args.has("checkpoint"))
        throw UsageError("--checkpoint-every needs --checkpoint FILE");
    if (config.name == "newton" && batch_size > 0 && batch_size < n)
        throw UsageError("--batch-size: newton takes full-batch steps only (--batch-size " +
                         std::to_string(batch_size) + " < " + std::to_string(n) +
                         " rows)");

    // Everything a resumed run must share with the run that wrote the checkpoint.
    std::map<std::string, std::string> run;
    if (args.has("checkpoint") || args.has("resume")) {
        std::string hyper_text;
        for (const auto& [k, v] : hyper) hyper_text += k + "=" + format_number(v) + ";";
        run = {{"tool", "descent train"},
               {"data", streamed ? generated_data_identity(data.source, n, d, data.intercept)
                                 : data_identity(data)},
               {"dtype", dtype_name(dtype)},
               {"optimizer", config.name},
               {"preset", optim::preset_name(config.preset)},
               {"hyperparameters", hyper_text},
               {"batch_size", std::to_string(batch_size)},
               {"shuffle", args.has("shuffle") ? "yes (seed " + std::to_string(seed) + ")" : "no"}};
    }

    Tensor w = from_vector(init, {d}, dtype, device).requires_grad_();
    auto optimizer = optim::make_optimizer(config, {w});
    TrainResult resumed;
    std::vector<double> initial = init;
    if (args.has("resume")) {
        const std::string path = args.text("resume", "");
        const Checkpoint c = load_checkpoint(path);
        check_same_run(path, c.meta, run);
        if (c.epoch != static_cast<std::int64_t>(c.losses.size()))
            throw Error(path + ": corrupt checkpoint: epoch " + std::to_string(c.epoch) + " but " +
                        std::to_string(c.losses.size()) + " losses");
        if (c.epoch > epochs)
            throw UsageError("--epochs " + std::to_string(epochs) + ": the checkpoint " + path +
                             " has already done " + std::to_string(c.epoch) + " epochs");
        if (args.has("trace") && static_cast<std::int64_t>(c.weights.size()) != c.epoch)
            throw UsageError("--trace: the checkpoint " + path + " holds no trajectory; give "
                             "--trace to the run that writes the checkpoint as well");
        restore_checkpoint(c, *optimizer);
        resumed.losses = c.losses;
        if (args.has("trace")) resumed.weights = c.weights;
        if (c.meta.count("initial_weights"))
            initial = initial_weights(c.meta.at("initial_weights"), d, data, 0);
    }
    {
        std::string text;  // round-trip precision, read back by initial_weights()
        for (double v : initial) text += (text.empty() ? "" : ",") + format_number(v);
        run["initial_weights"] = text;
    }

    Progress progress(config.name, epochs, !args.has("quiet"));
    TrainOptions options;
    options.epochs = epochs;
    options.record_weights = args.has("trace");
    options.on_epoch = [&](std::int64_t e, double loss) { progress.update(e, loss); };
    options.batch_size = batch_size;
    options.shuffle = args.has("shuffle");
    options.shuffle_seed = static_cast<std::uint64_t>(seed);
    options.cuda_graph = cuda_graph;
    if (divergence == "warn") {
        options.on_divergence = OnDivergence::warn;
        options.on_warning = [&](const std::string& message) {
            progress.finish();  // end a live bar's line first
            std::fprintf(stderr, "descent: warning: %s\n", message.c_str());
        };
    }
    if (args.has("resume")) options.resume = &resumed;
    if (args.has("checkpoint")) {
        const std::string path = args.text("checkpoint", "");
        options.checkpoint_every = checkpoint_every;
        options.on_checkpoint = [&, path](const TrainResult& so_far) {
            save_checkpoint(path, make_checkpoint(*optimizer,
                                                  static_cast<std::int64_t>(so_far.losses.size()),
                                                  so_far.losses, so_far.weights, run));
        };
    }
    const TrainResult result = streamed        ? train_linear_streamed(stream, *optimizer, options)
                               : host_streamed ? train_linear_streamed(host, *optimizer, options)
                                               : train_linear(data.X, data.y, *optimizer, options);
    progress.finish();

    const double final_loss =
        streamed        ? linear_mse_streamed(stream, w.detach()).loss.item()
        : host_streamed ? linear_mse_streamed(host, w.detach()).loss.item()
                        : linear_mse_value_and_grad(data.X, data.y, w.detach()).loss.item();
    if (!std::isfinite(final_loss) && divergence == "stop")
        throw Error("training diverged after the last epoch (" + config.name +
                    "): the final loss is " + format_number(final_loss) +
                    "; try a smaller learning rate");
    if (args.has("trace")) write_file_atomically(args.text("trace", ""), trace_csv(result, final_loss));

    // Only now, so that a failed run prints its error line alone.
    if (!choice.notice.empty() && !args.has("quiet")) std::fprintf(stderr, "%s\n", choice.notice.c_str());
    if (json) {
        JsonWriter j;
        j.begin_object();
        j.key("optimizer").value(config.name);
        j.key("preset").value(optim::preset_name(config.preset));
        j.key("device").value(device.str());
        j.key("dtype").value(dtype_name(dtype));
        j.key("data").value(data.source);
        j.key("rows").value(static_cast<long long>(n));
        j.key("epochs").value(epochs);
        j.key("batch_size").value(static_cast<long long>(batch_size > 0 && batch_size < n ? batch_size : n));
        j.key("hyperparameters").object(hyper);
        j.key("initial_weights").value(initial);
        j.key("final_weights").value(result.final_weights);
        j.key("final_loss").value(final_loss);
        j.key("losses").value(result.losses);
        if (!data.true_weights.empty()) {
            j.key("true_weights").value(data.true_weights);
            j.key("distance_to_true_weights").value(distance(result.final_weights, data.true_weights));
        }
        j.end_object();
        std::printf("%s\n", j.str().c_str());
        return 0;
    }
    std::printf("descent train: %s (%s preset) on %s, %lld x %lld, %s, %s, %lld epochs\n",
                config.name.c_str(), optim::preset_name(config.preset), data.source.c_str(),
                static_cast<long long>(n), static_cast<long long>(d), dtype_name(dtype),
                device.str().c_str(), epochs);
    std::printf("  hyperparameters:  ");
    for (const auto& [k, v] : hyper) std::printf("%s=%s ", k.c_str(), format_number(v).c_str());
    std::printf("\n  initial weights:  %s\n", format_vector(initial).c_str());
    std::printf("  final weights:    %s\n", format_vector(result.final_weights).c_str());
    std::printf("  final loss:       %.9g\n", final_loss);
    if (!data.true_weights.empty())
        std::printf("  true weights:     %s (distance %.3g)\n",
                    format_vector(data.true_weights).c_str(),
                    distance(result.final_weights, data.true_weights));
    return 0;
}

}  // namespace descent::cli
