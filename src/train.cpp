// The linear trainer on the fused one-pass loss/gradient(/Hessian): full batch or mini-batches
// (contiguous row ranges read in place, or gathered in a seeded shuffled order). Losses and
// the trajectory are written into buffers on the weights' device and read back in blocks;
// on a GPU each block can be captured and launched as one CUDA graph (TrainOptions::cuda_graph).
// The epoch loop owns sync points, divergence (rule and advice), checkpoints (by count and by
// time), stopping on request and resume. Verified by the tests named in descent/train.hpp.
#include "descent/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "descent/autograd.hpp"
#include "descent/functional.hpp"
#include "descent/loss.hpp"
#include "descent/model.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "dist/batch_rows.hpp"
#include "dist/shard_sum.hpp"
#include "fused_ops.hpp"
#include "graph_capture.hpp"
#include "tensor_impl.hpp"
#include "train_source.hpp"

namespace descent {

namespace {

constexpr double kDivergenceFactor = 1e6;  // rule 2 of loss_diverged
constexpr double kScaleRatio = 1e3;        // column scales this far apart: advise scaling

double sqrt_largest(DType dtype) {
    return std::sqrt(dtype == DType::f32 ? double(std::numeric_limits<float>::max())
                                         : std::numeric_limits<double>::max());
}

using detail::copy_range_into;

// Elements [begin, begin + count) of a 1-D tensor, read to the host as doubles.
std::vector<double> read_range(const Tensor& t, std::int64_t begin, std::int64_t count) {
    return t.narrow(0, begin, count).to_vector<double>();
}

// Checks of the options and the optimizer, whatever the data's source.
void validate(const detail::TrainSource& source, const optim::Optimizer& optimizer,
              const TrainOptions& options, std::int64_t P) {
    const std::int64_t n = source.n;
    if (options.epochs < 0)
        throw Error("train: epochs must be >= 0, got " + std::to_string(options.epochs));
    if (optimizer.params().size() != source.params.size())
        throw Error("train: the optimizer holds " + std::to_string(optimizer.params().size()) +
                    " parameters, the model " + std::to_string(source.params.size()));
    for (std::size_t i = 0; i < source.params.size(); ++i)
        if (optimizer.params()[i].impl() != source.params[i].impl())
            throw Error("train: the optimizer's parameter " + std::to_string(i) +
                        " is not the model's; build the optimizer on model.parameters()");
    if (options.batch_size < 0)
        throw Error("train_linear: batch_size must be >= 0 (0: full batch), got " +
                    std::to_string(options.batch_size));
    if (options.batch_size > 0 && options.batch_size < n &&
        (optimizer.needs_hessian() || optimizer.needs_closure()))
        throw Error("train_linear: " + optimizer.name() + " takes full-batch steps only; "
                    "batch_size " + std::to_string(options.batch_size) + " < " +
                    std::to_string(n) + " rows");
    if (optimizer.uses_hvp() && !optimizer.has_hvp() && !source.hvp)
        throw Error("train_linear: " + optimizer.name() + " needs Hessian-vector products, which "
                    "streamed data does not provide (linear_mse_hvp reads X in memory); load the "
                    "data, or use lbfgs, which needs gradients only");
    if (options.batch_size > 0 && options.batch_size < n && !source.X.defined())
        throw Error("train_linear: streamed data trains full batch only; batch_size " +
                    std::to_string(options.batch_size) + " < " + std::to_string(n) + " rows");
    if (options.checkpoint_every < 0)
        throw Error("train_linear: checkpoint_every must be >= 0, got " +
                    std::to_string(options.checkpoint_every));
    if (!(options.checkpoint_seconds >= 0.0))
        throw Error("train_linear: checkpoint_seconds must be >= 0 (0: no time rule), got " +
                    std::to_string(options.checkpoint_seconds));
    if (const TrainResult* r = options.resume) {
        const auto done = static_cast<std::int64_t>(r->losses.size());
        if (done > options.epochs)
            throw Error("train_linear: the run to resume has done " + std::to_string(done) +
                        " epochs, more than the " + std::to_string(options.epochs) + " asked for");
        if (options.record_weights && static_cast<std::int64_t>(r->weights.size()) != done)
            throw Error("train_linear: recording weights, the run to resume must hold the " +
                        std::to_string(done) + " weight vectors of its epochs, it holds " +
                        std::to_string(r->weights.size()));
        for (const auto& row : r->weights)
            if (static_cast<std::int64_t>(row.size()) != P)
                throw Error("train_linear: a recorded weight vector of the run to resume has " +
                            std::to_string(row.size()) + " entries, the weights " +
                            std::to_string(P));
    }
}

// The divergence report: where, what, which rule, and advice.
std::string divergence_message(const detail::TrainSource& source, const optim::Optimizer& optimizer,
                               std::int64_t epoch, const char* what, double value,
                               double last_finite, const std::string& rule) {
    std::ostringstream os;
    os << "training diverged at epoch " << epoch << " (" << optimizer.name() << "): " << what
       << " is " << value;
    if (std::isfinite(last_finite)) os << " after a loss of " << last_finite;
    os << ", " << rule;
    // The report must come out even when the curvature cannot be had (e.g. no memory for it).
    LinearMseCurvature curvature;
    try {
        if (source.curvature) curvature = source.curvature();
    } catch (const std::exception&) {
        if (source.collective) throw;  // the others are in the same pass
        curvature = LinearMseCurvature{};
    }
    os << "; " << divergence_advice(optimizer, curvature);
    return os.str();
}

void check_optimizer(const optim::Optimizer& optimizer, const TrainOptions& options) {
    if (optimizer.params().size() != 1)
        throw Error("train_linear: the optimizer must hold exactly one parameter (the weights), "
                    "it holds " + std::to_string(optimizer.params().size()));
    if (options.epochs < 0)
        throw Error("train_linear: epochs must be >= 0, got " + std::to_string(options.epochs));
}

std::int64_t total_numel(const std::vector<Tensor>& params) {
    std::int64_t P = 0;
    for (const Tensor& p : params) P += p.numel();
    return P;
}

// The parameters (or their gradients) flattened in order, read to the host.
std::vector<double> flat_values(const std::vector<Tensor>& tensors) {
    std::vector<double> out;
    for (const Tensor& t : tensors) {
        const std::vector<double> v = t.to_vector<double>();
        out.insert(out.end(), v.begin(), v.end());
    }
    return out;
}

// Whether any of n values is infinite or NaN (all exponent bits set): an OR over their bits,
// so the loop vectorises (the check runs every epoch; a small net's epoch is microseconds).
template <class T, class Bits>
bool any_non_finite(const T* v, std::int64_t n) {
    static_assert(sizeof(T) == sizeof(Bits), "the value's own bits");
    constexpr Bits exponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
    Bits bad = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        Bits b;
        std::memcpy(&b, v + i, sizeof b);
        bad |= Bits((b & exponent) == exponent);
    }
    return bad != 0;
}

// The first parameter value that is not finite, if any: CPU tensors read where they are (the
// check runs at every sync point, every epoch on the CPU), others through a host copy.
std::optional<double> first_non_finite(const std::vector<Tensor>& tensors) {
    for (const Tensor& t : tensors) {
        if (t.device().is_cpu() && t.is_contiguous()) {
            const std::int64_t n = t.numel();
            if (t.dtype() == DType::f32) {
                const float* v = static_cast<const float*>(t.data_ptr());
                if (any_non_finite<float, std::uint32_t>(v, n))
                    for (std::int64_t i = 0; i < n; ++i)
                        if (!std::isfinite(v[i])) return double(v[i]);
            } else {
                const double* v = static_cast<const double*>(t.data_ptr());
                if (any_non_finite<double, std::uint64_t>(v, n))
                    for (std::int64_t i = 0; i < n; ++i)
                        if (!std::isfinite(v[i])) return v[i];
            }
            continue;
        }
        for (double v : t.to_vector<double>())
            if (!std::isfinite(v)) return v;
    }
    return std::nullopt;
}

}  // namespace

std::string divergence_advice(const optim::Optimizer& optimizer,
                              const LinearMseCurvature& curvature) {
    std::ostringstream os;
    os << "; " << optimizer.divergence_advice(curvature.lambda_max);
    // Feature scaling: columns of very different scale make the Hessian ill-conditioned, so
    // no single learning rate suits every weight.
    const std::vector<double>& rms = curvature.column_rms;
    std::size_t lo = rms.size(), hi = rms.size();
    for (std::size_t j = 0; j < rms.size(); ++j) {
        if (!(rms[j] > 0.0) || !std::isfinite(rms[j])) continue;  // an all-zero column
        if (lo == rms.size() || rms[j] < rms[lo]) lo = j;
        if (hi == rms.size() || rms[j] > rms[hi]) hi = j;
    }
    if (lo < rms.size() && rms[hi] > kScaleRatio * rms[lo])
        os << "; the feature columns differ in scale by a factor of " << rms[hi] / rms[lo]
           << " (column " << hi << " vs column " << lo << ", counted from 0, root mean squares "
           << rms[hi] << " and " << rms[lo] << "); standardise them";
    return os.str().substr(2);  // without the leading "; "
}

namespace {
// R of rule 2: the larger of L0 and Lz among those that are finite and positive (0: none).
double reference_loss(double first_loss, double zero_loss) {
    double r = 0.0;
    if (std::isfinite(first_loss) && first_loss > r) r = first_loss;
    if (std::isfinite(zero_loss) && zero_loss > r) r = zero_loss;
    return r;
}
}  // namespace

bool loss_diverged(double loss, double first_loss, DType dtype, double zero_loss) {
    if (!std::isfinite(loss)) return true;
    if (std::isnan(first_loss)) return false;  // rule 1 fired at epoch 0; nothing to compare
    const double r = reference_loss(first_loss, zero_loss);
    if (r > 0.0 && loss > kDivergenceFactor * r) return true;
    return loss >= sqrt_largest(dtype) && loss > first_loss;
}

std::string loss_divergence_rule(double loss, double first_loss, DType dtype, double zero_loss) {
    if (!loss_diverged(loss, first_loss, dtype, zero_loss)) return "";
    if (!std::isfinite(loss)) return "not finite";
    std::ostringstream os;
    const double r = reference_loss(first_loss, zero_loss);
    if (r > 0.0 && loss > kDivergenceFactor * r) {
        if (r == first_loss)
            os << "over 1e6 times the first epoch's loss " << first_loss;
        else
            os << "over 1e6 times the loss of all-zero weights " << zero_loss
               << " (the first epoch's was " << first_loss << ")";
    } else {
        os << "at or above sqrt(largest " << dtype_name(dtype) << ") = " << sqrt_largest(dtype);
    }
    return os.str();
}

TrainResult train_linear(const Tensor& X_in, const Tensor& y_in, optim::Optimizer& optimizer,
                         const TrainOptions& options, bool fit_intercept) {
    // Dense data: the mini-batch views slide over X and y in row-major steps.
    const Tensor X = X_in.defined() ? X_in.contiguous() : X_in;
    const Tensor y = y_in.defined() ? y_in.contiguous() : y_in;
    check_optimizer(optimizer, options);
    const Tensor& w = optimizer.params()[0];
    detail::check_same_kind("train_linear", X, w);
    detail::check_same_kind("train_linear", y, w);
    const std::int64_t extra = fit_intercept ? 1 : 0;
    if (X.dim() != 2 || y.dim() != 1 || w.dim() != 1 || y.shape()[0] != X.shape()[0] ||
        w.shape()[0] != X.shape()[1] + extra || w.shape()[0] == 0 ||
        (X.shape()[0] == 0 && !options.parallel.communicator))
        throw Error(std::string("train_linear: expects X (n, d), y (n), weights (") +
                    (fit_intercept ? "d + 1: fit_intercept" : "d") + ") with n, d >= 1; got X " +
                    shape_str(X.shape()) + ", y " + shape_str(y.shape()) + ", weights " +
                    shape_str(w.shape()));
    LinearModel model(w, fit_intercept);
    const DataParallel parallel = options.parallel;
    return detail::train_model(model, Loss::mse, X, y, optimizer, options,
                               [X, fit_intercept, parallel] {
        return data_curvature(X, fit_intercept, parallel);
    });
}

TrainResult train(const Model& model, Loss loss, const Tensor& X, const Tensor& y,
                  optim::Optimizer& optimizer, const TrainOptions& options) {
    return detail::train_model(model, loss, X, y, optimizer, options, {});
}

double model_loss(const Model& model, Loss loss, const Tensor& X, const Tensor& y,
                  const DataParallel& parallel) {
    const Tensor l = empty({1}, X.dtype(), X.device());
    std::vector<Tensor> copies;  // the pass sets the parameters' grad(): leave the model's alone
    for (const Tensor& p : model.parameters()) copies.push_back(p.detach());
    const std::shared_ptr<const Model> probe = model.with_parameters(copies);
    if (parallel.communicator) {
        const detail::BlockShard shard = detail::block_shard(*parallel.communicator, parallel.shard);
        if (!probe || !probe->fused_pass(loss, X.contiguous(), y.contiguous(), l, Tensor(), &shard))
            throw Error("model_loss: a distributed run's loss needs the model's fused pass (" +
                        model.name() + " with " + loss_name(loss) + ")");
        return l.to_vector<double>()[0];
    }
    if (probe && probe->fused_pass(loss, X.contiguous(), y.contiguous(), l, Tensor()))
        return l.to_vector<double>()[0];
    NoGrad off;
    return compute_loss(loss, model.forward(X), y).item();
}

LinearMseCurvature data_curvature(const Tensor& X, bool fit_intercept,
                                  const DataParallel& parallel) {
    if (!parallel.communicator) return linear_mse_curvature(X, fit_intercept);
    // λmax and the scales from the Hessian of a distributed pass at w = 0 (no target).
    const std::int64_t d = X.shape()[1] + (fit_intercept ? 1 : 0);
    if (d > 1024) return LinearMseCurvature{};  // linear_mse_curvature's Gram limit
    const detail::BlockShard shard = detail::block_shard(*parallel.communicator, parallel.shard);
    const Tensor loss = empty({}, X.dtype(), X.device());
    const Tensor grad = empty({d}, X.dtype(), X.device());
    const Tensor hessian = empty({d, d}, X.dtype(), X.device());
    detail::linear_mse_into(X.contiguous(), Tensor(), zeros({d}, X.dtype(), X.device()), loss,
                            grad, hessian, fit_intercept, &shard);
    return linear_mse_curvature_of_hessian(hessian.to_vector<double>(), d);
}

namespace detail {

namespace {

[[noreturn]] void refused_fused_pass(const Model& model, Loss loss, bool distributed) {
    if (distributed)
        throw Error("train: the model " + model.name() + "'s fused pass for " + loss_name(loss) +
                    " does not take a shard of the rows (distributed training)");
    throw Error("train: the model " + model.name() + " declared a fused pass for " +
                loss_name(loss) + " on this data (has_fused_for) and then refused it (fused_pass)");
}

// Whether Newton-CG's H v comes from the model's fused Hessian: logistic regression's (one
// weight vector of at most 1024 entries, on the cpu; beyond, the Hessian costs more than the
// products it saves). A distributed run on GPUs has no other H v: there, from the Hessian of
// the block partials' tiled kernel, which takes up to 64 weights.
bool fused_hessian_products(const Model& model, Loss loss, const Tensor& X,
                            const std::vector<Tensor>& params, bool distributed) {
    return loss == Loss::bce_with_logits && params.size() == 1 && params[0].dim() == 1 &&
           (X.device().is_cpu() ? params[0].numel() <= 1024
                                : distributed && params[0].numel() <= 64) &&
           model.has_fused_for(loss, X);
}

// What the processes of a distributed run must share; every process sees every process's
// values, so all throw the same error or none does.
void agree_on_run(Communicator& comm, const Tensor& X, std::int64_t total_rows,
                  std::int64_t columns, std::int64_t parameters, const TrainOptions& options) {
    // One kind of device for all: a CPU process would set the pace of the GPUs' steps (and
    // the passes' sums within a block differ between the two).
    const std::vector<std::string> devices = comm.allgather(X.device().str());
    for (std::size_t r = 1; r < devices.size(); ++r)
        if ((devices[r] == "cpu") != (devices[0] == "cpu"))
            throw Error("train: the processes of a distributed run must all train on the CPU or "
                        "all on GPUs (one each); process 0 trains on " + devices[0] +
                        ", process " + std::to_string(r) + " on " + devices[r]);
    const std::string mine = std::string(dtype_name(X.dtype())) + ", " + std::to_string(total_rows) + " rows, " + std::to_string(columns) +
                             " columns, " + std::to_string(parameters) + " parameters, " +
                             std::to_string(options.epochs) + " epochs, batch " +
                             std::to_string(options.batch_size) +
                             (options.shuffle ? " shuffled (seed " +
                                                    std::to_string(options.shuffle_seed) + ")"
                                              : "");
    const std::vector<std::string> all = comm.allgather(mine);
    for (std::size_t r = 1; r < all.size(); ++r)
        if (all[r] != all[0])
            throw Error("train: the processes of a distributed run disagree: process 0 has " +
                        all[0] + ", process " + std::to_string(r) + " has " + all[r]);
}

// What distributed training (TrainOptions::communicator) needs, checked on every process
// (the rows differ) before any pass.
void check_distributed(const Model& model, Loss loss, const Tensor& X,
                       const optim::Optimizer& optimizer, const TrainOptions& options) {
    const RowShard& rows = options.parallel.shard;
    const Communicator& comm = *options.parallel.communicator;
    const std::string who = "train (process " + std::to_string(comm.rank()) + " of " +
                            std::to_string(comm.size()) + ")";
    if (!model.has_fused_for(loss, X))
        throw Error(who + ": distributed training needs the model's fused pass (LinearModel "
                    "with mse, bce_with_logits or cross_entropy); " + model.name() + " with " +
                    loss_name(loss) + " has none");
    if (rows.total < 1 || rows.rows() != X.shape()[0])
        throw Error(who + ": X holds " + std::to_string(X.shape()[0]) + " rows but its shard [" +
                    std::to_string(rows.begin) + ", " + std::to_string(rows.end) + ") of " +
                    std::to_string(rows.total) + " says otherwise (shard_rows)");
    const RowShard expected = shard_rows(rows.total, comm.rank(), comm.size());
    if (expected.begin != rows.begin || expected.end != rows.end)
        throw Error(who + ": the shard [" + std::to_string(rows.begin) + ", " +
                    std::to_string(rows.end) + ") is not shard_rows(" +
                    std::to_string(rows.total) + ", rank, size) = [" +
                    std::to_string(expected.begin) + ", " + std::to_string(expected.end) + ")");
    // A GPU process's rows of a mini-batch would have to come to the host one by one (the
    // batch's rows are anywhere in the shard): full batch only there, for now.
    if (!X.device().is_cpu() && options.batch_size > 0 && options.batch_size < rows.total)
        throw Error(who + ": mini-batches (batch " + std::to_string(options.batch_size) +
                    " of " + std::to_string(rows.total) + " rows) in a distributed run train "
                    "on CPU processes; GPU processes train full batch");
    if (optimizer.uses_hvp() && !optimizer.has_hvp() && loss != Loss::mse &&
        !fused_hessian_products(model, loss, X, model.parameters(), true))
        throw Error(who + ": " + optimizer.name() + " needs Hessian-vector products, which a "
                    "distributed run has from fused passes only (linear regression; logistic "
                    "regression up to 1024 weights, 64 on GPUs); use lbfgs");
}

}  // namespace

TrainResult train_model(const Model& model, Loss loss, const Tensor& X_in, const Tensor& y_in,
                        optim::Optimizer& optimizer, const TrainOptions& options,
                        std::function<LinearMseCurvature()> curvature) {
    Communicator* comm = options.parallel.communicator;
    const std::vector<Tensor> params = model.parameters();
    Tensor X, y;
    std::optional<BlockShard> block;
    const auto checks = [&] {
        check_defined("train", X_in);
        check_defined("train", y_in);
        if (params.empty()) throw Error("train: the model " + model.name() + " has no parameters");
        for (const Tensor& p : params) check_same_kind("train", X_in, p);
        check_same_kind("train", X_in, y_in);
        if (X_in.dim() != 2 || (X_in.shape()[0] < 1 && !comm) || y_in.dim() < 1 ||
            y_in.shape()[0] != X_in.shape()[0])
            throw Error("train: expects X (n, d) and targets with n >= 1 rows, got X " +
                        shape_str(X_in.shape()) + " and y " + shape_str(y_in.shape()));
        // Dense data: the mini-batch views slide over X and y in row-major steps.
        X = X_in.contiguous();
        y = y_in.contiguous();
        if (!comm) return;
        check_distributed(model, loss, X, optimizer, options);
        if (loss == Loss::cross_entropy && params.size() == 1 && params[0].dim() == 2)
            check_class_labels("train", y, params[0].shape()[1]);
        block = block_shard(*comm, options.parallel.shard);
    };
    if (!comm) {
        checks();
    } else {
        // Every process's checks agree before the first pass (a collective), so a process
        // that fails one stops them all instead of leaving them waiting in it; then what every
        // process must share (the rows in all, the columns, the parameters, the epochs).
        all_or_none(*comm, checks);
        agree_on_run(*comm, X, options.parallel.shard.total, X.shape()[1], total_numel(params),
                     options);
    }
    const BlockShard* shard = block ? &*block : nullptr;
    TrainSource source;
    source.collective = comm != nullptr;
    source.n = comm ? options.parallel.shard.total : X.shape()[0];
    source.X = X;
    source.y = y;
    source.params = params;
    source.curvature = std::move(curvature);
    // The fused pass when the model has one for this loss, else the generic autodiff step.
    const bool fused = model.has_fused_for(loss, X);
    // The softmax kernel indexes by label: check them once here (cross_entropy checks its own).
    if (fused && !comm && loss == Loss::cross_entropy && params.size() == 1 &&
        params[0].dim() == 2)
        check_class_labels("train", y, params[0].shape()[1]);
    const Model* m = &model;
    if (fused) {
        source.capturable = !shard;  // a distributed pass exchanges its sums on the host
        source.full_pass = [m, loss, X, y, shard](const Tensor& l, const Tensor& hessian) {
            if (!m->fused_pass(loss, X, y, l, hessian, shard))
                refused_fused_pass(*m, loss, shard != nullptr);
        };
        source.batch_pass = [m, loss](const Tensor& Xb, const Tensor& yb, const Tensor& l) {
            if (!m->fused_pass(loss, Xb, yb, l, Tensor())) refused_fused_pass(*m, loss, false);
        };
    } else {
        const auto step = [m, loss](const Tensor& Xs, const Tensor& ys, const Tensor& l,
                                    const Tensor& hessian) {
            if (hessian.defined()) {
                // Newton: the Hessian of the loss in the single parameter, by differentiating
                // the model rebuilt over a variable copy of it twice (functional.hpp).
                const std::vector<Tensor> ps = m->parameters();
                const Tensor probe = ps[0].detach();
                if (ps.size() != 1 || !m->with_parameters({probe}))
                    throw Error("train: Newton needs the Hessian of " + std::string(m->name()) +
                                " with " + loss_name(loss) + ", which needs one parameter and a "
                                "model that can be rebuilt (Model::with_parameters); use "
                                "newton-cg or lbfgs, which need gradients and H v only");
                const Tensor H = descent::hessian(
                    [m, loss, Xs, ys](const Tensor& w) {
                        return compute_loss(loss, m->with_parameters({w})->forward(Xs), ys);
                    },
                    ps[0].detach());
                copy_op(hessian, H.reshape(hessian.shape()));
            }
            for (Tensor p : m->parameters()) p.set_grad(Tensor());
            EnableGrad on;
            const Tensor value = compute_loss(loss, m->forward(Xs), ys);
            value.backward();
            NoGrad off;
            copy_op(l, value.detach().reshape(l.shape()));
        };
        source.full_pass = [step, X, y](const Tensor& l, const Tensor& hessian) {
            step(X, y, l, hessian);
        };
        source.batch_pass = [step](const Tensor& Xb, const Tensor& yb, const Tensor& l) {
            step(Xb, yb, l, Tensor());
        };
    }
    // Lz of the divergence rule: the loss of the model over all-zero parameters (new tensors:
    // the model's own parameters and gradient buffers stay untouched). 0 when unknown.
    source.zero_loss = [m, loss, X, y, params, shard]() -> double {
        std::vector<Tensor> zero;
        for (const Tensor& p : params) zero.push_back(zeros(p.shape(), p.dtype(), p.device()));
        const std::shared_ptr<const Model> at_zero = m->with_parameters(zero);
        if (!at_zero) return 0.0;
        const Tensor l = empty({1}, X.dtype(), X.device());
        if (at_zero->fused_pass(loss, X, y, l, Tensor(), shard)) return l.to_vector<double>()[0];
        if (shard) return 0.0;  // this process's rows alone would not be the loss
        NoGrad off;
        return compute_loss(loss, at_zero->forward(X), y).item();
    };
    // Newton-CG: the model's fused product; else, for a fused Hessian (logistic regression on
    // the cpu), H v with H from the fused pass at the current weights (made once per point:
    // CG asks several products there), which a distributed run sums like any pass; else the
    // gradient differentiated again.
    if (params.size() == 1) {
        struct HessianAt {
            std::vector<double> weights;
            Tensor H;
        };
        const bool hessian_products = fused_hessian_products(model, loss, X, params, shard != nullptr);
        auto cache = std::make_shared<HessianAt>();
        source.hvp = [m, loss, X, y, shard, hessian_products, cache](const Tensor& v) {
            Tensor hv = m->fused_hvp(loss, X, v, shard);
            if (hv.defined()) return hv;
            if (hessian_products) {
                const Tensor w = m->parameters()[0].detach();
                std::vector<double> at = w.to_vector<double>();
                if (!cache->H.defined() || at != cache->weights) {
                    const std::int64_t P = w.numel();
                    const std::shared_ptr<const Model> probe = m->with_parameters({w});
                    Tensor H = empty({P, P}, w.dtype(), w.device());
                    const Tensor l = empty({1}, w.dtype(), w.device());
                    if (!probe || !probe->fused_pass(loss, X, y, l, H, shard))
                        refused_fused_pass(*m, loss, shard != nullptr);
                    cache->H = H;
                    cache->weights = std::move(at);
                }
                return matmul(cache->H, v.reshape({v.numel(), 1})).reshape(v.shape());
            }
            if (shard)
                throw Error("train: " + m->name() + " has no fused H v for " + loss_name(loss) +
                            " over a distributed run's rows; use lbfgs");
            const Tensor p = m->parameters()[0];
            EnableGrad on;
            const Tensor value = compute_loss(loss, m->forward(X), y);
            const Tensor g = descent::grad({value}, {p}, {}, true)[0];
            const Tensor gv = sum(g * v.reshape(g.shape()));
            return descent::grad({gv}, {p})[0].detach().reshape(v.shape());
        };
    }
    return train_loop(source, optimizer, options);
}

namespace {
TrainResult run_loop(const TrainSource& source, optim::Optimizer& optimizer,
                     const TrainOptions& options);
}  // namespace

TrainResult train_loop(const TrainSource& source, optim::Optimizer& optimizer,
                       const TrainOptions& options) {
    const CpuAllocationCache cache;  // the steps after the first allocate no cpu memory
    Communicator* comm = options.parallel.communicator;
    if (!comm || comm->size() == 1) return run_loop(source, optimizer, options);
    try {
        return run_loop(source, optimizer, options);
    } catch (const std::exception& e) {
        // Every process has this error (a diverged loss: the same losses everywhere), and they
        // end together; or it is this process's alone (memory, a write that failed) while the
        // others wait in the next exchange for it: then it says so and leaves the group, which
        // ends their wait (MPI: MPI_Abort ends the job; the line is the job's last word).
        if (!comm->arrive_within(options.parallel.failure_wait_seconds)) {
            std::fprintf(stderr, "descent: error: process %d of %d: %s\n", comm->rank(),
                         comm->size(), e.what());
            std::fflush(stderr);
            comm->abandon();
        }
        throw;
    }
}

namespace {

TrainResult run_loop(const TrainSource& source, optim::Optimizer& optimizer,
                     const TrainOptions& options) {
    const std::vector<Tensor>& params = source.params;
    const std::int64_t P = total_numel(params);
    validate(source, optimizer, options, P);
    const Tensor& X = source.X;
    const Tensor& y = source.y;
    const Tensor w = params[0];  // dtype, device; and Newton's single parameter
    const bool newton = optimizer.needs_hessian();
    // Newton-CG: the source's H v for this call (linear MSE: the fused one-pass 2/n Xᵀ(X v))
    // unless the caller gave another product, and a fresh kept point (the data may have changed).
    struct HvpForThisCall {
        optim::Optimizer* optimizer = nullptr;
        ~HvpForThisCall() {
            if (optimizer) optimizer->set_hvp({});
        }
    } hvp_for_this_call;
    optimizer.forget_evaluations();
    if (optimizer.uses_hvp() && !optimizer.has_hvp()) {
        optimizer.set_hvp(source.hvp);
        hvp_for_this_call.optimizer = &optimizer;
    }
    // P: the parameters' entries, flattened in order (the trajectory's rows, final_weights).
    const std::int64_t epochs = options.epochs, d = P, n = source.n;
    const std::int64_t columns = X.defined() ? X.shape()[1] : 0;
    const std::int64_t sync_every =
        options.sync_every > 0 ? options.sync_every : (w.device().is_cpu() ? 1 : 32);
    const bool minibatch = options.batch_size > 0 && options.batch_size < n;
    const std::int64_t batch = minibatch ? options.batch_size : n;
    const std::int64_t n_batches = (n + batch - 1) / batch;

    const Tensor losses = empty({epochs}, w.dtype(), w.device());
    const Tensor trajectory =
        options.record_weights ? empty({epochs + 1, d}, w.dtype(), w.device()) : Tensor();

    TrainResult result;
    double last_finite = NAN;
    std::int64_t start = 0;
    if (options.resume) {
        result.losses = options.resume->losses;
        start = static_cast<std::int64_t>(result.losses.size());
        for (double loss : result.losses)
            if (std::isfinite(loss)) last_finite = loss;
        for (std::int64_t e = 0; options.record_weights && e < start; ++e)  // of P entries
            copy_range_into(trajectory, e * d,
                      from_vector(options.resume->weights[static_cast<std::size_t>(e)], {d},
                                  w.dtype(), w.device()));
    }

    // Buffers allocated once: the gradient (and Newton's Hessian); for mini-batches the
    // gathered batch (shuffled runs), the per-batch losses of one epoch and their row counts (the epoch loss is their
    // row-weighted mean, one 1 x n_batches product).
    Tensor Xb, yb, batch_losses, batch_rows, full_hessian;
    if (newton && !minibatch) full_hessian = empty({d, d}, w.dtype(), w.device());
    // Distributed: every batch is assembled from the processes' rows (assemble_batch).
    Communicator* const batch_comm = options.parallel.communicator;
    if (minibatch) {
        if (options.shuffle || batch_comm) {
            Xb = empty({batch, columns}, w.dtype(), w.device());
            Shape yb_shape = y.shape();
            yb_shape[0] = batch;
            yb = empty(yb_shape, y.dtype(), y.device());
        }
        batch_losses = empty({n_batches}, w.dtype(), w.device());
        std::vector<double> rows(static_cast<std::size_t>(n_batches), double(batch));
        rows.back() = double(n - (n_batches - 1) * batch);
        batch_rows = from_vector(rows, {n_batches}, w.dtype(), w.device());
    }

    // CUDA graphs: each block of epochs up to the next sync point is captured (after the
    // call's first epoch, which creates the optimizer state and puts the scratch blocks the
    // captured epochs ask for in the allocator's cache) and launched as one graph. A block is
    // re-captured every time, since the loss slot, the trajectory row and the optimizer's step
    // constants differ per epoch; its graph updates the executable one kept in graph_exec.
    // Inside a capture nothing synchronises, reads to the host or calls cudaMalloc: the fused
    // pass, the update and the trajectory copy (cudaMemcpyAsync on the device's stream) only
    // queue work, and the read-backs below come after the launch.
    const bool graphs = options.cuda_graph && w.device().is_cuda() && !minibatch &&
                        X.defined() && source.capturable && optimizer.capturable();
    if (options.lr_at && !optimizer.has_lr())
        throw Error("train: " + optimizer.name() + " has no learning rate to schedule");
    if (options.after_epoch && graphs)
        throw Error("train: after_epoch runs between epochs, which a captured CUDA graph "
                    "launches as one block; drop cuda_graph or after_epoch");
    if (options.lr_at && graphs)
        throw Error("train: a learning-rate schedule changes the rate every epoch, which a "
                    "captured CUDA graph holds fixed; drop cuda_graph or the schedule");
    const bool lr_per_step = options.lr_at && options.lr_per_batch && minibatch;
    detail::CapturedGraph graph_exec;
    std::optional<detail::GraphCapture> capture;
    std::int64_t block_first = 0, block_steps = 0;
    // A failed capture: end it (nothing it recorded ran), put the optimizer's step count back
    // to the block's start (its step() counted the captured epochs; the weights and buffers
    // were never touched), and report the epochs with the error.
    const auto abandon_block = [&](std::int64_t epoch) {
        capture.reset();
        if (optimizer.step_count() != block_steps) {
            try {
                optim::OptimizerState state = optimizer.state();
                for (optim::ParamState& p : state.params) p.step = block_steps;
                optimizer.load_state(state);
            } catch (...) {
                // The device failed again: the capture's error is the one to report.
            }
        }
        return " (train_linear: while capturing epochs " + std::to_string(block_first) + ".." +
               std::to_string(epoch) + " into a CUDA graph on " + w.device().str() + ")";
    };

    std::int64_t checked = start;  // epochs whose losses were read back
    Tensor last_grad;
    // The parameters' gradients as one flat tensor: for one parameter a view of its grad()
    // (the fused passes reuse one buffer, so no copy), else a concatenation.
    Tensor flat_grad;  // several parameters: their gradients flattened, one buffer for every step
    const auto current_grad = [&]() -> Tensor {
        if (params.size() == 1) return params[0].grad().reshape({d});
        if (!flat_grad.defined()) {
            const AllocationBypass lasting(w.device());  // kept for the whole loop, as the optimizer state
            flat_grad = empty({d}, w.dtype(), w.device());
        }
        const Tensor& flat = flat_grad;
        std::int64_t at = 0;
        for (const Tensor& p : params) {
            copy_range_into(flat, at, p.grad().reshape({p.numel()}));
            at += p.numel();
        }
        return flat;
    };
    // The last step's gradient is still in the parameters' grad() (grad_in_params): flattened
    // only when read, since for a net that copy costs a small step as much as an op.
    bool grad_in_params = false;
    const auto final_gradient = [&]() -> const Tensor& {
        if (grad_in_params) {
            last_grad = current_grad();
            grad_in_params = false;
        }
        return last_grad;
    };
    // Writes the flattened parameters into row `row` of the trajectory.
    const auto record_row = [&](std::int64_t row) {
        std::int64_t at = row * d;
        for (const Tensor& p : params) {
            copy_range_into(trajectory, at, p);
            at += p.numel();
        }
    };
    // Queues epoch `epoch`: the fused pass(es) and the optimizer step(s).
    // The first step's new optimizer state (moments, momentum buffers) comes from the system,
    // not from blocks the step's own temporaries just freed into the loop's cache: the second
    // step then finds every block it asks for, and no step after the first allocates.
    const auto optimizer_step = [&] {
        if (optimizer.step_count() == 0) {
            const AllocationBypass fresh(w.device());
            optimizer.step();
        } else {
            optimizer.step();
        }
    };
    const auto queue_epoch = [&](std::int64_t epoch) {
        if (options.record_weights) record_row(epoch);
        if (options.lr_at && !lr_per_step) optimizer.set_lr(options.lr_at(epoch));
        if (optimizer.needs_closure()) {
            // L-BFGS and Newton-CG evaluate the loss at trial points: the closure is the fused
            // pass at the current weights. Each call returns its own loss tensor (the
            // optimizer keeps the first one: the epoch's loss, before the update); the
            // gradient buffer is reused (the optimizers copy what they keep). last_grad is the
            // gradient at the weights before the update (L-BFGS: the epoch's first call).
            bool first_call = true;
            const optim::Closure closure = [&] {
                const Tensor l = empty({}, w.dtype(), w.device());
                source.full_pass(l, Tensor());
                if (first_call) last_grad = current_grad().clone();
                first_call = false;
                return l;
            };
            const Tensor loss = optimizer.step(closure);
            // Newton-CG's first call may be a line-search trial (it reuses the point the last
            // step accepted): take the gradient it stepped on from it.
            if (const Tensor g = optimizer.step_gradient(); g.defined())
                last_grad = g.reshape(w.shape());
            copy_range_into(losses, epoch, loss.detach().reshape({1}));
        } else if (!minibatch) {
            // One fused pass writing the loss straight into its slot of `losses` and the
            // gradient (and Hessian) into buffers reused every epoch: no copy, no allocation.
            source.full_pass(losses.narrow(0, epoch, 1), full_hessian);
            if (newton) optimizer.set_hessian(full_hessian);
            optimizer_step();
            grad_in_params = true;
        } else {
            const auto perm = detail::RowPermutation::make(n, options.shuffle,
                                                           options.shuffle_seed, epoch);
            // The batch: a row range of the data, or its rows gathered into Xb, yb; and its
            // loss slot. One view of each slides over the epoch (a view per batch would cost
            // more than a small batch's work); the shorter last batch gets its own.
            const std::int64_t full = std::min(batch, n);
            // In place: the batch is a row range of X (no shuffle, one process).
            const bool in_place = perm.identity && !batch_comm;
            const Tensor x_rows = in_place ? X.narrow(0, 0, full) : Xb;
            const Tensor y_rows = in_place ? y.narrow(0, 0, full) : yb;
            const Tensor slot = batch_losses.narrow(0, 0, 1);
            for (std::int64_t b = 0; b < n_batches; ++b) {
                const std::int64_t begin = b * batch, count = std::min(batch, n - begin);
                Tensor xb = x_rows, ybatch = y_rows;
                if (count < full) {
                    xb = (in_place ? X : Xb).narrow(0, in_place ? begin : 0, count);
                    ybatch = (in_place ? y : yb).narrow(0, in_place ? begin : 0, count);
                } else if (in_place) {
                    detail::set_storage_offset(xb, X.storage_offset() + begin * columns);
                    detail::set_storage_offset(ybatch, y.storage_offset() + begin);
                }
                detail::set_storage_offset(slot, batch_losses.storage_offset() + b);
                if (batch_comm)
                    detail::assemble_batch(*batch_comm, options.parallel.shard, X, y, perm, begin,
                                           xb, ybatch);
                else if (!perm.identity)
                    detail::gather_rows_into(X, y, perm, begin, xb, ybatch);
                source.batch_pass(xb, ybatch, slot);
                if (lr_per_step) optimizer.set_lr(options.lr_at(epoch * n_batches + b));
                optimizer_step();
            }
            // The epoch's loss: the batch losses weighted by their rows, (1, nb) @ (nb, 1) / n.
            detail::matmul_into(losses.narrow(0, epoch, 1), batch_losses.reshape({1, n_batches}),
                                batch_rows.reshape({n_batches, 1}), 1.0 / double(n));
            grad_in_params = true;
        }
    };

    // Time-based checkpoints (TrainOptions::checkpoint_seconds): the end of the previous
    // checkpoint (or the start) and what it took.
    using Clock = std::chrono::steady_clock;
    const bool timed = options.on_checkpoint && options.checkpoint_seconds > 0.0;
    // Distributed: every epoch, whether any process asks to stop or is due a timed checkpoint
    // (a signal or a clock reaches the processes at different epochs), one exchange.
    const bool agree_each_epoch =
        options.parallel.communicator && options.parallel.communicator->size() > 1;
    Clock::time_point last_checkpoint_end = Clock::now();
    double last_checkpoint_cost = 0.0;
    double first_loss = result.losses.empty() ? NAN : result.losses[0];  // L0 of the rule
    // Lz of the rule: the loss of all-zero weights, one pass, made only when a loss passes
    // 1e6 L0 (a run started at the optimum has L0 ~ 0). 0 when it cannot be had.
    double zero_loss = NAN;
    const auto zero_weights_loss = [&]() {
        if (!std::isnan(zero_loss)) return zero_loss;
        zero_loss = 0.0;
        try {
            if (source.zero_loss) zero_loss = source.zero_loss();
        } catch (const std::exception&) {
            if (source.collective) throw;  // the others are in the same pass
            zero_loss = 0.0;  // judged against L0 alone
        }
        return zero_loss;
    };

    for (std::int64_t epoch = start; epoch < epochs; ++epoch) {
        bool checkpoint_due =
            options.on_checkpoint && ((options.checkpoint_every > 0 &&
                                       (epoch + 1) % options.checkpoint_every == 0) ||
                                      epoch + 1 == epochs);
        bool sync_due = (epoch + 1) % sync_every == 0 || epoch + 1 == epochs || checkpoint_due;
        bool stop = false;
        // After the epoch is queued: a stop request or the clock may make it a sync point.
        const auto poll = [&] {
            // after_epoch first, every epoch (its validation must not be skipped).
            const bool ended = options.after_epoch && options.after_epoch(epoch);
            stop = ended || (options.stop_requested && options.stop_requested());
            bool timed_due = false;
            if (timed && !checkpoint_due) {
                const double since =
                    std::chrono::duration<double>(Clock::now() - last_checkpoint_end).count();
                timed_due = since >= options.checkpoint_seconds &&
                            since >= 20.0 * last_checkpoint_cost;
            }
            // Distributed: every process stops, checkpoints and syncs at the same epoch.
            if (agree_each_epoch) {
                const std::vector<std::string> all = options.parallel.communicator->allgather(
                    std::string(1, char('0' + (stop ? 1 : 0) + (timed_due ? 2 : 0))));
                for (const std::string& f : all) {
                    stop = stop || ((f[0] - '0') & 1);
                    timed_due = timed_due || ((f[0] - '0') & 2);
                }
            }
            checkpoint_due = checkpoint_due || timed_due;
            if (stop && options.on_checkpoint) checkpoint_due = true;
            sync_due = sync_due || checkpoint_due || stop;
        };
        if (graphs && epoch > start && !capture) {
            block_first = epoch;
            block_steps = optimizer.step_count();
            capture.emplace(w.device());
        }
        if (!capture) {
            queue_epoch(epoch);
            poll();
        } else {
            try {
                queue_epoch(epoch);
                poll();
                if (sync_due) {
                    capture->launch(graph_exec);  // the block runs, in stream order
                    capture.reset();
                }
            } catch (const CudaError& e) {
                const std::string where = abandon_block(epoch);
                throw CudaError(e.call(), e.file(), e.line(), e.cuda_message() + where);
            } catch (const Error& e) {
                const std::string where = abandon_block(epoch);
                throw Error(e.what() + where);
            } catch (...) {
                abandon_block(epoch);
                throw;
            }
        }
        if (!sync_due) continue;
        // Read back the block of losses since the last sync point and check it, then the
        // weights (a step can overflow them before any loss shows it).
        // The first divergence: stop (throw) or report it once and carry on.
        const auto diverged = [&](std::int64_t at, const char* what, double value,
                                  const std::string& rule) {
            if (!result.divergence.empty()) return;
            const std::string message =
                divergence_message(source, optimizer, at, what, value, last_finite, rule);
            if (options.on_divergence == OnDivergence::stop) throw Diverged(message);
            result.divergence = message;
            if (options.on_warning) options.on_warning(message);
        };
        const std::int64_t first = checked;
        const std::vector<double> block = read_range(losses, first, epoch + 1 - first);
        for (; checked <= epoch; ++checked) {
            const double loss = block[static_cast<std::size_t>(checked - first)];
            if (checked == 0) first_loss = loss;
            if (loss_diverged(loss, first_loss, w.dtype())) {
                const double z = std::isfinite(loss) ? zero_weights_loss() : 0.0;
                if (loss_diverged(loss, first_loss, w.dtype(), z))
                    diverged(checked, "the loss", loss,
                             loss_divergence_rule(loss, first_loss, w.dtype(), z));
            }
            if (std::isfinite(loss)) last_finite = loss;
            result.losses.push_back(loss);
            if (options.on_epoch) options.on_epoch(checked, loss);
        }
        if (const std::optional<double> bad = first_non_finite(params))
            diverged(epoch, "a weight", *bad, "not finite");
        if (checkpoint_due) {
            result.final_weights = flat_values(params);
            const Clock::time_point began = timed ? Clock::now() : Clock::time_point{};
            TrainResult so_far;
            so_far.losses = result.losses;
            so_far.final_weights = result.final_weights;
            so_far.final_grad = final_gradient().to_vector<double>();
            so_far.divergence = result.divergence;
            if (options.record_weights) {
                const std::vector<double> flat = read_range(trajectory.reshape({(epochs + 1) * d}), 0, (epoch + 1) * d);
                for (std::int64_t e = 0; e <= epoch; ++e)
                    so_far.weights.emplace_back(flat.begin() + e * d, flat.begin() + (e + 1) * d);
            }
            options.on_checkpoint(so_far);
            if (timed) {
                last_checkpoint_end = Clock::now();
                last_checkpoint_cost =
                    std::chrono::duration<double>(last_checkpoint_end - began).count();
            }
        }
        if (stop && epoch + 1 < epochs) {
            result.stopped = true;
            break;
        }
    }
    // The epochs done: all of them, or those before a stop.
    const std::int64_t done = result.stopped ? static_cast<std::int64_t>(result.losses.size()) : epochs;
    result.final_weights = flat_values(params);
    if (final_gradient().defined()) result.final_grad = final_gradient().to_vector<double>();
    if (options.record_weights) {
        record_row(done);
        const std::vector<double> flat =
            read_range(trajectory.reshape({(epochs + 1) * d}), 0, (done + 1) * d);
        for (std::int64_t e = 0; e <= done; ++e)
            result.weights.emplace_back(flat.begin() + e * d, flat.begin() + (e + 1) * d);
    }
    return result;
}

}  // namespace

}  // namespace detail
}  // namespace descent
