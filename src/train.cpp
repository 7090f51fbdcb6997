// The full-batch linear trainer on the fused one-pass loss/gradient(/Hessian). Losses and the
// trajectory are written into buffers on the weights' device and read back in blocks.
#include "descent/train.hpp"

#include <cmath>
#include <sstream>

#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/optim/newton.hpp"
#include "dispatch.hpp"

namespace descent {

namespace {

// dst[offset : offset + src.numel()] = src, on the device holding both.
void copy_into(const Tensor& dst, std::int64_t offset, const Tensor& src) {
    const std::size_t elem = dtype_size(dst.dtype());
    detail::backend_of(dst).copy(static_cast<char*>(dst.data_ptr()) + offset * elem,
                                 src.data_ptr(), elem * static_cast<std::size_t>(src.numel()),
                                 dst.device().index);
}

// Elements [begin, begin + count) of a 1-D tensor, read to the host as doubles.
std::vector<double> read_range(const Tensor& t, std::int64_t begin, std::int64_t count) {
    std::vector<double> out(static_cast<std::size_t>(count));
    if (count == 0) return out;
    const Tensor host = empty({count}, t.dtype());
    const std::size_t elem = dtype_size(t.dtype());
    detail::backend_of(t).copy_to_host(host.data_ptr(),
                                       static_cast<const char*>(t.data_ptr()) + begin * elem,
                                       elem * static_cast<std::size_t>(count), t.device().index);
    return host.to_vector<double>();
}

}  // namespace

TrainResult train_linear(const Tensor& X, const Tensor& y, optim::Optimizer& optimizer,
                         const TrainOptions& options) {
    if (optimizer.params().size() != 1)
        throw Error("train_linear: the optimizer must hold exactly one parameter (the weights), "
                    "it holds " + std::to_string(optimizer.params().size()));
    if (options.epochs < 0)
        throw Error("train_linear: epochs must be >= 0, got " + std::to_string(options.epochs));
    Tensor w = optimizer.params()[0];
    detail::check_same_kind("train_linear", X, w);
    auto* newton = dynamic_cast<optim::Newton*>(&optimizer);
    const std::int64_t epochs = options.epochs, d = w.numel();
    const std::int64_t sync_every =
        options.sync_every > 0 ? options.sync_every : (w.device().is_cpu() ? 1 : 32);

    const Tensor losses = empty({epochs}, w.dtype(), w.device());
    const Tensor trajectory =
        options.record_weights ? empty({epochs + 1, d}, w.dtype(), w.device()) : Tensor();

    TrainResult result;
    double last_finite = NAN;
    std::int64_t checked = 0;  // epochs whose losses were read back
    Tensor last_grad;
    for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
        if (options.record_weights) copy_into(trajectory, epoch * d, w);
        // Release the previous gradient first, so its block is reused for this one: from the
        // second epoch on, nothing new is allocated.
        w.set_grad(Tensor());
        last_grad = Tensor();
        const LinearMseResult r = newton ? linear_mse_value_grad_hessian(X, y, w.detach())
                                         : linear_mse_value_and_grad(X, y, w.detach());
        copy_into(losses, epoch, r.loss);
        w.set_grad(r.grad);
        if (newton) newton->set_hessian(r.hessian);
        optimizer.step();
        last_grad = r.grad;

        if ((epoch + 1) % sync_every != 0 && epoch + 1 != epochs) continue;
        // Read back the block of losses since the last sync point and check it.
        const std::int64_t first = checked;
        const std::vector<double> block = read_range(losses, first, epoch + 1 - first);
        for (; checked <= epoch; ++checked) {
            const double loss = block[static_cast<std::size_t>(checked - first)];
            if (!std::isfinite(loss)) {
                std::ostringstream os;
                os << "training diverged at epoch " << checked << " (" << optimizer.name()
                   << "): the loss is " << loss;
                if (std::isfinite(last_finite)) os << " after " << last_finite;
                os << "; try a smaller learning rate";
                throw Error(os.str());
            }
            last_finite = loss;
            result.losses.push_back(loss);
            if (options.on_epoch) options.on_epoch(checked, loss);
        }
    }
    result.final_weights = w.to_vector<double>();
    if (last_grad.defined()) result.final_grad = last_grad.to_vector<double>();
    if (options.record_weights) {
        copy_into(trajectory, epochs * d, w);
        const std::vector<double> flat = trajectory.to_vector<double>();
        for (std::int64_t e = 0; e <= epochs; ++e)
            result.weights.emplace_back(flat.begin() + e * d, flat.begin() + (e + 1) * d);
    }
    return result;
}

}  // namespace descent
