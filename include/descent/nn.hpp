// Small neural nets for the one training loop (train.hpp), named and initialised as torch.nn:
// Linear(in, out) computes X Wᵀ + b with W (out, in) and b (out), both drawn from
// U(-1/sqrt(in), 1/sqrt(in)) as torch.nn.Linear's reset_parameters does (kaiming_uniform with
// a = sqrt(5) gives that bound); the activations tanh, relu and sigmoid; Sequential, a chain of
// them, whose parameters are listed in a stable order with torch's names ("0.weight",
// "0.bias", "2.weight", ...: an activation takes an index too); mlp(sizes, activation), the
// usual Sequential of Linear layers with the activation between them. A net has no fused
// pass: the loop runs forward, loss and backward through the autodiff, on the CPU or a GPU,
// in f32 or f64, and checkpoints and resumes it like a linear model. Verified by
// tests/test_nn.cpp (torch 1.13 trajectories of Adam and SGD with momentum, to 1e-9 in f64).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "descent/device.hpp"
#include "descent/dtype.hpp"
#include "descent/model.hpp"
#include "descent/random.hpp"
#include "descent/tensor.hpp"

namespace descent::nn {

enum class Activation { tanh, relu, sigmoid };
const char* activation_name(Activation a);  // "tanh", "relu", "sigmoid"
// "tanh", "relu" or "sigmoid"; anything else is a descent::Error naming the choices.
Activation parse_activation(const std::string& name);
Tensor activate(Activation a, const Tensor& x);

// One affine layer: weight (out, in) and bias (out), the caller's tensors (trained in place).
struct Linear {
    Tensor weight;
    Tensor bias;
    // U(-1/sqrt(in), 1/sqrt(in)) for the weight (row-major, out x in draws) then the bias,
    // from `rng` (numpy's RandomState: seeded, the same on every device), requiring grad.
    static Linear init(std::int64_t in, std::int64_t out, RandomState& rng, DType dtype,
                       Device device = Device::cpu());
    Tensor forward(const Tensor& X) const;  // X (n, in) -> (n, out)
};

// One link of a Sequential: a Linear layer or an activation.
struct Layer {
    enum class Kind { linear, activation };
    Kind kind = Kind::linear;
    Linear linear;
    Activation activation = Activation::tanh;
    static Layer of(Linear l) { return {Kind::linear, std::move(l), Activation::tanh}; }
    static Layer of(Activation a) { return {Kind::activation, {}, a}; }
};

// The layers applied in order. With one output the predictions are a vector (n), as the
// mse and bce_with_logits losses take them; with k > 1 outputs a matrix (n, k) (the logits
// of cross_entropy).
class Sequential final : public Model {
public:
    explicit Sequential(std::vector<Layer> layers);
    std::vector<Tensor> parameters() const override;
    // torch.nn.Sequential's state_dict names and order: "<index>.weight", "<index>.bias".
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;
    Tensor forward(const Tensor& X) const override;
    std::string name() const override;  // e.g. "mlp:16,8:tanh" for mlp({d, 16, 8, 1}, tanh)
    std::shared_ptr<const Model> with_parameters(const std::vector<Tensor>& params) const override;
    const std::vector<Layer>& layers() const { return m_layers; }
    std::int64_t inputs() const;
    std::int64_t outputs() const;

private:
    std::vector<Layer> m_layers;
};

// Linear(sizes[0], sizes[1]), activation, Linear(sizes[1], sizes[2]), ..., Linear(...,
// sizes.back()): at least an input and an output size, each >= 1. The layers are drawn in
// order from RandomState(seed).
Sequential mlp(const std::vector<std::int64_t>& sizes, Activation activation, std::uint32_t seed,
               DType dtype = DType::f64, Device device = Device::cpu());

}  // namespace descent::nn
