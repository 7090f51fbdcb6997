// `descent train`: one optimizer on one dataset, with a summary, --json and --trace.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/allocation_failure.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/plot_script.hpp"
#include "cli/run_identity.hpp"
#include "data/output_path.hpp"
#include "data/write_file.hpp"
#include "text.hpp"
#include "descent/checkpoint.hpp"
#include "descent/communicator.hpp"
#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "descent/version.hpp"
#include "descent/loss.hpp"
#include "descent/solve.hpp"
#include "descent/stream.hpp"
#include "descent/autograd.hpp"
#include "descent/model.hpp"
#include "descent/ops.hpp"
#include "descent/train.hpp"
#include "descent/data.hpp"
#include "descent/nn.hpp"
#include "cli/metrics_output.hpp"
#include "cli/model_spec.hpp"
#include "descent/metrics.hpp"
#include "descent/model_file.hpp"
#include "descent/optim/lr_schedule.hpp"
#include "descent/standardize.hpp"

namespace descent::cli {

namespace {

// Weights the text summary shows before it cuts a vector (format_vector).
constexpr std::size_t kShownWeights = 12;

std::vector<FlagSpec> train_flags() {
    std::vector<FlagSpec> flags{
        {"data", true, "SPEC", "blog | synthetic:n=N,d=D[,noise=S][,seed=K] | synthetic-logistic:n=N,d=D[,seed=K] | synthetic-softmax:n=N,d=D,k=K[,seed=S] | FILE.csv | FILE.npy (default blog)"},
        {"target", true, "COL", "a data file's target column, by header name or index from 0 (default: the last column)"},
        {"features", true, "COLS", "a data file's feature columns, comma-separated names or indices, in this order (default: every column but the target and --drop)"},
        {"drop", true, "COLS", "columns of a data file to leave out (an id column, ...), comma-separated names or indices"},
        {"delimiter", true, "C", "a CSV file's field separator: , (default), tab (or \\t: TSV), ; or another single character"},
        {"model", true, "M", "linear | logistic | softmax | mlp:H1[,H2...][:tanh|relu|sigmoid] (default linear): y = X w with MSE; binary logistic regression, labels 0/1, BCE with logits; softmax regression, labels 0..k-1, cross-entropy (weights (d, k)); a net of Linear layers of widths H1, H2, ... with the activation (default relu) between them, torch.nn's init seeded by --seed"},
        {"loss", true, "L", "mse | bce | ce: the loss of --model mlp:... (default mse): regression; labels 0/1 with BCE with logits; labels 0..k-1 with cross-entropy"},
        {"classes", true, "K", "softmax: the number of classes k (default: the largest label + 1)"},
        {"epochs", true, "N", "full passes over the data (default 50)"},
        {"init", true, "SPEC", "blog | zeros | random | v1,v2,... (default: blog for --data blog, else zeros)"},
        {"seed", true, "K", "seed for --init random and --shuffle (default 0)"},
        {"device", true, "DEV", "auto | cpu | cuda | cuda:N (default auto)"},
        {"dtype", true, "T", "f32 | f64 (default f64)"},
        {"no-intercept", false, "", "do not append the ones column (weights read [slope..., intercept] otherwise)"},
        {"ones-column", true, "HOW", "auto | stored | implicit: a data file's intercept as a ones column stored in X (fastest) or implicit (X the file's size; cpu only); auto stores it unless it costs more than 32 MiB + 8% of the data (default auto)"},
        {"lr-schedule", true, "SPEC", "the learning rate over the run, torch.optim.lr_scheduler's: step:STEP,GAMMA | exponential:GAMMA | cosine:T_MAX[,ETA_MIN] | linear:START,END,ITERS | warmup-cosine:WARMUP,T_MAX[,ETA_MIN[,START]] (StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, and LinearLR then CosineAnnealingLR), from --lr; not newton-cg"},
        {"lr-schedule-per", true, "UNIT", "epoch | batch: step the schedule after each epoch (default) or after each optimizer step"},
        {"val-fraction", true, "F", "hold out a seeded fraction F in (0, 1) of the rows (--seed; the same rows on resume) for validation: its loss after every epoch, its metrics at the end"},
        {"val-data", true, "FILE", "validate on FILE.csv | FILE.npy (the columns of --data) instead"},
        {"early-stopping", true, "PATIENCE", "stop when the validation loss has not improved for PATIENCE epochs, and end at the weights of the best epoch (Lightning's EarlyStopping with the best checkpoint restored); needs --val-fraction or --val-data"},
        {"min-delta", true, "D", "--early-stopping: an improvement is a validation loss below the best by more than D >= 0 (default 0)"},
        {"standardize", false, "", "train on each feature scaled to mean 0 and standard deviation 1 (from the data, in one pass on its device; without an intercept, scaled only), as scikit-learn's StandardScaler; weights are reported in the original units, and the model file keeps the scaling (predictions take raw features); a constant feature is kept unscaled, with a warning"},
        {"batch-size", true, "B", "rows per optimizer step (default: all rows, full batch; not for newton)"},
        {"shuffle", false, "", "visit the rows in a new seeded order (--seed) every epoch"},
        {"on-divergence", true, "MODE", "stop | warn: when the loss or a weight turns non-finite (default stop)"},
        {"checkpoint", true, "FILE", "save weights, optimizer state, epoch and losses to FILE, atomically (locked: one run per FILE)"},
        {"checkpoint-every", true, "K", "save the checkpoint every K epochs and after the last (default: by time, see --checkpoint-seconds)"},
        {"checkpoint-seconds", true, "S", "save the checkpoint once S seconds have passed since the last one (and 20x its cost), and after the last epoch (default 5 without --checkpoint-every)"},
        {"resume", true, "FILE", "continue the run saved in FILE (give the flags of the run that wrote it)"},
        {"cuda-graph", false, "", "CUDA only: launch each block of epochs between loss read-backs as one CUDA graph (full batch; not newton)"},
        {"stream-chunk", true, "ROWS", "full batch, ROWS rows at a time: synthetic data is generated on the device chunk by chunk, never held; other data (files, blog) is held in host memory and streamed to the device (for data bigger than its memory)"},
        {"trace", true, "FILE.csv", "write epoch, loss and weights of every epoch"},
        {"plot", true, "DIR", "write DIR/loss.png (the training and validation loss of every epoch) and, for a linear MSE model of two weights, DIR/trajectory.png (the path over the loss contours); needs python3 with matplotlib"},
        {"save-model", true, "FILE", "write the trained model to FILE, atomically (kind, weights, feature names, dtype, version; checksummed): descent predict --model FILE applies it"},
        {"dist", true, "MODE", "auto | mpi | none: train one model on the processes of an MPI launch (mpirun -np K descent train ...), each loading only its rows, bitwise the result of one process; auto: mpi when started by mpirun/srun (default auto)"},
        {"json", false, "", "print one JSON object on stdout and nothing else"},
        {"quiet", false, "", "no progress on stderr"},
        {"help", false, "", "show this help"},
    };
    const auto opt = optimizer_flags();
    flags.insert(flags.begin() + 1, opt.begin(), opt.end());
    return flags;
}

// The validation rows' loss and metrics at the initial weights (index 0) and after each epoch
// (--val-fraction, --val-data): regression rmse, mae, r2 (the loss is the mse); a classifier's
// accuracy (the loss is the log-loss).
struct ValidationTrace {
    std::vector<double> losses;
    std::vector<std::string> metric_names;
    std::vector<std::vector<double>> metrics;  // one row per index, metric_names' order
};

// `val`: the validation loss and metrics at each row's weights, or null.
std::string trace_csv(const TrainResult& r, double final_loss, const ValidationTrace* val) {
    std::ostringstream os;
    os << "epoch,loss";
    if (val) {
        os << ",val_loss";
        for (const std::string& name : val->metric_names) os << ",val_" << name;
    }
    for (std::size_t j = 0; j < r.final_weights.size(); ++j) os << ",w" << j;
    os << "\n";
    for (std::size_t e = 0; e < r.weights.size(); ++e) {
        os << e << "," << format_number(e < r.losses.size() ? r.losses[e] : final_loss);
        if (val) {
            os << "," << format_number(e < val->losses.size() ? val->losses[e] : NAN);
            for (std::size_t m = 0; m < val->metric_names.size(); ++m)
                os << "," << format_number(e < val->metrics.size() ? val->metrics[e][m] : NAN);
        }
        for (double v : r.weights[e]) os << "," << format_number(v);
        os << "\n";
    }
    return os.str();
}

// Data given as a file (not "blog" or a synthetic spec), as load_dataset tells them apart.
bool data_is_file(const std::string& spec) {
    return spec != "blog" && spec != "synthetic" && spec.rfind("synthetic:", 0) != 0 &&
           spec.rfind("synthetic-logistic:", 0) != 0 && spec.rfind("synthetic-softmax:", 0) != 0;
}

// Before any work: every output can be written where it is asked for, and none is the same
// file as an input (--data, a --resume other than the checkpoint resumed) or another output.
void check_files(const Args& args, const std::string& data_spec) {
    struct Named {
        std::string flag, path;
        detail::FileIdentity id;
    };
    std::vector<Named> inputs, outputs;
    if (data_is_file(data_spec) && data_spec != "-")
        inputs.push_back({"--data", data_spec, detail::identify_file(data_spec)});
    if (args.has("val-data")) {
        const std::string path = args.text("val-data", "");
        inputs.push_back({"--val-data", path, detail::identify_file(path)});
    }
    if (args.has("resume")) {
        const std::string path = args.text("resume", "");
        inputs.push_back({"--resume", path, detail::identify_file(path)});
    }
    for (const char* flag : {"checkpoint", "trace", "save-model"}) {
        if (!args.has(flag)) continue;
        const std::string path = args.text(flag, "");
        detail::check_output_file(std::string("--") + flag, path);
        outputs.push_back({std::string("--") + flag, path, detail::identify_file(path)});
    }
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        for (const Named& in : inputs) {
            if (outputs[o].flag == "--checkpoint" && in.flag == "--resume") continue;  // resuming
            if (detail::same_file(outputs[o].id, in.id))
                throw UsageError(outputs[o].flag + " " + detail::shown_path(outputs[o].path) +
                                 " is the same file as " + in.flag + " " +
                                 detail::shown_path(in.path) +
                                 "; writing it would destroy the input; choose another path");
        }
        for (std::size_t p = 0; p < o; ++p)
            if (detail::same_file(outputs[o].id, outputs[p].id))
                throw UsageError(outputs[p].flag + " " + detail::shown_path(outputs[p].path) +
                                 " and " + outputs[o].flag + " " +
                                 detail::shown_path(outputs[o].path) +
                                 " are the same file; give each output its own path");
    }
}

// Runs `f`; an allocation failure inside becomes "out of memory while <what> (<bytes> bytes)".
template <class F>
auto during(const std::string& what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const OutOfMemory& e) {
        if (std::string(e.what()).rfind("out of memory while", 0) == 0) throw;
        throw OutOfMemory("out of memory while " + what + " (" + std::to_string(e.bytes()) +
                              " bytes)",
                          e.bytes());
    } catch (const std::bad_alloc& e) {
        const std::size_t bytes = failed_allocation_bytes(e);
        if (bytes == 0)
            throw Error("out of memory while " + what + " (an allocation of unknown size failed)");
        throw OutOfMemory("out of memory while " + what + " (" + std::to_string(bytes) + " bytes)",
                          bytes);
    }
}

// Runs `f`, which reads the file `path` given to `flag`: its errors, which start with the path,
// then say which flag named the file ("--data x.csv: is a FIFO, not a regular file").
template <class F>
auto reading(const std::string& flag, const std::string& path, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const OutOfMemory&) {
        throw;
    } catch (const Error& e) {
        const std::string message = e.what();
        if (message.rfind(detail::shown_path(path) + ":", 0) != 0) throw;
        throw Error(flag + " " + message);
    }
}

// --dist before the flags are parsed: a distributed run must know its process before anything
// can fail, so that only process 0 reports (the others are silenced).
std::string raw_dist_flag(const std::vector<std::string>& argv) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        if (argv[i] == "--dist" && i + 1 < argv.size()) return argv[i + 1];
        if (argv[i].rfind("--dist=", 0) == 0) return argv[i].substr(7);
    }
    return "auto";
}

// The number of processes the launcher started, from its environment (0: it does not say).
int launched_world_size() {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
        if (const char* v = std::getenv(var)) return std::atoi(v);
    return 0;
}

// The MPI communicator when --dist asks for it (or, with auto, an MPI launcher started this
// process); null for a single process.
std::shared_ptr<Communicator> communicator_for(const std::string& dist) {
    if (dist != "auto" && dist != "mpi" && dist != "none")
        throw UsageError("--dist must be auto, mpi or none, got '" + detail::shown_field(dist) +
                         "'");
    const bool launched = launched_by_mpi();
    if (dist == "none" || (dist == "auto" && !launched)) return nullptr;
    // A launch of one process (srun -n 1 in a batch script) trains alone without MPI.
    if (!mpi_built() && dist == "auto" && launched_world_size() == 1) return nullptr;
    if (!mpi_built())
        throw UsageError(std::string(launched ? "started by an MPI launcher, but " : "--dist mpi: ") +
                         "this descent was built without MPI (configure with -DDESCENT_MPI=ON); "
                         "pass --dist none to train on each process alone");
    return mpi_communicator();
}

// The GPU a process of a distributed run takes: its index among the processes of its host
// that see the same GPUs (the same CUDA_VISIBLE_DEVICES). A launcher that gives each process
// its own GPU (Slurm's --gpus-per-task, a wrapper setting CUDA_VISIBLE_DEVICES per rank)
// leaves each alone in its group: cuda:0, its GPU. A collective.
int gpu_rank(Communicator& comm) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    const std::string mine = std::string(host) + '\n' + (visible ? visible : "(all)");
    const std::vector<std::string> all = comm.allgather(mine);
    int below = 0;
    for (int r = 0; r < comm.rank(); ++r)
        if (all[static_cast<std::size_t>(r)] == mine) ++below;
    return below;
}

std::string weights_text(const std::vector<double>& weights) {
    std::string text;  // round-trip precision
    for (double v : weights) text += (text.empty() ? "" : ",") + format_number(v);
    return text;
}

}  // namespace

int run_train(const std::vector<std::string>& argv, Stdout& out) {
    // Data-parallel over MPI (--dist): every process runs this function; process 0 prints and
    // writes, the others are silent. Setup errors are agreed (all_or_none): whichever process
    // hits one, every process stops with it. `comm` stays alive for the whole run (MPI is
    // finalised when it goes).
    const std::shared_ptr<Communicator> comm = communicator_for(raw_dist_flag(argv));
    const bool distributed = comm != nullptr;
    const int rank = distributed ? comm->rank() : 0, processes = distributed ? comm->size() : 1;
    if (rank != 0) {
        out.silence();
        silence_signal_reports();
    }
    if (distributed && processes > 1) {
        // Who runs where, for the signal handler to name a process that dies.
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        const std::vector<std::string> all =
            comm->allgather(std::to_string(static_cast<long long>(::getpid())) + " " + host);
        std::vector<JobPeer> peers;
        for (int r = 0; r < processes; ++r) {
            const std::string& s = all[static_cast<std::size_t>(r)];
            const std::size_t space = s.find(' ');
            JobPeer p;
            p.rank = r;
            p.pid = std::stoll(s.substr(0, space));
            p.host = s.substr(space + 1);
            p.same_host = p.host == host;
            peers.push_back(p);
        }
        set_job_processes(rank, peers);
    }
    out.keep_until_written(comm);
    // Runs `f` on every process, then agrees (a single process runs it plainly).
    const auto agreed = [&](auto&& f) {
        if (!distributed) return f();
        all_or_none(*comm, f);
    };
    const std::vector<FlagSpec> specs = train_flags();
    const Args args("train", argv, specs);
    if (args.has("help")) {
        out.printf("usage: descent train [flags]\n\nTrains a linear model y = X w (+ intercept) "
                    "with MSE loss, or a logistic or softmax regression (--model), full batch "
                    "or in mini-batches.\n\n%s",
                    describe_flags(specs).c_str());
        return 0;
    }
    const optim::OptimizerConfig config = optimizer_config(args, "gd");
    // Validates names and values: a bad one is a usage error (exit 2), as a bad flag is.
    const auto hyper =
        usage_on_error("", [&] { return optim::effective_hyperparameters(config); });
    const long long epochs = args.integer("epochs").value_or(50);
    if (epochs < 1) throw UsageError("--epochs must be >= 1, got " + std::to_string(epochs));
    const long long seed = args.integer("seed").value_or(0);
    if (seed < 0 || seed > 4294967295LL)
        throw UsageError("--seed must be in [0, 2^32 - 1], got " + std::to_string(seed));
    const DType dtype = usage_on_error("--dtype: ", [&] { return parse_dtype(args.text("dtype", "f64")); });
    const ModelSpec model_spec =
        parse_model_spec(args.text("model", "linear"), args.text("loss", ""));
    const std::string model_name = model_spec.text;
    const bool net = model_spec.net;
    const bool classifier = model_spec.classifier();
    const Loss loss_kind = model_spec.loss;
    const bool softmax = loss_kind == Loss::cross_entropy;  // k outputs
    const long long classes_flag = args.integer("classes").value_or(0);
    if (args.has("classes") && (!softmax || classes_flag < 2))
        throw UsageError(!softmax ? "--classes applies to --model softmax and --loss ce only"
                                                 : "--classes must be >= 2, got " +
                                                       std::to_string(classes_flag));
    if ((classifier || net) && args.has("stream-chunk"))
        throw UsageError("--stream-chunk streams linear regression only; drop it for --model " +
                         model_name);
    if (net) {
        // A net's parameters are several tensors and its loss is not convex: the first-order
        // optimizers and L-BFGS train it (as torch.optim's do).
        if (config.name == "newton" || config.name == "newton-cg")
            throw UsageError("--model " + model_name + ": " + config.name + " needs one weight "
                             "vector; a net trains with gd, momentum, adagrad, rmsprop, adam, "
                             "adamw or lbfgs");
        for (const char* flag : {"init", "no-intercept", "ones-column", "cuda-graph"})
            if (args.has(flag))
                throw UsageError(std::string("--") + flag + ": not for --model " + model_name +
                                 " (a net starts from torch.nn's init seeded by --seed, its "
                                 "layers have biases, and its steps are not captured)");
        if (distributed)
            throw UsageError("--dist: a net trains on one process (data-parallel runs need a "
                             "model's fused pass: --model linear, logistic or softmax)");
    }
    if (model_name == "softmax" && config.name == "newton")
        throw UsageError("--model softmax: newton steps a vector of weights, the softmax weights "
                         "are a (d, k) matrix; use newton-cg, lbfgs or a first-order optimizer");
    const std::string data_spec = args.text("data", "blog");
    const bool json = args.has("json");
    // A distributed run trains on the cpu unless --device cuda asks for GPUs: then each
    // process takes the GPU of its index on its host (one process per GPU).
    const std::string device_flag = args.text("device", "auto");
    if (distributed && device_flag != "auto" && device_flag != "cpu" && device_flag != "cuda")
        throw UsageError("--dist: --device " + detail::shown_field(device_flag) +
                         ": each process takes the GPU of its index on its host; pass --device "
                         "cuda (or cpu)");
    DeviceChoice choice{Device::cpu(), ""};
    if (distributed && device_flag == "cuda") {
        agreed([&] {
            const int local = gpu_rank(*comm);  // a collective: before anything can throw
            choice = resolve_device("cuda");
            const int gpus = device_count();
            if (local >= gpus)
                throw Error("--device cuda: process " + std::to_string(rank) + " is process " +
                            std::to_string(local + 1) + " of its host to see its " +
                            std::to_string(gpus) + " GPU(s): start at most one process per GPU");
            choice.device = Device::cuda(local);
        });
    } else {
        choice = resolve_device(distributed && device_flag == "auto" ? "cpu" : device_flag);
    }
    const Device device = choice.device;
    const std::string ones_flag = args.text("ones-column", "auto");
    if (ones_flag != "auto" && ones_flag != "stored" && ones_flag != "implicit")
        throw UsageError("--ones-column must be auto, stored or implicit, got '" +
                         detail::shown_field(ones_flag) + "'");
    if (args.has("ones-column") && !data_is_file(data_spec))
        throw UsageError("--ones-column applies to a data file (FILE.csv, FILE.npy); --data " +
                         detail::shown_path(data_spec) + " is generated with its ones column");
    if (args.has("ones-column") && args.has("no-intercept"))
        throw UsageError("--ones-column: with --no-intercept there is no ones column");
    if (ones_flag == "implicit" && !device.is_cpu())
        throw UsageError("--ones-column implicit: the fused kernels on " + device.str() +
                         " read a stored ones column; use --device cpu or drop the flag");
    // --cuda-graph where nothing would be captured is a mistake worth saying, not a no-op.
    const bool cuda_graph = args.has("cuda-graph");
    if (cuda_graph && !device.is_cuda())
        throw UsageError("--cuda-graph needs a CUDA device; this run trains on " + device.str() +
                         (args.text("device", "auto") == "auto" ? " (--device auto found no GPU)"
                                                                : ""));
    if (cuda_graph && config.name == "newton")
        throw UsageError("--cuda-graph: newton's steps are not captured (each reads the "
                         "Cholesky status back to the host); drop --cuda-graph");
    if (cuda_graph && distributed)
        throw UsageError("--cuda-graph: a distributed run's passes exchange their sums through "
                         "the host every step, which a graph cannot hold; drop --cuda-graph");
    // --lr-schedule: torch's scheduler over --lr (or the preset's), stepped per epoch or batch.
    std::optional<optim::LrScheduler> scheduler;
    const std::string schedule_per = args.text("lr-schedule-per", "epoch");
    if (schedule_per != "epoch" && schedule_per != "batch")
        throw UsageError("--lr-schedule-per must be epoch or batch, got '" +
                         detail::shown_field(schedule_per) + "'");
    if (args.has("lr-schedule-per") && !args.has("lr-schedule"))
        throw UsageError("--lr-schedule-per needs --lr-schedule SPEC");
    std::string schedule_text;
    if (args.has("lr-schedule")) {
        const optim::LrScheduleSpec spec = usage_on_error(
            "--lr-schedule: ", [&] { return optim::parse_lr_schedule(args.text("lr-schedule", "")); });
        schedule_text = optim::lr_schedule_str(spec);
        if (config.name == "newton-cg")
            throw UsageError("--lr-schedule: newton-cg has no learning rate (scipy's Newton-CG "
                             "takes full Newton steps with a line search)");
        if (cuda_graph)
            throw UsageError("--lr-schedule: a captured CUDA graph holds the rate fixed; drop "
                             "--cuda-graph or --lr-schedule");
        double base_lr = 0.0;
        for (const auto& [k, v] : hyper)
            if (k == "lr") base_lr = v;
        scheduler.emplace(spec, base_lr);
    }
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
    const long long batch_size = args.integer("batch-size").value_or(0);
    if (args.has("batch-size") && batch_size < 1)
        throw UsageError("--batch-size must be >= 1, got " + std::to_string(batch_size));
    if (args.has("shuffle") && !args.has("batch-size"))
        throw UsageError("--shuffle needs --batch-size (a full batch has no order)");
    if (distributed && chunked && !device.is_cpu())
        throw UsageError("--dist: --stream-chunk streams generated data on CPU processes; GPU "
                         "processes hold their rows (drop --stream-chunk)");
    if (distributed && chunked && (data_is_file(data_spec) || data_spec == "blog"))
        throw UsageError("--dist: --stream-chunk streams generated data across processes; a "
                         "file's rows are held in memory by the process that owns them (drop "
                         "--stream-chunk)");
    const std::string divergence = args.text("on-divergence", "stop");
    if (divergence != "stop" && divergence != "warn")
        throw UsageError("--on-divergence must be stop or warn, got '" +
                         detail::shown_field(divergence) + "'");
    const long long checkpoint_every = args.integer("checkpoint-every").value_or(0);
    if (args.has("checkpoint-every") && checkpoint_every < 1)
        throw UsageError("--checkpoint-every must be >= 1, got " + std::to_string(checkpoint_every));
    const double checkpoint_seconds = args.number("checkpoint-seconds").value_or(0.0);
    if (args.has("checkpoint-seconds") && !(checkpoint_seconds > 0.0))
        throw UsageError("--checkpoint-seconds must be > 0, got " + format_number(checkpoint_seconds));
    for (const char* flag : {"checkpoint-every", "checkpoint-seconds"})
        if (args.has(flag) && !args.has("checkpoint"))
            throw UsageError(std::string("--") + flag + " needs --checkpoint FILE");
    // One run per checkpoint, from before the resume is read until the last write. Only
    // process 0 writes (and checks where it writes); every process reads the inputs.
    // Validation and early stopping: what they need, before any work.
    const bool validating = args.has("val-fraction") || args.has("val-data");
    if (args.has("val-fraction") && args.has("val-data"))
        throw UsageError("--val-fraction and --val-data: give one");
    const double val_fraction = args.number("val-fraction").value_or(0.0);
    if (args.has("val-fraction") && !(val_fraction > 0.0 && val_fraction < 1.0))
        throw UsageError("--val-fraction must be in (0, 1), got " + format_number(val_fraction));
    if (args.has("val-data") && !data_is_file(args.text("val-data", "")))
        throw UsageError("--val-data must be a .csv or .npy file, got '" +
                         detail::shown_path(args.text("val-data", "")) + "'");
    const long long patience = args.integer("early-stopping").value_or(0);
    if (args.has("early-stopping") && patience < 1)
        throw UsageError("--early-stopping must be >= 1 (epochs without improvement), got " +
                         std::to_string(patience));
    if (args.has("early-stopping") && !validating)
        throw UsageError("--early-stopping watches the validation loss: add --val-fraction F or "
                         "--val-data FILE");
    const double min_delta = args.number("min-delta").value_or(0.0);
    if (args.has("min-delta") && !args.has("early-stopping"))
        throw UsageError("--min-delta needs --early-stopping PATIENCE");
    if (!(min_delta >= 0.0)) throw UsageError("--min-delta must be >= 0, got " + format_number(min_delta));
    if (validating && chunked)
        throw UsageError("--val-fraction/--val-data: streamed data (--stream-chunk) is not held, "
                         "so no rows can be held out of it; drop --stream-chunk");
    if (validating && distributed)
        throw UsageError("--val-fraction/--val-data: a distributed run's processes each hold "
                         "their shard; validation runs on one process for now (--dist none)");
    if (validating && cuda_graph)
        throw UsageError("--val-fraction/--val-data: validation runs between epochs, which "
                         "--cuda-graph launches as one block; drop --cuda-graph");
    if (args.has("plot"))
        agreed([&] {
            if (rank == 0)
                detail::check_output_directory("--plot", args.text("plot", ""),
                                               {"loss.png", "trajectory.png"});
        });
    std::optional<detail::FileLock> lock;
    agreed([&] {
        if (rank != 0) return;
        check_files(args, data_spec);
        if (args.has("checkpoint")) lock.emplace("--checkpoint", args.text("checkpoint", ""));
    });

    // How a data file is read: its delimiter and the columns chosen (--target, --features,
    // --drop), the same for --val-data.
    LoadOptions load_options;
    {
        const auto list = [&](const char* flag) {
            std::vector<std::string> items;
            if (!args.has(flag)) return items;
            const std::string text = args.text(flag, "");
            for (std::size_t at = 0;;) {
                const std::size_t comma = text.find(',', at);
                items.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
                if (items.back().empty())
                    throw UsageError(std::string("--") + flag + ": an empty column name in '" +
                                     detail::shown_field(text) + "'");
                if (comma == std::string::npos) break;
                at = comma + 1;
            }
            return items;
        };
        load_options.columns.target = args.text("target", "");
        if (args.has("target") && load_options.columns.target.empty())
            throw UsageError("--target: give a column name or index");
        load_options.columns.features = list("features");
        load_options.columns.drop = list("drop");
        if (args.has("features") && args.has("drop"))
            throw UsageError("--features and --drop: give one (--features lists what is kept)");
        const std::string delimiter = args.text("delimiter", ",");
        if (delimiter == "tab" || delimiter == "\\t" || delimiter == "\t") load_options.delimiter = '\t';
        else if (delimiter.size() == 1 && delimiter != "\"" && delimiter != "\n" &&
                 delimiter != "." && delimiter != "-" && delimiter != "+" &&
                 !(delimiter[0] >= '0' && delimiter[0] <= '9') && delimiter[0] != 'e' && delimiter[0] != 'E')
            load_options.delimiter = delimiter[0];
        else
            throw UsageError("--delimiter must be one character that is not part of a number "
                             "(, ; | or tab), got '" + detail::shown_field(delimiter) + "'");
        for (const char* flag : {"target", "features", "drop", "delimiter"})
            if (args.has(flag) && !data_is_file(data_spec))
                throw UsageError(std::string("--") + flag + " applies to a data file (FILE.csv, "
                                 "FILE.npy, - for CSV on stdin); --data " +
                                 detail::shown_path(data_spec) + " is generated");
        if (args.has("delimiter") && data_spec != "-" && data_spec.size() >= 4 &&
            (data_spec.compare(data_spec.size() - 4, 4, ".npy") == 0 ||
             data_spec.compare(data_spec.size() - 4, 4, ".NPY") == 0))
            throw UsageError("--delimiter applies to CSV; --data " + detail::shown_path(data_spec) +
                             " is NPY");
    }
    const bool synthetic = !data_is_file(data_spec) && data_spec != "blog";
    // A generated data set's spec is a flag value: a bad one is a usage error.
    if (synthetic)
        usage_on_error("--data: ", [&] {
            if (data_spec.rfind("synthetic-", 0) == 0) parse_synthetic_classes_spec(data_spec);
            else parse_synthetic_spec(data_spec);
        });
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
        // On the cpu a file's intercept may stay implicit (X holds the file's features, not a
        // ones column more: a 2-column file would take 1.5x its size). A CUDA device stores
        // the column its fused kernels read: appended there (automatic), or, for data
        // streamed from the host, in the host table.
        const OnesColumn ones = ones_flag == "stored"                    ? OnesColumn::stored
                                : ones_flag == "implicit"                ? OnesColumn::implicit
                                : host_streamed && !device.is_cpu()      ? OnesColumn::stored
                                                                         : OnesColumn::automatic;
        // Each process of a distributed run loads only its rows (data.rows).
        agreed([&] {
            data = during("loading --data " + detail::shown_path(data_spec), [&] {
                return reading("--data", data_spec, [&] {
                    LoadOptions o = load_options;
                    o.intercept = !args.has("no-intercept") && !net;
                    o.dtype = dtype;
                    o.device = host_streamed ? Device::cpu() : device;
                    o.ones = ones;
                    return load_dataset_shard(data_spec, rank, processes, o);
                });
            });
        });
        host.X = data.X;
        host.y = data.y;
        host.chunk_rows = stream_chunk;
        host.fit_intercept = implicit_intercept(data);
    }
    // Classifiers: labels 0/1 (logistic) or 0..k-1 (softmax), checked before any training.
    if (classifier)
        agreed([&] {
            during("checking the labels of --data", [&] {
                return check_class_labels(data, loss_kind == Loss::bce_with_logits ? 2 : classes_flag,
                                          "--data " + detail::shown_path(data.source));
            });
        });
    // Softmax without --classes: the classes of the whole data set, the largest label of any
    // process (each checked its rows against its own largest).
    if (distributed && softmax && classes_flag == 0) {
        std::int64_t classes = 0;
        for (const std::string& k : comm->allgather(std::to_string(data.classes)))
            classes = std::max<std::int64_t>(classes, std::stoll(k));
        data.classes = classes;
    }
    // Validation rows: held out of --data (seeded), or --val-data loaded as --data was.
    std::optional<Dataset> val;
    std::string val_source;
    if (args.has("val-fraction")) {
        ValidationSplit split = during("holding out --val-fraction", [&] {
            return usage_on_error("--val-fraction: ", [&] {
                return split_validation(data, val_fraction, static_cast<std::uint64_t>(seed));
            });
        });
        data = std::move(split.train);
        val = std::move(split.validation);
        host.X = data.X;
        host.y = data.y;
        val_source = "fraction " + format_number(val_fraction) + " of --data, seed " +
                     std::to_string(seed);
    } else if (args.has("val-data")) {
        const std::string path = args.text("val-data", "");
        val = during("loading --val-data " + detail::shown_path(path), [&] {
            return reading("--val-data", path, [&] {
                LoadOptions o = load_options;
                o.intercept = data.intercept;
                o.dtype = dtype;
                o.device = device;
                o.ones = implicit_intercept(data) ? OnesColumn::implicit : OnesColumn::stored;
                return load_dataset(path, o);
            });
        });
        if (val->X.shape()[1] != data.X.shape()[1])
            throw Error("--val-data " + detail::shown_path(path) + " has " +
                        std::to_string(val->X.shape()[1] - (implicit_intercept(*val) ? 0 : data.intercept ? 1 : 0)) +
                        " feature column(s), --data has " +
                        std::to_string(data.X.shape()[1] - (implicit_intercept(data) ? 0 : data.intercept ? 1 : 0)));
        if (classifier)
            during("checking the labels of --val-data", [&] {
                return check_class_labels(*val, loss_kind == Loss::bce_with_logits ? 2 : data.classes,
                                          "--val-data " + detail::shown_path(path));
            });
        val_source = "--val-data " + detail::shown_path(path);
    }
    // A constant feature column of a file is named (with an intercept or a net's biases it
    // adds only a multiple of them: Newton's Hessian is singular); --standardize says it too.
    if (data_is_file(data_spec) && !args.has("standardize") && (data.intercept || net) &&
        !distributed && data.X.shape()[0] > 1) {
        const std::int64_t features =
            data.X.shape()[1] - (data.intercept && !implicit_intercept(data) ? 1 : 0);
        NoGrad off;
        // By row chunks: a reduction over a column view would copy X whole.
        std::vector<double> hi(static_cast<std::size_t>(features), -INFINITY),
            lo(static_cast<std::size_t>(features), INFINITY);
        const std::int64_t rows = data.X.shape()[0];
        const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t(1) << 18) / features);
        for (std::int64_t r = 0; r < rows; r += chunk) {
            const Tensor part = data.X.narrow(0, r, std::min(chunk, rows - r)).narrow(1, 0, features);
            const std::vector<double> h = max(part, 0).to_vector<double>(), l = min(part, 0).to_vector<double>();
            for (std::size_t j = 0; j < h.size(); ++j) {
                hi[j] = std::max(hi[j], h[j]);
                lo[j] = std::min(lo[j], l[j]);
            }
        }
        std::string which;
        std::size_t count = 0;
        for (std::size_t j = 0; j < hi.size(); ++j)
            if (hi[j] == lo[j]) {
                ++count;
                which += (which.empty() ? "" : ", ") +
                         (j < data.column_names.size() ? "'" + detail::shown_field(data.column_names[j]) + "' (" +
                                                              std::to_string(j) + ")"
                                                        : std::to_string(j));
            }
        if (count > 0 && rank == 0)
            std::fprintf(stderr, "descent: warning: --data %s: constant feature column%s %s (counting "
                                 "from 0): %s adds nothing the intercept does not%s\n",
                         detail::shown_path(data_spec).c_str(), count > 1 ? "s" : "", which.c_str(),
                         count > 1 ? "each" : "it",
                         config.name == "newton" ? ", and makes newton's Hessian singular (--drop it)"
                                                 : " (--drop it)");
    }
    // --standardize: the features (not a stored ones column) scaled in place, the moments over
    // every process's rows (a collective).
    std::optional<Standardization> scaling;
    if (args.has("standardize")) {
        if (streamed)
            throw UsageError("--standardize: generated data streamed chunk by chunk is never "
                             "held to be scaled (its features are uniform in [-1, 1) already); "
                             "drop --stream-chunk or --standardize");
        const std::int64_t features =
            data.X.shape()[1] - (data.intercept && !implicit_intercept(data) ? 1 : 0);
        agreed([&] {
            during("standardizing --data", [&] {
                scaling = fit_standardization(data.X, features, data.intercept || net, comm.get());
                standardize_(data.X, *scaling);
                if (val) standardize_(val->X, *scaling);  // the training rows' scaling
            });
        });
        if (!scaling->constant.empty() && rank == 0) {
            std::string which;
            for (std::int64_t j : scaling->constant)
                which += (which.empty() ? "" : ", ") +
                         (static_cast<std::int64_t>(data.column_names.size()) > j
                              ? "'" + detail::shown_field(data.column_names[j]) + "' (" +
                                    std::to_string(j) + ")"
                              : std::to_string(j));
            std::fprintf(stderr, "descent: warning: --standardize: constant feature column%s %s "
                                 "(counting from 0) kept unscaled (standard deviation 0)\n",
                         scaling->constant.size() > 1 ? "s" : "", which.c_str());
        }
    }
    const std::int64_t outputs = softmax ? data.classes : 1;
    const std::int64_t n = streamed ? stream.spec.n : distributed ? data.rows.total : data.X.shape()[0];
    const std::int64_t d = streamed ? static_cast<std::int64_t>(data.true_weights.size())
                                    : weight_rows(data);
    const bool fit_intercept = !streamed && implicit_intercept(data);
    // A net: torch.nn's init, seeded; its parameters flattened are its "weights" (trace,
    // checkpoints, --json).
    std::optional<nn::Sequential> the_net;
    if (net) {
        std::vector<std::int64_t> sizes = {d};
        sizes.insert(sizes.end(), model_spec.hidden.begin(), model_spec.hidden.end());
        sizes.push_back(outputs);
        the_net.emplace(nn::mlp(sizes, model_spec.activation, static_cast<std::uint32_t>(seed),
                                dtype, device));
    }
    std::vector<double> init;
    if (net) {
        for (const Tensor& p : the_net->parameters()) {
            const std::vector<double> v = p.to_vector<double>();
            init.insert(init.end(), v.begin(), v.end());
        }
    } else {
        init = usage_on_error("", [&] {
            return initial_weights(args.text("init", data.source == "blog" ? "blog" : "zeros"),
                                   d * outputs, data, static_cast<std::uint32_t>(seed));
        });
    }

    if (cuda_graph && batch_size > 0 && batch_size < n)
        throw UsageError("--cuda-graph captures full-batch training only; drop --batch-size " +
                         std::to_string(batch_size) + " (< " + std::to_string(n) + " rows)");
    if ((config.name == "newton" || config.name == "newton-cg" || config.name == "lbfgs") &&
        batch_size > 0 && batch_size < n)
        throw UsageError("--batch-size: " + config.name + " takes full-batch steps only (--batch-size " +
                         std::to_string(batch_size) + " < " + std::to_string(n) +
                         " rows)");

    // Everything a resumed run must share with the run that wrote the checkpoint: anything
    // else would not continue bit for bit (the chunking changes the order of the sums).
    std::map<std::string, std::string> run;
    if (args.has("checkpoint") || args.has("resume")) {
        std::string hyper_text;
        for (const auto& [k, v] : hyper) hyper_text += k + "=" + format_number(v) + ";";
        run = {{"tool", "descent train"},
               {"data", streamed ? generated_data_identity(data.source, n, d, data.intercept)
                                 : during("hashing --data",
                                          [&] { return data_identity(data, comm.get()); })},
               {"dtype", dtype_name(dtype)},
               {"optimizer", config.name},
               {"preset", optim::preset_name(config.preset)},
               {"hyperparameters", hyper_text},
               {"batch_size", std::to_string(batch_size)},
               {"shuffle", args.has("shuffle") ? "yes (seed " + std::to_string(seed) + ")" : "no"},
               {"stream_chunk", chunked ? std::to_string(stream_chunk) : "none"},
               {"initial_weights", weights_text(init)}};
        if (classifier) run["model"] = model_name;  // linear runs keep their former identity
        if (scaling) run["standardize"] = "yes";
        if (scheduler) run["lr_schedule"] = schedule_text + " per " + schedule_per;
        if (val)
            run["validation"] = val_source + ", " + during("hashing the validation rows", [&] {
                                    return data_identity(*val, nullptr);
                                });
        if (args.has("early-stopping"))
            run["early_stopping"] = "patience " + std::to_string(patience) + ", min_delta " +
                                    format_number(min_delta);
        if (net) run["model"] = model_name + ", loss " + loss_name(loss_kind);
    }

    const Shape weight_shape = softmax ? Shape{d, outputs} : Shape{d};
    // A linear model's one weight (unused by a net, whose parameters are its own).
    Tensor w = from_vector(net ? std::vector<double>(static_cast<std::size_t>(d * outputs), 0.0)
                               : init,
                           weight_shape, dtype, device)
                   .requires_grad_();
    const LinearModel linear_model(w, fit_intercept);
    const Model& model = net ? static_cast<const Model&>(*the_net) : linear_model;
    // The optimizer checks its hyperparameters' values (lr > 0, betas in [0, 1), ...).
    auto optimizer =
        usage_on_error("", [&] { return optim::make_optimizer(config, model.parameters()); });
    // Validation losses (index 0: at the initial weights, then after each epoch) and early
    // stopping's state (Lightning's EarlyStopping: mode min, patience, min_delta), kept in
    // checkpoints so a resumed run continues them bitwise.
    ValidationTrace val_trace;
    val_trace.metric_names = classifier ? std::vector<std::string>{"accuracy"}
                                        : std::vector<std::string>{"rmse", "mae", "r2"};
    // The validation loss and metrics at the current weights, appended to val_trace.
    const auto validate = [&] {
        NoGrad off;
        val_trace.losses.push_back(model_loss(model, loss_kind, val->X, val->y));
        if (classifier)
            val_trace.metrics.push_back({classification_metrics(
                model, val->X, val->y, loss_kind == Loss::bce_with_logits ? 2 : data.classes).accuracy});
        else {
            const RegressionMetrics m = regression_metrics(model, val->X, val->y);
            val_trace.metrics.push_back({m.rmse, m.mae, m.r2});
        }
        return val_trace.losses.back();
    };
    struct EarlyStopping {
        double best = INFINITY;
        std::int64_t best_epoch = -1, wait = 0, stopped_epoch = -1;
        std::vector<double> best_weights;  // the parameters flattened, in order
        std::string why;                   // why it stopped
    } early;
    const auto flat_params = [&] {
        std::vector<double> flat;
        for (const Tensor& p : model.parameters()) {
            const std::vector<double> v = p.detach().to_vector<double>();
            flat.insert(flat.end(), v.begin(), v.end());
        }
        return flat;
    };
    TrainResult resumed;
    if (args.has("resume")) agreed([&] {
        const std::string path = args.text("resume", "");
        const Checkpoint c = during("reading --resume " + detail::shown_path(path), [&] {
            return reading("--resume", path, [&] { return load_checkpoint(path); });
        });
        check_same_run(path, c.meta, run);
        // Linear runs carry no model key (their checkpoints predate it): a classifier's
        // checkpoint must not resume as linear regression.
        if (!classifier && !net && c.meta.count("model"))
            throw Error("--resume " + detail::shown_path(path) + ": the checkpoint was written "
                        "with --model " + c.meta.at("model") + "; this run is --model linear");
        if (c.epoch != static_cast<std::int64_t>(c.losses.size()))
            throw Error(detail::shown_path(path) + ": corrupt checkpoint: epoch " +
                        std::to_string(c.epoch) + " but " + std::to_string(c.losses.size()) +
                        " losses");
        if (c.epoch > epochs)
            throw UsageError("--epochs " + std::to_string(epochs) + ": the checkpoint " +
                             detail::shown_path(path) + " has already done " +
                             std::to_string(c.epoch) + " epochs");
        if (args.has("trace") && static_cast<std::int64_t>(c.weights.size()) != c.epoch)
            throw UsageError("--trace: the checkpoint " + detail::shown_path(path) +
                             " holds no trajectory; give --trace to the run that writes the "
                             "checkpoint as well");
        restore_checkpoint(c, *optimizer);
        resumed.losses = c.losses;
        if (val) {
            const auto corrupt = [&](const std::string& what) {
                return Error(detail::shown_path(path) + ": corrupt checkpoint: " + what);
            };
            if (!c.meta.count("val_losses")) throw corrupt("no validation losses");
            val_trace.losses = parse_hex_doubles(c.meta.at("val_losses"));
            if (static_cast<std::int64_t>(val_trace.losses.size()) != c.epoch + 1)
                throw corrupt(std::to_string(val_trace.losses.size()) + " validation losses for " +
                              std::to_string(c.epoch) + " epochs");
            const std::size_t width = val_trace.metric_names.size();
            const std::vector<double> flat = c.meta.count("val_metrics")
                                                 ? parse_hex_doubles(c.meta.at("val_metrics"))
                                                 : std::vector<double>{};
            if (flat.size() != val_trace.losses.size() * width)
                throw corrupt(std::to_string(flat.size()) + " validation metrics for " +
                              std::to_string(c.epoch) + " epochs");
            for (std::size_t i = 0; i < flat.size(); i += width)
                val_trace.metrics.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i),
                                               flat.begin() + static_cast<std::ptrdiff_t>(i + width));
            if (args.has("early-stopping")) {
                const std::vector<double> state =
                    c.meta.count("early_stopping_state") ? parse_hex_doubles(c.meta.at("early_stopping_state"))
                                                         : std::vector<double>{};
                if (state.size() != 4 || !c.meta.count("early_stopping_best_weights"))
                    throw corrupt("no early stopping state");
                early.best = state[0];
                early.best_epoch = static_cast<std::int64_t>(state[1]);
                early.wait = static_cast<std::int64_t>(state[2]);
                early.stopped_epoch = static_cast<std::int64_t>(state[3]);
                early.best_weights = parse_hex_doubles(c.meta.at("early_stopping_best_weights"));
                std::int64_t count = 0;
                for (const Tensor& p : model.parameters()) count += p.numel();
                if (early.best_epoch >= c.epoch || early.best_epoch < -1 ||
                    (early.best_epoch < 0 ? !early.best_weights.empty()
                                          : static_cast<std::int64_t>(early.best_weights.size()) != count))
                    throw corrupt("early stopping's best weights do not fit the model");
                if (early.stopped_epoch >= 0) early.why = c.meta.count("early_stopping_why") ? c.meta.at("early_stopping_why") : "";
            }
        }
        if (args.has("trace")) resumed.weights = c.weights;
    });

    Progress progress(config.name, epochs, n, !args.has("quiet") && rank == 0);
    TrainOptions options;
    options.epochs = epochs;
    // --plot draws the path of a linear MSE model of two weights over its loss surface.
    const bool plot_path = args.has("plot") && !net && !classifier && !streamed && !distributed &&
                           d * outputs == 2;
    options.record_weights = args.has("trace") || plot_path;
    options.on_epoch = [&](std::int64_t e, double loss) { progress.update(e, loss); };
    options.batch_size = batch_size;
    options.shuffle = args.has("shuffle");
    options.shuffle_seed = static_cast<std::uint64_t>(seed);
    options.cuda_graph = cuda_graph;
    if (divergence == "warn") {
        options.on_divergence = OnDivergence::warn;
        options.on_warning = [&](const std::string& message) {
            if (rank != 0) return;
            progress.finish();  // end a live bar's line first
            std::fprintf(stderr, "descent: warning: %s\n", message.c_str());
        };
    }
    if (args.has("resume")) options.resume = &resumed;
    if (val) {
        if (val_trace.losses.empty()) during("validating", validate);
        // A run that stopped early is over: resumed, it trains no further.
        if (early.stopped_epoch >= 0) options.epochs = static_cast<std::int64_t>(resumed.losses.size());
        options.after_epoch = [&](std::int64_t e) {
            const double v = validate();
            if (!args.has("early-stopping")) return false;
            if (!std::isfinite(v)) {
                early.stopped_epoch = e;
                early.why = "the validation loss is " + format_number(v);
                return true;
            }
            if (v < early.best - min_delta) {  // Lightning: current - (-min_delta) < best
                early.best = v;
                early.best_epoch = e;
                early.wait = 0;
                early.best_weights = flat_params();
            } else if (++early.wait >= patience) {
                early.stopped_epoch = e;
                early.why = "no improvement" + (min_delta > 0 ? " by more than " + format_number(min_delta) : "") +
                            " for " + std::to_string(patience) + " epoch" + (patience > 1 ? "s" : "");
                return true;
            }
            return false;
        };
    }
    if (scheduler) {
        options.lr_at = [&scheduler](std::int64_t k) { return scheduler->lr_at(k); };
        options.lr_per_batch = schedule_per == "batch";
    }
    if (args.has("checkpoint")) {
        const std::string path = args.text("checkpoint", "");
        // By time unless a count is asked for: every epoch of a 5000-epoch blog run would
        // cost 17x the training; 5 s (and 20x a checkpoint's own cost) keeps it near 0.
        options.checkpoint_every = checkpoint_every;
        options.checkpoint_seconds = args.has("checkpoint-seconds") ? checkpoint_seconds
                                     : args.has("checkpoint-every") ? 0.0
                                                                    : 5.0;
        options.on_checkpoint = [&, path](const TrainResult& so_far) {
            if (rank != 0) return;  // the processes hold the same state: one writes it
            std::map<std::string, std::string> meta = run;
            if (val) {
                meta["val_losses"] = hex_doubles(val_trace.losses);
                std::vector<double> flat;
                for (const auto& row : val_trace.metrics) flat.insert(flat.end(), row.begin(), row.end());
                meta["val_metrics"] = hex_doubles(flat);
            }
            if (args.has("early-stopping")) {
                meta["early_stopping_state"] =
                    hex_doubles({early.best, double(early.best_epoch), double(early.wait),
                                 double(early.stopped_epoch)});
                meta["early_stopping_best_weights"] = hex_doubles(early.best_weights);
                if (early.stopped_epoch >= 0) meta["early_stopping_why"] = early.why;
            }
            save_checkpoint(path, make_checkpoint(*optimizer,
                                                  static_cast<std::int64_t>(so_far.losses.size()),
                                                  so_far.losses, so_far.weights, meta));
        };
    }
    // While training, a first SIGINT/SIGTERM stops after the epoch in progress.
    std::optional<StopRequest> interrupt(std::in_place);
    options.stop_requested = [&interrupt] { return interrupt->signal() != 0; };
    if (distributed) options.parallel = {comm.get(), data.rows};
    const TrainResult result = during("training", [&] {
        // A distributed run's error in training: every process's (then process 0 reports it),
        // or one process's, which then reports it and ends the job (train's own handling).
        return streamed        ? train_linear_streamed(stream, *optimizer, options)
               : host_streamed ? train_linear_streamed(host, *optimizer, options)
               : classifier || net ? train(model, loss_kind, data.X, data.y, *optimizer, options)
                               : train_linear(data.X, data.y, *optimizer, options, fit_intercept);
    });
    progress.finish();
    const int sig = interrupt->signal();
    interrupt.reset();  // a signal from here on ends the run at once, leaving no partial file
    // Early stopping ends the run at the best epoch's weights (its checkpoint, above, holds
    // the state at the stop, so a resume ends here too).
    const bool stopped_early = early.stopped_epoch >= 0;
    if (stopped_early || (args.has("early-stopping") && !early.best_weights.empty())) {
        NoGrad off;
        std::size_t at = 0;
        for (const Tensor& p : model.parameters()) {
            const auto count = static_cast<std::size_t>(p.numel());
            if (early.best_weights.size() < at + count) break;
            const std::vector<double> part(early.best_weights.begin() + static_cast<std::ptrdiff_t>(at),
                                           early.best_weights.begin() + static_cast<std::ptrdiff_t>(at + count));
            Tensor target = p.detach();
            target.copy_(from_vector(part, p.shape(), p.dtype(), p.device()));
            at += count;
        }
    }
    if (result.stopped && !stopped_early) {
        const auto done = static_cast<long long>(result.losses.size());
        if (rank != 0) {
        } else if (args.has("checkpoint")) {
            const std::string path = detail::shown_path(args.text("checkpoint", ""));
            std::fprintf(stderr, "descent: interrupted at epoch %lld; checkpoint saved to %s; "
                                 "resume with --resume %s\n", done, path.c_str(), path.c_str());
        } else {
            std::fprintf(stderr, "descent: interrupted at epoch %lld; nothing saved (no "
                                 "--checkpoint given)\n", done);
        }
        return 128 + (sig != 0 ? sig : 2);
    }

    // A classifier's loss and accuracy at the final weights.
    // The fused pass, as the training took it (over every process's rows when distributed).
    const auto classifier_loss = [&](const Tensor& weights) {
        return model_loss(LinearModel(weights * 1.0, fit_intercept), loss_kind, data.X, data.y,
                          options.parallel);
    };
    // Linear regression's loss: the fused pass, the one the training took.
    const auto linear_loss = [&](const Tensor& weights) {
        if (distributed)
            return model_loss(LinearModel(weights * 1.0, fit_intercept), Loss::mse, data.X, data.y,
                              options.parallel);
        if (!fit_intercept) return linear_mse_value_and_grad(data.X, data.y, weights).loss.item();
        const Tensor l = empty({1}, dtype, device);
        LinearModel(weights * 1.0, true).fused_pass(Loss::mse, data.X, data.y, l, Tensor());
        return l.to_vector<double>()[0];
    };
    const double final_loss = during("computing the final loss", [&] {
        if (net) return model_loss(model, loss_kind, data.X, data.y);
        if (classifier) return classifier_loss(w.detach());
        return streamed        ? linear_mse_streamed(stream, w.detach(), false, comm.get()).loss.item()
               : host_streamed ? linear_mse_streamed(host, w.detach()).loss.item()
                               : linear_loss(w.detach());
    });
    // The loop checks the loss before each update; the last update is checked here, by the
    // same rule (non-finite, or run away from the first epoch's loss).
    const double first_loss = result.losses.empty() ? final_loss : result.losses.front();
    // Lz of the rule (the loss of all-zero weights), a pass made only when it can matter.
    const auto zero_weights_loss = [&]() -> double {
        if (net) {
            std::vector<Tensor> zero;
            for (const Tensor& p : model.parameters()) zero.push_back(zeros(p.shape(), dtype, device));
            return model_loss(*model.with_parameters(zero), loss_kind, data.X, data.y);
        }
        const Tensor w0 = zeros(weight_shape, dtype, device);
        if (classifier) return classifier_loss(w0);
        return streamed        ? linear_mse_streamed(stream, w0, false, comm.get()).loss.item()
               : host_streamed ? linear_mse_streamed(host, w0).loss.item()
                               : linear_loss(w0);
    };
    double zero_loss = 0.0;
    if (std::isfinite(final_loss) && loss_diverged(final_loss, first_loss, dtype))
        zero_loss = during("computing the loss of all-zero weights", zero_weights_loss);
    if (loss_diverged(final_loss, first_loss, dtype, zero_loss)) {
        LinearMseCurvature curvature;  // for the advice; costs a pass, made only now
        try {
            if (!streamed && !classifier && !net)
                curvature = data_curvature(data.X, fit_intercept, options.parallel);
        } catch (const std::exception&) {
            if (distributed) throw;  // a collective pass: the others are in it too
            curvature = LinearMseCurvature{};  // the report goes out without the bound
        }
        const std::string message =
            "training diverged after the last epoch (" + config.name + "): the final loss is " +
            format_significant(final_loss, 6) + ", " +
            loss_divergence_rule(final_loss, first_loss, dtype, zero_loss) + "; " +
            divergence_advice(*optimizer, curvature);
        if (divergence == "stop") throw Error(message);
        if (result.divergence.empty() && rank == 0)
            std::fprintf(stderr, "descent: warning: %s\n", message.c_str());
    }
    // The metrics over every row: a collective, so before anything only process 0 does (a
    // write that fails there must not leave the others waiting in it). Generated data streamed
    // chunk by chunk is not held: its metric is the loss (MSE) alone.
    std::optional<RegressionMetrics> fit_metrics;
    std::optional<ClassificationMetrics> class_metrics;
    during("computing the metrics", [&] {
        NoGrad off;
        if (classifier) {
            class_metrics = classification_metrics(
                model, data.X, data.y, loss_kind == Loss::bce_with_logits ? 2 : data.classes,
                comm.get());
        } else if (host_streamed) {
            const LinearModel on_host(w.detach().to(Device::cpu()), host.fit_intercept);
            fit_metrics = regression_metrics(on_host, host.X, host.y);
        } else if (!streamed) {
            fit_metrics = regression_metrics(model, data.X, data.y, comm.get());
        }
    });
    const double final_accuracy = class_metrics ? class_metrics->accuracy : NAN;
    // The validation rows' loss and metrics at the final weights (the best epoch's when early
    // stopping restored them).
    std::optional<RegressionMetrics> val_fit_metrics;
    std::optional<ClassificationMetrics> val_class_metrics;
    double final_val_loss = NAN;
    if (val)
        during("computing the validation metrics", [&] {
            NoGrad off;
            final_val_loss = model_loss(model, loss_kind, val->X, val->y);
            if (classifier)
                val_class_metrics = classification_metrics(
                    model, val->X, val->y, loss_kind == Loss::bce_with_logits ? 2 : data.classes);
            else
                val_fit_metrics = regression_metrics(model, val->X, val->y);
        });
    if (args.has("save-model"))
        agreed([&] {  // process 0 writes; a failure stops every process
            if (rank != 0) return;
            during("writing --save-model", [&] {
                // A ones column stored last in X is the model's intercept: a prediction's
                // input holds the features only.
                SavedModel saved =
                    saved_model_of(model, loss_kind, !net && data.intercept && !fit_intercept);
                if (static_cast<std::int64_t>(data.column_names.size()) == saved.features + 1) {
                    saved.feature_names.assign(data.column_names.begin(),
                                               data.column_names.end() - 1);
                    saved.target_name = data.column_names.back();
                }
                if (scaling) {
                    saved.feature_mean = scaling->mean;
                    saved.feature_scale = scaling->scale;
                }
                saved.meta = {{"optimizer", config.name},
                              {"data", data.source},
                              {"epochs", std::to_string(epochs)},
                              {"final_loss", format_number(final_loss)}};
                save_model(args.text("save-model", ""), saved);
            });
        });
    // A linear model trained on standardised features is reported in the original units
    // (summary, --json, --trace); a net's parameters are what it holds.
    const auto reported = [&](const std::vector<double>& weights) {
        return scaling && !net
                   ? unstandardize_weights(weights, outputs, data.intercept, *scaling)
                   : weights;
    };
    TrainResult shown = result;
    if (args.has("early-stopping") && !early.best_weights.empty())
        shown.final_weights = flat_params();  // the best epoch's, restored
    if (scaling && !net) {
        for (auto& row : shown.weights) row = reported(row);
        shown.final_weights = reported(shown.final_weights);
    }
    if (args.has("trace"))
        agreed([&] {  // process 0 writes; a failure stops every process
            if (rank != 0) return;
            during("writing --trace", [&] {
                write_file_atomically(args.text("trace", ""), trace_csv(shown, final_loss, val ? &val_trace : nullptr));
            });
        });

    if (args.has("plot") && rank == 0)
        during("plotting", [&] {
            const std::string dir = args.text("plot", "");
            detail::make_output_directory("--plot", dir);
            std::ostringstream l;
            l << "epoch,loss,val_loss\n";
            for (std::size_t e = 0; e < result.losses.size(); ++e)
                l << e << "," << format_number(result.losses[e]) << ","
                  << (val && e + 1 < val_trace.losses.size() ? format_number(val_trace.losses[e + 1]) : "") << "\n";
            detail::ScratchDirectory scratch("--plot", dir, ".descent-plot-");
            std::vector<std::string> plot_args = {"--losses", scratch.write("losses.csv", l.str()),
                                                  "--out", dir, "--title",
                                                  model_name + ", " + config.name + " on " + data.source};
            if (plot_path && !result.weights.empty()) {
                // loss(w) = w'Aw - 2b'w + c: A = X'X/n, b = X'y/n, c = y'y/n over X with its
                // intercept's ones (an implicit one appended), in the units trained in.
                NoGrad off;
                const Tensor Xf = fit_intercept
                                      ? concat({data.X, ones({data.X.shape()[0], 1}, dtype, device)}, 1)
                                      : data.X;
                const double rows = double(Xf.shape()[0]);
                const std::vector<double> A = (matmul(transpose(Xf), Xf) / rows).to_vector<double>();
                const std::vector<double> b = (matmul(data.y, Xf) / rows).to_vector<double>();
                const double c = (sum(square(data.y)) / rows).item();
                std::ostringstream t;
                t << "epoch,w0,w1\n";
                for (std::size_t e = 0; e < result.weights.size(); ++e)
                    t << e << "," << format_number(result.weights[e][0]) << ","
                      << format_number(result.weights[e][1]) << "\n";
                std::string quadratic;
                for (double v : {A[0], A[1], A[3], b[0], b[1], c})
                    quadratic += (quadratic.empty() ? "" : ",") + format_number(v);
                plot_args.insert(plot_args.end(), {"--trajectory", scratch.write("trajectory.csv", t.str()),
                                                   "--quadratic", quadratic});
            }
            run_plot_script("plot_train.py", plot_args);
        });
    // Only now, so that a failed run prints its error line alone.
    // Newton-CG ends its run early when CG or the line search fails: the epochs after that
    // changed nothing, which the user should hear of (convergence is the normal end).
    if (const std::string why = optimizer->stopped_early();
        !why.empty() && !args.has("quiet") && rank == 0)
        std::fprintf(stderr, "descent: %s stopped early: %s; the weights are those of its last "
                             "successful step\n", optimizer->name().c_str(), why.c_str());
    // Where the run went is news only to someone who asked for a GPU (--device auto given); by
    // default a machine without one trains on the cpu silently.
    if (!choice.notice.empty() && args.has("device") && !args.has("quiet") && rank == 0)
        std::fprintf(stderr, "%s\n", choice.notice.c_str());
    const std::vector<double> initial = reported(init);
    if (json) {
        JsonWriter j;
        j.begin_object();
        j.key("descent_version").value(DESCENT_VERSION_STRING);
        j.key("model").value(model_name);
        if (net) {
            j.key("loss").value(loss_name(loss_kind));
            std::vector<std::pair<std::string, double>> sizes;  // name: entries, in order
            for (const auto& [name, p] : the_net->named_parameters())
                sizes.emplace_back(name, static_cast<double>(p.numel()));
            j.key("parameters").object(sizes);
        }
        j.key("optimizer").value(config.name);
        j.key("preset").value(optim::preset_name(config.preset));
        j.key("device").value(device.str());
        j.key("dtype").value(dtype_name(dtype));
        j.key("data").value(data.source);
        if (!data.column_names.empty()) {
            j.key("columns").begin_object();
            j.key("features").begin_array();
            for (std::size_t c = 0; c + 1 < data.column_names.size(); ++c) j.value(data.column_names[c]);
            j.end_array();
            j.key("target").value(data.column_names.back());
            j.end_object();
        }
        j.key("rows").value(static_cast<long long>(n));
        if (distributed) j.key("processes").value(static_cast<long long>(processes));
        j.key("epochs").value(epochs);
        j.key("batch_size").value(static_cast<long long>(batch_size > 0 && batch_size < n ? batch_size : n));
        j.key("hyperparameters").hyperparameters(hyper);
        if (scheduler) {
            j.key("lr_schedule").value(schedule_text);
            j.key("lr_schedule_per").value(schedule_per);
            j.key("final_lr").value(optimizer->lr());
        }
        if (scaling) {
            j.key("standardization").begin_object();
            j.key("mean").value(scaling->mean);
            j.key("scale").value(scaling->scale);
            j.end_object();
        }
        j.key("initial_weights").value(initial);
        j.key("final_weights").value(shown.final_weights);
        j.key("final_loss").value(final_loss);
        j.key("losses").value(result.losses);
        if (fit_metrics || class_metrics) {
            j.key("metrics").begin_object();
            j.key("train");
            if (fit_metrics) metrics_json(j, *fit_metrics);
            else metrics_json(j, *class_metrics);
            if (val_fit_metrics) metrics_json(j.key("validation"), *val_fit_metrics);
            if (val_class_metrics) metrics_json(j.key("validation"), *val_class_metrics);
            j.end_object();
        }
        if (val) {
            j.key("validation").begin_object();
            j.key("source").value(val_source);
            j.key("rows").value(static_cast<long long>(val->X.shape()[0]));
            j.key("initial_loss").value(val_trace.losses.front());
            j.key("final_loss").value(final_val_loss);
            j.end_object();
            j.key("val_losses").value(std::vector<double>(val_trace.losses.begin() + 1, val_trace.losses.end()));
            // Each metric after each epoch, as val_losses.
            j.key("val_metrics").begin_object();
            for (std::size_t m = 0; m < val_trace.metric_names.size(); ++m) {
                std::vector<double> per_epoch;
                for (std::size_t e = 1; e < val_trace.metrics.size(); ++e) per_epoch.push_back(val_trace.metrics[e][m]);
                j.key(val_trace.metric_names[m]).value(per_epoch);
            }
            j.end_object();
        }
        if (args.has("early-stopping")) {
            j.key("early_stopping").begin_object();
            j.key("patience").value(patience);
            j.key("min_delta").value(min_delta);
            j.key("stopped").value(stopped_early);
            if (stopped_early) j.key("stopped_after_epoch").value(static_cast<long long>(early.stopped_epoch));
            j.key("best_epoch").value(static_cast<long long>(early.best_epoch));
            j.key("best_val_loss").value(early.best);
            j.end_object();
        }
        if (args.has("save-model")) j.key("model_file").value(args.text("save-model", ""));
        if (classifier) {
            NoGrad off;
            j.key("classes").value(static_cast<long long>(data.classes));
            j.key("log_loss").value(final_loss);
            j.key("accuracy").value(final_accuracy);
        }
        if (!data.true_weights.empty() && !net) {
            j.key("true_weights").value(data.true_weights);
            j.key("distance_to_true_weights").value(distance(shown.final_weights, data.true_weights));
        }
        j.end_object();
        out.printf("%s\n", j.str().c_str());
        return 0;
    }
    const std::string what = net          ? model_name + " (" + loss_name(loss_kind) + "), "
                             : classifier ? model_name + " regression, "
                                          : "";
    out.printf("descent train: %s%s (%s preset) on %s, %lld x %lld, %s, %s, %lld epochs\n",
                what.c_str(), config.name.c_str(), optim::preset_name(config.preset), data.source.c_str(),
                static_cast<long long>(n), static_cast<long long>(d), dtype_name(dtype),
                device.str().c_str(), epochs);
    if (!data.column_names.empty()) {
        std::string features;
        const std::size_t count = data.column_names.size() - 1;
        for (std::size_t c = 0; c < count && c < kShownWeights; ++c)
            features += (c ? ", " : "") + detail::shown_field(data.column_names[c]);
        if (count > kShownWeights) features += ", ... (" + std::to_string(count) + " columns)";
        out.printf("  columns:          target '%s'; features %s\n",
                   detail::shown_field(data.column_names.back()).c_str(), features.c_str());
    }
    out.printf("  hyperparameters:  ");
    for (const auto& [k, v] : hyper) out.printf("%s=%s ", k.c_str(), hyperparameter_text(k, v).c_str());
    if (scheduler)
        out.printf("\n  lr schedule:      %s per %s (last lr %s)", schedule_text.c_str(),
                   schedule_per.c_str(), format_number(optimizer->lr()).c_str());
    if (net) {
        // A net's weights are many: their shapes here, every value in --json and --trace.
        std::string shapes;
        for (const auto& [name, p] : the_net->named_parameters())
            shapes += (shapes.empty() ? "" : ", ") + name + " " + shape_str(p.shape());
        out.printf("\n  parameters:       %s (%zu values; all in --json and --trace)\n",
                   shapes.c_str(), shown.final_weights.size());
    } else {
        // Long vectors cut here (every value in --json, --trace and the model file).
        out.printf("\n  initial weights:  %s\n", format_vector(initial, 9, kShownWeights).c_str());
        out.printf("  final weights:    %s\n",
                   format_vector(shown.final_weights, 9, kShownWeights).c_str());
    }
    // The loss at the final weights: after the last update, unlike the progress lines' and
    // --json's losses[e], each an epoch's loss before its update.
    out.printf("  final loss:       %s (at the final weights; the last epoch started at %s)\n",
               format_significant(final_loss, 9).c_str(),
               format_significant(result.losses.empty() ? final_loss : result.losses.back(), 9).c_str());
    if (scaling)
        out.printf("  standardized:     %zu features (%s)\n", scaling->mean.size(),
                   net ? "the net sees them scaled; the model file keeps the scaling"
                       : "the weights above are in the original units");
    if (classifier) {
        NoGrad off;
        out.printf("  accuracy:         %s (%lld classes)\n", format_significant(final_accuracy, 6).c_str(),
                   static_cast<long long>(data.classes));
    }
    if (fit_metrics) out.printf("  metrics (train):  %s\n", metrics_text(*fit_metrics).c_str());
    if (class_metrics) out.printf("  metrics (train):  %s\n", metrics_text(*class_metrics).c_str());
    if (val) {
        out.printf("  validation:       %lld rows (%s); loss %s at the final weights\n",
                   static_cast<long long>(val->X.shape()[0]), val_source.c_str(),
                   format_significant(final_val_loss, 9).c_str());
        if (val_fit_metrics) out.printf("  metrics (val):    %s\n", metrics_text(*val_fit_metrics).c_str());
        if (val_class_metrics) out.printf("  metrics (val):    %s\n", metrics_text(*val_class_metrics).c_str());
    }
    if (stopped_early)
        out.printf("  early stopping:   stopped after epoch %lld of %lld (%s); the weights are "
                   "epoch %lld's, validation loss %s\n",
                   static_cast<long long>(early.stopped_epoch + 1), epochs, early.why.c_str(),
                   static_cast<long long>(early.best_epoch + 1), format_significant(early.best, 9).c_str());
    else if (args.has("early-stopping") && early.best_epoch >= 0)
        out.printf("  early stopping:   not triggered; the weights are the best epoch's (%lld), "
                   "validation loss %s\n",
                   static_cast<long long>(early.best_epoch + 1), format_significant(early.best, 9).c_str());
    if (args.has("save-model"))
        out.printf("  model saved to:   %s\n", detail::shown_path(args.text("save-model", "")).c_str());
    if (!data.true_weights.empty() && !net)
        out.printf("  true weights:     %s (distance %s)\n",
                    format_vector(data.true_weights, 9, kShownWeights).c_str(),
                    format_significant(distance(shown.final_weights, data.true_weights), 3).c_str());
    return 0;
}

}  // namespace descent::cli
