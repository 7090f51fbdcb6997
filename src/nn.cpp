// The nets of nn.hpp: layers, Sequential and mlp().
#include "descent/nn.hpp"

#include <cmath>
#include <optional>

#include "descent/error.hpp"
#include "descent/ops.hpp"

namespace descent::nn {

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::tanh: return "tanh";
        case Activation::relu: return "relu";
        case Activation::sigmoid: return "sigmoid";
    }
    return "unknown";
}

Activation parse_activation(const std::string& name) {
    if (name == "tanh") return Activation::tanh;
    if (name == "relu") return Activation::relu;
    if (name == "sigmoid") return Activation::sigmoid;
    throw Error("unknown activation '" + name + "' (tanh, relu or sigmoid)");
}

Tensor activate(Activation a, const Tensor& x) {
    switch (a) {
        case Activation::tanh: return tanh(x);
        case Activation::relu: return relu(x);
        case Activation::sigmoid: return sigmoid(x);
    }
    throw Error("activate: unknown activation");
}

Linear Linear::init(std::int64_t in, std::int64_t out, RandomState& rng, DType dtype,
                    Device device) {
    if (in < 1 || out < 1)
        throw Error("nn::Linear: in and out must be >= 1, got " + std::to_string(in) + " and " +
                    std::to_string(out));
    const double bound = 1.0 / std::sqrt(double(in));
    const auto draw = [&](std::int64_t count) {
        std::vector<double> v(static_cast<std::size_t>(count));
        for (double& x : v) x = bound * (2.0 * rng.random_sample() - 1.0);
        return v;
    };
    Linear l;
    l.weight = from_vector(draw(out * in), {out, in}, dtype, device).requires_grad_();
    l.bias = from_vector(draw(out), {out}, dtype, device).requires_grad_();
    return l;
}

Tensor Linear::forward(const Tensor& X) const { return descent::linear(X, weight, bias); }

namespace {

void check_layers(const std::vector<Layer>& layers) {
    std::int64_t width = -1;
    bool any = false;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].kind != Layer::Kind::linear) continue;
        const Linear& l = layers[i].linear;
        const std::string at = "nn::Sequential: layer " + std::to_string(i);
        if (!l.weight.defined() || !l.bias.defined() || l.weight.dim() != 2 || l.bias.dim() != 1 ||
            l.bias.shape()[0] != l.weight.shape()[0])
            throw Error(at + ": a Linear needs weight (out, in) and bias (out)");
        if (l.weight.dtype() != l.bias.dtype() || l.weight.device() != l.bias.device())
            throw Error(at + ": weight and bias differ in dtype or device");
        if (width >= 0 && l.weight.shape()[1] != width)
            throw Error(at + ": takes " + std::to_string(l.weight.shape()[1]) +
                        " inputs, the layer before gives " + std::to_string(width));
        width = l.weight.shape()[0];
        any = true;
    }
    if (!any) throw Error("nn::Sequential: needs at least one Linear layer");
}

}  // namespace

Sequential::Sequential(std::vector<Layer> layers) : m_layers(std::move(layers)) {
    check_layers(m_layers);
}

std::vector<Tensor> Sequential::parameters() const {
    std::vector<Tensor> params;
    for (const Layer& layer : m_layers)
        if (layer.kind == Layer::Kind::linear) {
            params.push_back(layer.linear.weight);
            params.push_back(layer.linear.bias);
        }
    return params;
}

std::vector<std::pair<std::string, Tensor>> Sequential::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> named;
    for (std::size_t i = 0; i < m_layers.size(); ++i)
        if (m_layers[i].kind == Layer::Kind::linear) {
            named.emplace_back(std::to_string(i) + ".weight", m_layers[i].linear.weight);
            named.emplace_back(std::to_string(i) + ".bias", m_layers[i].linear.bias);
        }
    return named;
}

std::int64_t Sequential::inputs() const {
    for (const Layer& layer : m_layers)
        if (layer.kind == Layer::Kind::linear) return layer.linear.weight.shape()[1];
    return 0;
}

std::int64_t Sequential::outputs() const {
    for (auto it = m_layers.rbegin(); it != m_layers.rend(); ++it)
        if (it->kind == Layer::Kind::linear) return it->linear.weight.shape()[0];
    return 0;
}

Tensor Sequential::forward(const Tensor& X) const {
    if (X.dim() != 2 || X.shape()[1] != inputs())
        throw Error("nn::Sequential: expects X (n, " + std::to_string(inputs()) + "), got X " +
                    shape_str(X.shape()));
    Tensor h = X;
    for (const Layer& layer : m_layers)
        h = layer.kind == Layer::Kind::linear ? layer.linear.forward(h)
                                              : activate(layer.activation, h);
    return outputs() == 1 ? reshape(h, {h.shape()[0]}) : h;
}

std::string Sequential::name() const {
    // "mlp:H1,H2:act" when the layers are mlp()'s (one activation throughout), else the chain.
    std::string hidden, chain;
    std::optional<Activation> only;
    bool uniform = true;
    std::size_t linears = 0;
    for (const Layer& layer : m_layers) {
        if (!chain.empty()) chain += ",";
        if (layer.kind == Layer::Kind::linear) {
            ++linears;
            chain += "linear(" + std::to_string(layer.linear.weight.shape()[1]) + "," +
                     std::to_string(layer.linear.weight.shape()[0]) + ")";
        } else {
            chain += activation_name(layer.activation);
            if (only && *only != layer.activation) uniform = false;
            only = layer.activation;
        }
    }
    bool alternating = m_layers.size() == 2 * linears - 1;
    for (std::size_t i = 0; alternating && i < m_layers.size(); ++i)
        alternating = (m_layers[i].kind == Layer::Kind::linear) == (i % 2 == 0);
    if (!alternating || !uniform) return "sequential:" + chain;
    for (std::size_t i = 0; i + 1 < m_layers.size(); i += 2)
        hidden += (hidden.empty() ? "" : ",") + std::to_string(m_layers[i].linear.weight.shape()[0]);
    if (linears == 1) return "mlp:linear";
    return "mlp:" + hidden + ":" + activation_name(*only);
}

std::shared_ptr<const Model> Sequential::with_parameters(const std::vector<Tensor>& params) const {
    const std::vector<Tensor> mine = parameters();
    if (params.size() != mine.size())
        throw Error("nn::Sequential::with_parameters: expects " + std::to_string(mine.size()) +
                    " tensors, got " + std::to_string(params.size()));
    std::vector<Layer> layers = m_layers;
    std::size_t at = 0;
    for (Layer& layer : layers) {
        if (layer.kind != Layer::Kind::linear) continue;
        for (Tensor* t : {&layer.linear.weight, &layer.linear.bias}) {
            if (params[at].shape() != t->shape())
                throw Error("nn::Sequential::with_parameters: tensor " + std::to_string(at) +
                            " must have shape " + shape_str(t->shape()) + ", got " +
                            shape_str(params[at].shape()));
            *t = params[at++];
        }
    }
    return std::make_shared<Sequential>(std::move(layers));
}

Sequential mlp(const std::vector<std::int64_t>& sizes, Activation activation, std::uint32_t seed,
               DType dtype, Device device) {
    if (sizes.size() < 2)
        throw Error("nn::mlp: needs at least an input and an output size, got " +
                    std::to_string(sizes.size()) + " size(s)");
    RandomState rng(seed);
    std::vector<Layer> layers;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        if (i > 0) layers.push_back(Layer::of(activation));
        layers.push_back(Layer::of(Linear::init(sizes[i], sizes[i + 1], rng, dtype, device)));
    }
    return Sequential(std::move(layers));
}

}  // namespace descent::nn
