// Training of a linear model y ≈ X w with MSE loss. Full batch (the default): each epoch
// computes the loss, gradient (and, for Newton, the Hessian) in one pass over X, records the
// loss *before* the update, as the blog's trainer does, then steps the optimizer. Mini-batches
// (batch_size < n): an epoch is one pass over the rows in batches of batch_size (the last one
// smaller), optionally in a seeded shuffled order, one optimizer step per batch.
// Verified by tests/test_optim_blog.cpp against the blog's numpy trainer, tests/test_minibatch.cpp
// against a reference mini-batch loop, tests/test_checkpoint.cpp (resume),
// tests/test_divergence.cpp (the divergence rule and advice) and tests/test_train_control.cpp
// (stopping on request, time-based checkpoints).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "descent/communicator.hpp"
#include "descent/dtype.hpp"
#include "descent/hessian.hpp"
#include "descent/model.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/shard.hpp"
#include "descent/tensor.hpp"

namespace descent {

struct TrainResult;

// The divergence rule. An epoch's loss L has diverged when
//   1. L is not finite (NaN or Inf), or
//   2. L > 1e6 * R, where R = max(L0, Lz) > 0: L0 is the first epoch's loss of the run
//      (losses[0], also for a resumed run) and Lz the loss of the weights all 0 (the model that
//      predicts 0; pass 0 when unknown). No optimizer that is converging, Adam's early rise
//      included, multiplies the larger of these by a million, while a run past its stable step
//      grows geometrically and passes this long before it overflows. Lz keeps a run that starts
//      at (or next to) the optimum, L0 ~ 0, from alarming at Adam's first step of ~lr; the
//      trainer computes it (one pass) only when L > 1e6 * L0, the only time it can matter, or
//   3. L >= sqrt(the largest finite value of `dtype`) and L > L0 (f32: 1.8e19, f64: 1.3e154):
//      the squared residuals behind such a loss are about to overflow, whatever L0 was (this
//      also covers L0 = 0 and a run that started far off).
// A non-finite L0 fires rule 1 at epoch 0; rules 2 and 3 then never apply.
bool loss_diverged(double loss, double first_loss, DType dtype, double zero_loss = 0.0);
// Which rule fired, as the divergence message says it: "not finite", "over 1e6 times the first
// epoch's loss 28.4", "over 1e6 times the loss of all-zero weights 5.2 (the first epoch's was
// 2.3e-12)", "at or above sqrt(largest f64) = 1.34078e+154"; empty when none did.
std::string loss_divergence_rule(double loss, double first_loss, DType dtype,
                                 double zero_loss = 0.0);

// The advice that ends a divergence report, fitting the optimizer (see train_linear below),
// e.g. "use a smaller learning rate, below 2/lambda_max = 0.0294059", for a caller that
// applies loss_diverged itself (the CLI, to the loss after the last update). `curvature` is
// linear_mse_curvature(X), or {} when unknown (then no bound and no scaling advice).
std::string divergence_advice(const optim::Optimizer& optimizer,
                              const LinearMseCurvature& curvature);

// What to do when the loss diverges (the rule above) or a weight turns non-finite.
enum class OnDivergence {
    stop,  // throw descent::Error: the epoch, the optimizer, the loss, the rule, advice
    warn,  // report the same message once through TrainOptions::on_warning and carry on
};

struct TrainOptions {
    std::int64_t epochs = 50;  // the epoch count of the whole run (resumed runs included)
    bool record_weights = false;  // keep the weights of every epoch (the trajectory)
    // Losses and weights stay on the weights' device and are read back every `sync_every`
    // epochs (0: every epoch on the cpu, every 32 on a GPU), so a GPU is not stalled by a
    // host round trip per epoch. Divergence is detected at those points.
    std::int64_t sync_every = 0;
    // Called for each epoch, in order, with the loss recorded for it (at the sync points).
    std::function<void(std::int64_t epoch, double loss)> on_epoch;

    // CUDA graphs, for small problems whose epochs cost more in kernel launches than in
    // work. On a CUDA device, full-batch training with an optimizer whose capturable() is true
    // (the first-order ones: gd, momentum, adagrad, rmsprop, adam, adamw) captures each block of epochs between two sync points (loss read-back, checkpoint) into
    // one CUDA graph and launches it once: the fused loss/gradient pass, the optimizer update
    // and the trajectory copy of every epoch in the block. The first epoch of each call runs
    // uncaptured (it creates the optimizer's state and the scratch the captured epochs reuse).
    // Results are bitwise the same as without. Not captured, silently: the cpu (the option
    // is a no-op there), Newton (its solve reads a status back to the host), L-BFGS and
    // Newton-CG (closures, read-backs), mini-batches, streamed data and any optimizer that does
    // not declare itself capturable. A capture that fails throws
    // descent::CudaError naming the epochs; the device stays usable, and the weights and the
    // optimizer (its step count included) are those of the start of the failed block.
    // Launches are counted by cuda_launch_stats() (descent/device.hpp).
    bool cuda_graph = false;

    // A learning-rate schedule (optim/lr_schedule.hpp: LrScheduler::lr_at, or any rule): the
    // rate for index k, set on the optimizer (Optimizer::set_lr) before the steps it covers.
    // Per epoch (lr_per_batch false) k is the epoch and the rate holds for all its steps; per
    // batch k counts the run's optimizer steps (epoch * batches + batch), as a torch
    // scheduler stepped after each optimizer.step(). A resumed run asks for its own indices
    // only, so the schedule is a function of k. The optimizer must have a learning rate
    // (has_lr); not with CUDA graph capture (the rate is a constant of a captured block).
    std::function<double(std::int64_t)> lr_at;
    bool lr_per_batch = false;

    // Mini-batches: 0 (or >= n) trains full batch. Not for optimizers that need a Hessian.
    std::int64_t batch_size = 0;
    // Visit the rows of each epoch in a pseudo-random order that depends only on (seed, epoch)
    // (shared/row_permutation.hpp), so a resumed run sees the same batches.
    bool shuffle = false;
    std::uint64_t shuffle_seed = 0;

    OnDivergence on_divergence = OnDivergence::stop;
    std::function<void(const std::string& message)> on_warning;  // for OnDivergence::warn

    // Resume: the result of the epochs already done (its losses, and its weights when
    // record_weights), with the weights and optimizer state already restored by the caller.
    // Training continues at epoch resume->losses.size().
    const TrainResult* resume = nullptr;
    // Every `checkpoint_every` epochs (0: no count rule), when `checkpoint_seconds` says so,
    // when stopped on request, and always after the last epoch, `on_checkpoint` receives the
    // result so far; final_weights are the current weights. The weights and the optimizer
    // state are consistent with it at that moment (what save_checkpoint needs), always on an
    // epoch boundary, so a run resumed from it is bitwise the uninterrupted one.
    std::int64_t checkpoint_every = 0;
    std::function<void(const TrainResult& so_far)> on_checkpoint;
    // Time-based checkpoints (0: none). When > 0, a checkpoint is also due at the end of an
    // epoch once at least `checkpoint_seconds` have passed since the end of the previous
    // checkpoint (or the start of the call) AND at least 20 times what the previous checkpoint
    // took (reading back the weights and trajectory, then on_checkpoint), so checkpoints cost
    // at most about 5% of the run whatever their size. The steady clock is read once per epoch.
    double checkpoint_seconds = 0;

    // Called after each epoch's steps, with the parameters after its update (validation,
    // early stopping): returning true stops the run after this epoch as stop_requested does
    // (a sync point, on_checkpoint when set, TrainResult::stopped when epochs remain). On a
    // GPU it costs the epoch a wait for its work; not with CUDA graph capture.
    std::function<bool(std::int64_t epoch)> after_epoch;

    // Stopping on request (e.g. a signal handler sets a flag the predicate reads): polled once
    // per epoch, after the epoch's step(s) are queued (a mini-batch epoch is always finished).
    // When it returns true, that epoch ends at a sync point (losses read back, divergence
    // checked), on_checkpoint (when set) receives the result so far, and train_linear returns
    // with TrainResult::stopped set when epochs remain. It is not called from another thread.
    std::function<bool()> stop_requested;

    // Data-parallel training over the processes of parallel.communicator (null: this process
    // holds all rows). X and y then hold this process's rows parallel.shard (shard_rows(n,
    // rank, size): the
    // same blocks whatever the process count; a process may hold none), every process calls
    // train with the same model, initial parameters, optimizer and options, and each pass's
    // block sums are exchanged and combined in the one order of a single process's pass: every
    // process ends with the same parameters, losses and trajectory, bitwise those of one
    // process over all rows, for any number of processes and threads. Stopping on request and
    // time-based checkpoints are agreed each epoch (any process asking is enough). Models need
    // their fused pass (LinearModel: linear, logistic, softmax). Full batch, or mini-batches,
    // each assembled on every process from the rows each holds (in the one-process order) and
    // run by every process. All processes on the CPU, or all on GPUs (one each: X, y and the
    // model on the process's GPU; full batch only; bitwise across process counts, not
    // against the CPU or a GPU run without a communicator, which sum in other orders). A process's own error in training (not
    // every process's) is reported by it on stderr after parallel.failure_wait_seconds, and
    // it abandons the group (MPI: the job ends) so that none waits for ever.
    DataParallel parallel;
};

struct TrainResult {
    std::vector<double> losses;                // losses[e]: the loss before update e
    std::vector<std::vector<double>> weights;  // weights[e] before update e; weights[epochs] final
    std::vector<double> final_weights;
    std::vector<double> final_grad;            // the gradient used by the last update
    std::string divergence;  // OnDivergence::warn: the message, empty when training stayed finite
    // stop_requested returned true and fewer than options.epochs epochs were done: losses hold
    // the epochs done, weights (when recorded) those epochs' plus the current weights, as at
    // the end of a full run, and final_weights the current weights.
    bool stopped = false;
};

// The weights are the optimizer's single parameter, a vector of d entries; X is (n, d) and y
// is (n), all on the weights' device and of their dtype. Throws descent::Error when the loss
// diverges (loss_diverged) or a weight turns non-finite (unless OnDivergence::warn). The
// message: "training diverged at epoch E (NAME): the loss is V after a loss of P, <rule>;
// <advice>", the advice fitting the optimizer: gd, a learning rate below 2/λmax of the data's
// Hessian (2/(λmax + weight_decay) with weight decay); momentum (dampening 0, not Nesterov),
// below 2(1 + momentum)/λmax, the heavy-ball bound of torch's form, else the gd bound for
// reference; adaptive methods, a smaller learning rate; Newton, damping, and lr in (0, 2).
// When the feature columns' scales (root mean squares) differ by more than a factor 1e3, it
// adds which two columns and advises standardising them. λmax and the scales cost a pass
// over the data, made only when divergence is reported.
// fit_intercept: X holds the features only and the weights have one more entry, the
// intercept (LinearModel's implicit ones column; the same trajectory, bitwise, as X with the
// column stored, on the CPU).
TrainResult train_linear(const Tensor& X, const Tensor& y, optim::Optimizer& optimizer,
                         const TrainOptions& options = {}, bool fit_intercept = false);

// The one training loop for any model (model.hpp): trains model.parameters(), which must be
// the optimizer's parameters in the same order, on X (n, d) and targets y (first dimension n)
// with `loss`. Each step is the model's fused pass for the loss when it has one (linear
// regression with Loss::mse: the one-pass pass above, CUDA graphs and all), else the generic
// autodiff step (forward, loss, backward). Everything else is as train_linear: full batch
// or mini-batches (shuffled), resume, checkpoints, stopping, the divergence rule, the
// trajectory (weights[e] flattens the parameters in order) and the curvature optimizers
// (L-BFGS; Newton-CG through the model's fused H v or, for one parameter, the gradient
// differentiated again; Newton only with a fused Hessian). train_linear is this loop on a
// LinearModel over the optimizer's single parameter, with Loss::mse.
TrainResult train(const Model& model, Loss loss, const Tensor& X, const Tensor& y,
                  optim::Optimizer& optimizer, const TrainOptions& options = {});

// The loss of `model` with `loss` over the rows at its current parameters: over every
// process's rows with parallel.communicator (its fused pass; a collective: every process
// calls it), else over X and y (the fused pass, or forward and the loss). Touches no gradient.
double model_loss(const Model& model, Loss loss, const Tensor& X, const Tensor& y,
                  const DataParallel& parallel = {});
// linear_mse_curvature(X, fit_intercept) over every process's rows (a collective; from the
// Hessian of a distributed pass, so for at most 1024 columns: wider data gives it unknown),
// or of X alone without a communicator.
LinearMseCurvature data_curvature(const Tensor& X, bool fit_intercept,
                                  const DataParallel& parallel = {});

}  // namespace descent
