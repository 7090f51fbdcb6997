// The autodiff engine: ops record a Node (inputs + backward rule) on their output; backward()
// sorts the graph topologically and walks it once in reverse, as micrograd does, summing
// gradients per tensor and accumulating them into the leaves' grad().
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "autograd_internal.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent {

namespace {
// Grad mode is per thread, as in PyTorch, so a NoGrad on one thread never affects another.
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGrad::NoGrad() : m_previous(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = m_previous; }

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
    detail::run_backward(root, grad, retain_graph);
}

namespace detail {

Node::~Node() {
    backward = nullptr;  // drop captured tensors while `inputs` still holds them
    std::vector<Tensor> pending = std::move(inputs);
    while (!pending.empty()) {
        Tensor t = std::move(pending.back());
        pending.pop_back();
        const auto& impl = t.impl();
        // If we hold the last reference, adopt its node's inputs before it dies, so that its
        // destructor finds nothing left to recurse into.
        if (impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1) {
            Node& child = *impl->grad_fn;
            child.backward = nullptr;
            for (Tensor& input : child.inputs) pending.push_back(std::move(input));
            child.inputs.clear();
        }
    }
}

Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn fn) {
    if (!t_grad_enabled) return out;
    const bool any = std::any_of(inputs.begin(), inputs.end(),
                                 [](const Tensor& t) { return t.requires_grad(); });
    if (!any) return out;
    auto node = std::make_shared<Node>();
    node->name = name;
    node->inputs = std::move(inputs);
    node->backward = std::move(fn);
    out.impl()->requires_grad = true;
    out.impl()->grad_fn = std::move(node);
    return out;
}

namespace {

// Post-order over the tensors that have a grad_fn, iteratively (graphs can be deep).
std::vector<TensorImpl*> topological_order(TensorImpl* root) {
    std::vector<TensorImpl*> order;
    std::unordered_set<TensorImpl*> seen;
    std::vector<std::pair<TensorImpl*, std::size_t>> stack{{root, 0}};
    seen.insert(root);
    while (!stack.empty()) {
        auto& [impl, next] = stack.back();
        const auto& inputs = impl->grad_fn->inputs;
        if (next < inputs.size()) {
            TensorImpl* child = inputs[next++].impl().get();
            if (child->grad_fn && child->requires_grad && seen.insert(child).second)
                stack.emplace_back(child, 0);
        } else {
            order.push_back(impl);
            stack.pop_back();
        }
    }
    return order;
}

void accumulate_into_leaf(TensorImpl& leaf, const Tensor& g) {
    if (!leaf.grad.defined()) {
        // Own a fresh buffer: g may share storage with something the caller still holds.
        leaf.grad = g.clone();
    } else {
        binary_inplace("backward", BinaryOp::add, leaf.grad, g);
    }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
    check_defined("backward", root);
    if (!root.requires_grad())
        throw Error("backward: tensor " + describe(root) +
                    " does not require grad; mark its inputs with requires_grad_()");
    Tensor grad = grad_in;
    if (!grad.defined()) {
        if (root.numel() != 1)
            throw Error("backward: an implicit gradient exists only for one-element outputs; "
                        "the output has shape " + shape_str(root.shape()) +
                        ", so pass an upstream gradient of that shape");
        grad = ones(root.shape(), root.dtype(), root.device());
    } else if (grad.shape() != root.shape() || grad.dtype() != root.dtype() ||
               grad.device() != root.device()) {
        throw Error("backward: upstream gradient " + describe(grad) +
                    " does not match the output " + describe(root));
    }

    NoGrad no_grad;  // gradients are values, not new graph
    TensorImpl* root_impl = root.impl().get();
    if (!root_impl->grad_fn) {
        accumulate_into_leaf(*root_impl, grad);
        return;
    }

    // The walk computes every gradient first and changes nothing: leaf gradients are summed
    // into staged copies, and nodes are released only once the walk is through. A backward()
    // that throws part-way (a subgraph freed by an earlier backward, out of memory) leaves
    // every leaf's grad() and the graph as they were, ready for a corrected second call.
    const std::vector<TensorImpl*> order = topological_order(root_impl);
    std::unordered_map<TensorImpl*, Tensor> grads{{root_impl, grad}};
    std::vector<Node*> visited;
    // A leaf's staged gradient starts from its current grad() and adds the contributions in
    // the order the walk meets them, the same arithmetic as accumulating in place. Keyed by
    // the grad tensor when there is one, so that leaves sharing one grad tensor share a sum.
    struct StagedGrad {
        TensorImpl* leaf;  // the first leaf met; any other leaf of this key shares its grad
        Tensor sum;
    };
    std::vector<StagedGrad> staged;
    std::unordered_map<const void*, std::size_t> staged_index;
    auto stage_leaf = [&](TensorImpl& leaf, const Tensor& g) {
        const void* key = leaf.grad.defined() ? static_cast<const void*>(leaf.grad.impl().get())
                                              : static_cast<const void*>(&leaf);
        if (auto found = staged_index.find(key); found != staged_index.end()) {
            binary_inplace("backward", BinaryOp::add, staged[found->second].sum, g);
            return;
        }
        Tensor sum;
        if (leaf.grad.defined()) {
            sum = leaf.grad.clone();
            binary_inplace("backward", BinaryOp::add, sum, g);
        } else {
            sum = g.clone();  // a fresh buffer: g may share storage with something the caller holds
        }
        staged_index.emplace(key, staged.size());
        staged.push_back({&leaf, std::move(sum)});
    };

    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        TensorImpl* impl = *it;
        auto found = grads.find(impl);
        if (found == grads.end()) continue;
        const Tensor g = std::move(found->second);
        grads.erase(found);
        Node& node = *impl->grad_fn;
        if (node.released)
            throw Error(std::string("backward: the graph through '") + node.name +
                        "' was already freed by an earlier backward(); pass retain_graph=true "
                        "to the first call to run backward through it twice");
        const std::vector<Tensor> input_grads = node.backward(g);
        visited.push_back(&node);
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            const Tensor& input = node.inputs[i];
            if (!input.requires_grad() || i >= input_grads.size() || !input_grads[i].defined())
                continue;
            TensorImpl* in_impl = input.impl().get();
            if (!in_impl->grad_fn) {
                stage_leaf(*in_impl, input_grads[i]);
            } else if (auto slot = grads.find(in_impl); slot == grads.end()) {
                grads.emplace(in_impl, input_grads[i]);
            } else {
                slot->second = slot->second + input_grads[i];
            }
        }
    }

    // Commit. A leaf that had a gradient keeps its buffer (handles to grad() see the new
    // values, as with accumulation in place); the CPU copy cannot fail.
    for (StagedGrad& s : staged) {
        if (s.leaf->grad.defined()) {
            copy_op(s.leaf->grad, s.sum);
        } else {
            s.leaf->grad = std::move(s.sum);
        }
    }
    if (!retain_graph) {
        for (Node* node : visited) {
            node->backward = nullptr;  // drops the saved tensors
            node->released = true;
        }
    }
}

}  // namespace detail

// --- gradcheck -------------------------------------------------------------------------------

namespace {
std::string format_double(double v) {
    std::ostringstream os;
    os << std::setprecision(17) << v;
    return os.str();
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
    for (const Tensor& x : inputs) {
        detail::check_defined("gradcheck", x);
        if (x.dtype() != DType::f64)
            throw Error("gradcheck: inputs must be f64 for finite differences to be meaningful, "
                        "got " + detail::describe(x));
    }
    // Evaluates f on copies of the inputs where input `which` has host values `values`.
    auto evaluate = [&](std::size_t which, const std::vector<double>& values) {
        std::vector<Tensor> args = inputs;
        args[which] = from_vector(values, inputs[which].shape(), DType::f64, inputs[which].device());
        NoGrad no_grad;
        return f(args).to_vector<double>();
    };

    // The analytic pass overwrites the inputs' grads; they are put back on every way out,
    // an exception from f included.
    struct RestoreGrads {
        const std::vector<Tensor>& inputs;
        std::vector<Tensor> saved;
        ~RestoreGrads() {
            for (std::size_t i = 0; i < saved.size(); ++i) inputs[i].impl()->grad = saved[i];
        }
    } restore{inputs, {}};
    for (const Tensor& x : inputs) restore.saved.push_back(x.grad());

    const Tensor out0 = f(inputs);
    const std::int64_t n_out = out0.numel();
    GradcheckResult result;
    double worst = -1.0;

    for (std::size_t which = 0; which < inputs.size(); ++which) {
        Tensor x = inputs[which];
        if (!x.requires_grad()) continue;
        const std::vector<double> x0 = x.to_vector<double>();
        const std::int64_t n_in = x.numel();

        // Analytic Jacobian (n_out x n_in), one backward pass per output element.
        std::vector<double> analytic(static_cast<std::size_t>(n_out * n_in), 0.0);
        for (std::int64_t o = 0; o < n_out; ++o) {
            x.set_grad(Tensor());
            const Tensor out = f(inputs);
            if (!out.requires_grad()) break;  // f does not depend on x: derivative 0
            std::vector<double> onehot(static_cast<std::size_t>(n_out), 0.0);
            onehot[o] = 1.0;
            out.backward(from_vector(onehot, out.shape(), out.dtype(), out.device()));
            if (x.grad().defined()) {
                const std::vector<double> row = x.grad().to_vector<double>();
                std::copy(row.begin(), row.end(), analytic.begin() + o * n_in);
            }
        }

        // Numeric Jacobian by central differences, one input element at a time.
        std::vector<double> xp = x0;
        for (std::int64_t e = 0; e < n_in; ++e) {
            const double h = opt.eps * std::max(1.0, std::abs(x0[e]));
            xp[e] = x0[e] + h;
            const std::vector<double> fp = evaluate(which, xp);
            xp[e] = x0[e] - h;
            const std::vector<double> fm = evaluate(which, xp);
            xp[e] = x0[e];
            for (std::int64_t o = 0; o < n_out; ++o) {
                const double numeric = (fp[o] - fm[o]) / (2.0 * h);
                const double a = analytic[o * n_in + e];
                const double err = std::abs(a - numeric);  // NaN when either side is NaN
                result.max_abs_error = std::isnan(err) ? err : std::max(result.max_abs_error, err);
                if (std::abs(numeric) > opt.atol)
                    result.max_rel_error = std::max(result.max_rel_error, err / std::abs(numeric));
                const bool ok = err <= opt.atol + opt.rtol * std::abs(numeric);
                if (!ok && !(err <= worst)) {  // a NaN mismatch is always reported
                    worst = err;
                    result.ok = false;
                    result.message = "input " + std::to_string(which) + " " + detail::describe(x) +
                                     ", element " + std::to_string(e) + ", output element " +
                                     std::to_string(o) + ": analytic " + format_double(a) +
                                     " vs numeric " + format_double(numeric);
                }
            }
        }
    }
    return result;
}

}  // namespace descent
