// Optimizer base class and the multi-tensor elementwise step shared by SGD, AdaGrad, RMSProp
// and Adam. A step that throws leaves parameters and state as they were (strong guarantee);
// verified by tests/test_exception_safety.cpp.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <utility>
#include <sstream>

#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "text.hpp"
#include "descent/optim/optimizer.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"
#include "optim/elementwise_step.hpp"

namespace descent::optim {

Preset parse_preset(const std::string& text) {
    if (text == "blog") return Preset::blog;
    if (text == "torch") return Preset::torch;
    throw Error("unknown preset '" + descent::detail::shown_field(text) + "' (expected blog or torch)");
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
        for (const auto& [key, buffer] : state.params[i].buffers) check_buffer(key, buffer, i);
    }
    std::vector<ParamState> loaded;
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        ParamState ps{state.params[i].step, {}};
        for (const auto& [key, buffer] : state.params[i].buffers)
            ps.buffers[key] = adopt_buffer(key, buffer, i);
        loaded.push_back(std::move(ps));
    }
    m_state = std::move(loaded);
}

void Optimizer::check_buffer(const std::string& name, const Tensor& buffer, std::size_t i) const {
    if (!buffer.defined() || buffer.shape() != m_params[i].shape())
        throw Error("load_state: buffer '" + name + "' of parameter " + std::to_string(i) + " is " +
                    descent::detail::describe(buffer) + ", the parameter is " +
                    descent::detail::describe(m_params[i]));
}

Tensor Optimizer::adopt_buffer(const std::string&, const Tensor& buffer, std::size_t i) const {
    return buffer.to(m_params[i].device()).to(m_params[i].dtype()).detach().clone();
}

void Optimizer::set_hessian(const Tensor&) {
    throw Error(m_name + ": does not use a Hessian (only optimizers with needs_hessian() do)");
}

void Optimizer::set_hvp(HvpFn) {
    throw Error(m_name + ": does not use Hessian-vector products (only optimizers with "
                "uses_hvp() do)");
}

double Optimizer::lr() const {
    throw Error(name() + " has no learning rate");
}

void Optimizer::set_lr(double) {
    throw Error(name() + " has no learning rate to schedule");
}

std::string Optimizer::divergence_advice(double lambda_max) const {
    std::ostringstream os;
    os << "try a smaller learning rate";
    if (lambda_max > 0.0 && std::isfinite(lambda_max))
        os << " (for reference, gradient descent is stable below 2/lambda_max = " << 2.0 / lambda_max
           << ")";
    return os.str();
}

Tensor Optimizer::step(const Closure& closure) {
    if (!closure) throw Error(m_name + ": step(closure) needs a closure");
    Tensor loss;
    {
        EnableGrad enable;
        loss = closure();
    }
    step();
    return loss;
}

namespace detail {

void require(bool ok, const char* optimizer, const char* option, const char* rule, double value) {
    if (ok) return;
    std::ostringstream os;
    os << optimizer << ": " << option << " must be " << rule << ", got " << value;
    throw Error(os.str());
}

namespace {

// The parameters updated by one backend call: one (device, dtype).
struct Group {
    Device device;
    DType dtype;
    std::vector<descent::detail::ParamUpdate> tensors;
    std::vector<std::size_t> members;  // indices into `active`
};

// The lists a step builds, kept per thread from one step to the next: a mini-batch step of a
// small model would otherwise spend more on allocating them than on its update (measured:
// ~0.2 us a step). Emptied when the step ends, however it ends, so no tensor outlives it.
struct StepScratch {
    std::vector<std::size_t> active;
    std::vector<Group> groups;  // the first n_groups are in use; the rest keep their capacity
    std::size_t n_groups = 0;
    std::vector<std::map<std::string, Tensor>> new_buffers;
    bool in_use = false;

    void release() {
        for (std::size_t g = 0; g < n_groups; ++g) {
            groups[g].tensors.clear();
            groups[g].members.clear();
        }
        n_groups = 0;
        active.clear();
        new_buffers.clear();
        in_use = false;
    }
};

}  // namespace

void elementwise_step(const std::string& optimizer, const std::vector<Tensor>& params,
                      std::vector<ParamState>& state, const std::array<BufferSpec, 3>& buffers,
                      const std::function<UpdateStep(std::int64_t step)>& make_step) {
    using descent::detail::describe;
    using descent::detail::ParamUpdate;

    thread_local StepScratch reused;
    StepScratch fresh;  // only if a step runs inside another on this thread
    StepScratch& scratch = reused.in_use ? fresh : reused;
    scratch.in_use = true;
    struct Release {
        StepScratch& s;
        ~Release() { s.release(); }
    } release{scratch};

    // 1. Validate. Nothing is written until every parameter that has a gradient is known to
    //    be updatable (as torch, parameters without a gradient are skipped).
    std::vector<std::size_t>& active = scratch.active;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        const Tensor g = p.grad();
        if (!g.defined()) continue;
        if (g.shape() != p.shape() || g.dtype() != p.dtype() || g.device() != p.device())
            throw Error(optimizer + ": the gradient of parameter " + std::to_string(i) + " is " +
                        describe(g) + ", the parameter is " + describe(p));
        descent::detail::require_backend(p.device());  // a device this build cannot serve
        active.push_back(i);
    }
    if (active.empty()) return;

    // 2. Stage: buffers a parameter does not have yet are created here, outside its state
    //    (this may run out of memory: nothing is committed). Group by (device, dtype) so that
    //    each group is one backend call (one kernel launch); usually there is one group.
    std::vector<std::map<std::string, Tensor>>& new_buffers = scratch.new_buffers;
    new_buffers.resize(active.size());
    for (std::size_t k = 0; k < active.size(); ++k) {
        const std::size_t i = active[k];
        const Tensor& p = params[i];
        ParamUpdate u;
        for (int b = 0; b < 3; ++b) {
            const BufferSpec& spec = buffers[b];
            if (spec.name == nullptr) continue;
            const auto found = state[i].buffers.find(spec.name);
            Tensor buffer;
            if (found != state[i].buffers.end()) {
                buffer = found->second;
            } else {
                buffer = full(p.shape(), spec.initial_value, p.dtype(), p.device());
                new_buffers[k][spec.name] = buffer;
            }
            u.state[b] = buffer;
        }
        u.param = p;
        u.grad = p.grad();
        u.step = make_step(state[i].step + 1);
        std::size_t g = 0;
        while (g < scratch.n_groups &&
               !(scratch.groups[g].device == p.device() && scratch.groups[g].dtype == p.dtype()))
            ++g;
        if (g == scratch.n_groups) {
            if (g == scratch.groups.size()) scratch.groups.emplace_back();
            scratch.groups[g].device = p.device();
            scratch.groups[g].dtype = p.dtype();
            ++scratch.n_groups;
        }
        Group& group = scratch.groups[g];
        group.tensors.push_back(std::move(u));
        group.members.push_back(k);
    }
    const auto groups_begin = scratch.groups.begin();
    const auto groups_end = groups_begin + static_cast<std::ptrdiff_t>(scratch.n_groups);

    // 3. Update. A backend call writes parameters and buffers in place; one that throws is
    //    taken to have written nothing (the CPU loop cannot fail; a CUDA launch error reports
    //    a kernel that did not run). With several groups, a later group can fail after earlier
    //    ones wrote, so those are snapshotted first (only then: the usual single group costs
    //    no copies) and restored.
    std::vector<std::pair<Tensor, Tensor>> undo;  // (tensor written in place, its snapshot)
    if (scratch.n_groups > 1) {
        for (auto it = groups_begin; std::next(it) != groups_end; ++it) {
            for (const std::size_t k : it->members) {
                const std::size_t i = active[k];
                undo.emplace_back(params[i], params[i].detach().clone());
                for (const auto& entry : state[i].buffers)  // not the new ones: discarded anyway
                    undo.emplace_back(entry.second, entry.second.detach().clone());
            }
        }
    }
    try {
        for (auto it = groups_begin; it != groups_end; ++it)
            descent::detail::optimizer_update(it->tensors);
    } catch (...) {
        for (const auto& [tensor, snapshot] : undo) descent::detail::copy_op(tensor, snapshot);
        throw;
    }

    // 4. Commit: step counts advance only now, and the new buffers' map nodes are spliced
    //    in (merge allocates nothing, so this cannot fail).
    for (std::size_t k = 0; k < active.size(); ++k) {
        ParamState& ps = state[active[k]];
        ++ps.step;
        ps.buffers.merge(new_buffers[k]);
    }
}

}  // namespace detail
}  // namespace descent::optim
