// The full-batch linear trainer on the fused one-pass loss/gradient(/Hessian).
#include "descent/train.hpp"

#include <cmath>
#include <sstream>

#include "descent/error.hpp"
#include "descent/loss.hpp"
#include "descent/optim/newton.hpp"
#include "dispatch.hpp"

namespace descent {

TrainResult train_linear(const Tensor& X, const Tensor& y, optim::Optimizer& optimizer,
                         const TrainOptions& options) {
    if (optimizer.params().size() != 1)
        throw Error("train_linear: the optimizer must hold exactly one parameter (the weights), "
                    "it holds " + std::to_string(optimizer.params().size()));
    if (options.epochs < 0)
        throw Error("train_linear: epochs must be >= 0, got " + std::to_string(options.epochs));
    Tensor w = optimizer.params()[0];
    auto* newton = dynamic_cast<optim::Newton*>(&optimizer);

    TrainResult result;
    double last_finite = NAN;
    for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
        if (options.record_weights) result.weights.push_back(w.to_vector<double>());
        const LinearMseResult r = newton ? linear_mse_value_grad_hessian(X, y, w.detach())
                                         : linear_mse_value_and_grad(X, y, w.detach());
        const double loss = r.loss.item();
        if (!std::isfinite(loss)) {
            std::ostringstream os;
            os << "training diverged at epoch " << epoch << " (" << optimizer.name()
               << "): the loss is " << loss;
            if (std::isfinite(last_finite)) os << " after " << last_finite;
            os << "; try a smaller learning rate";
            throw Error(os.str());
        }
        last_finite = loss;
        result.losses.push_back(loss);
        w.set_grad(r.grad);
        if (newton) newton->set_hessian(r.hessian);
        optimizer.step();
        if (epoch + 1 == options.epochs) result.final_grad = r.grad.to_vector<double>();
        if (options.on_epoch) options.on_epoch(epoch, loss);
    }
    result.final_weights = w.to_vector<double>();
    if (options.record_weights) result.weights.push_back(result.final_weights);
    return result;
}

}  // namespace descent
