// Optimizer base class and the multi-tensor elementwise step shared by SGD, AdaGrad, RMSProp
// and Adam.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/optim/optimizer.hpp"
#include "dispatch.hpp"
#include "optim/elementwise_step.hpp"

namespace descent::optim {

Preset parse_preset(const std::string& text) {
    if (text == "blog") return Preset::blog;
    if (text == "torch") return Preset::torch;
    throw Error("unknown preset '" + text + "' (expected blog or torch)");
}

const char* preset_name(Preset preset) { return preset == Preset::blog ? "blog" : "torch"; }

Optimizer::Optimizer(std::string name, std::vector<Tensor> params)
    : m_name(std::move(name)), m_params(std::move(params)), m_state(m_params.size()) {
    if (m_params.empty()) throw Error(m_name + ": needs at least one parameter tensor");
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        const Tensor& p = m_params[i];
        if (!p.defined()) throw Error(m_name + ": parameter " + std::to_string(i) + " is undefined");
        if (!p.is_leaf())
            throw Error(m_name + ": parameter " + std::to_string(i) + " " +
                        descent::detail::describe(p) +
                        " is not a leaf tensor; optimise the tensor you created (or a detach())");
        if (!p.requires_grad())
            throw Error(m_name + ": parameter " + std::to_string(i) + " " +
                        descent::detail::describe(p) + " does not require grad; call requires_grad_()");
    }
}

void Optimizer::zero_grad() {
    for (Tensor& p : m_params) p.zero_grad();
}

std::int64_t Optimizer::step_count() const { return m_state.front().step; }

OptimizerState Optimizer::state() const {
    OptimizerState out{m_name, {}};
    for (const ParamState& ps : m_state) {
        ParamState copy{ps.step, {}};
        for (const auto& [key, buffer] : ps.buffers) copy.buffers[key] = buffer.detach().clone();
        out.params.push_back(std::move(copy));
    }
    return out;
}

void Optimizer::load_state(const OptimizerState& state) {
    if (state.optimizer != m_name)
        throw Error("load_state: state of '" + state.optimizer + "' given to '" + m_name + "'");
    if (state.params.size() != m_params.size())
        throw Error("load_state: " + m_name + " has " + std::to_string(m_params.size()) +
                    " parameters, the state has " + std::to_string(state.params.size()));
    // Validate everything before changing anything.
    const std::vector<std::string> names = buffer_names();
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        if (state.params[i].step < 0)
            throw Error("load_state: negative step count for parameter " + std::to_string(i));
        for (const auto& entry : state.params[i].buffers)
            if (std::find(names.begin(), names.end(), entry.first) == names.end())
                throw Error("load_state: " + m_name + " with these options keeps no buffer '" +
                            entry.first + "' (parameter " + std::to_string(i) + ")");
        if (state.params[i].step > 0)
            for (const std::string& name : names)
                if (!state.params[i].buffers.count(name))
                    throw Error("load_state: parameter " + std::to_string(i) + " has taken " +
                                std::to_string(state.params[i].step) + " steps but its '" + name +
                                "' buffer is missing");
        for (const auto& [key, buffer] : state.params[i].buffers)
            if (!buffer.defined() || buffer.shape() != m_params[i].shape())
                throw Error("load_state: buffer '" + key + "' of parameter " + std::to_string(i) +
                            " is " + descent::detail::describe(buffer) + ", the parameter is " +
                            descent::detail::describe(m_params[i]));
    }
    std::vector<ParamState> loaded;
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        ParamState ps{state.params[i].step, {}};
        for (const auto& [key, buffer] : state.params[i].buffers)
            ps.buffers[key] = buffer.to(m_params[i].device()).to(m_params[i].dtype()).detach().clone();
        loaded.push_back(std::move(ps));
    }
    m_state = std::move(loaded);
}

namespace detail {

void require(bool ok, const char* optimizer, const char* option, const char* rule, double value) {
    if (ok) return;
    std::ostringstream os;
    os << optimizer << ": " << option << " must be " << rule << ", got " << value;
    throw Error(os.str());
}

void elementwise_step(const std::vector<Tensor>& params,
                      std::vector<ParamState>& state, const std::array<BufferSpec, 3>& buffers,
                      const std::function<UpdateStep(const ParamState&)>& make_step) {
    using descent::detail::UpdateTensor;
    // Group by (device, dtype) so each group is one backend call (one kernel launch on a GPU).
    std::map<std::pair<std::string, int>, std::vector<UpdateTensor>> groups;
    std::map<std::pair<std::string, int>, Tensor> representative;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        const Tensor g = p.grad();
        if (!g.defined()) continue;  // as torch: parameters without a gradient are skipped
        ParamState& ps = state[i];
        for (const BufferSpec& spec : buffers) {
            if (spec.name != nullptr && !ps.buffers.count(spec.name))
                ps.buffers[spec.name] = full(p.shape(), spec.initial_value, p.dtype(), p.device());
        }
        ++ps.step;
        UpdateTensor u;
        u.param = p.data_ptr();
        u.grad = g.data_ptr();
        for (int k = 0; k < 3; ++k)
            u.state[k] = buffers[k].name ? ps.buffers.at(buffers[k].name).data_ptr() : nullptr;
        u.numel = p.numel();
        u.step = make_step(ps);
        const auto key = std::make_pair(p.device().str(), static_cast<int>(p.dtype()));
        groups[key].push_back(u);
        representative.emplace(key, p);
    }
    for (const auto& [key, tensors] : groups) {
        const Tensor& p = representative.at(key);
        descent::detail::backend_for(p.device())
            .optimizer_update(p.dtype(), tensors.data(), static_cast<int>(tensors.size()),
                              p.device().index);
    }
}

}  // namespace detail
}  // namespace descent::optim
