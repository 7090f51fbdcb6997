// The autodiff engine: ops record a Node (inputs + backward rule) on their output; backward()
// sorts the graph topologically and walks it once in reverse, as micrograd does, summing
// gradients per tensor and accumulating them into the leaves' grad().
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <optional>
#include <random>

#include "autograd_internal.hpp"
#include "descent/autograd.hpp"
#include "descent/error.hpp"
#include "descent/functional.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace descent {

namespace {
// Grad mode is per thread, as in PyTorch, so a NoGrad on one thread never affects another.
thread_local bool t_grad_enabled = true;

// Sets grad mode for the rules of one pass: on with create_graph (they record the graph of
// the gradient), off otherwise (gradients are values).
class GradMode {
public:
    explicit GradMode(bool on) : m_previous(t_grad_enabled) { t_grad_enabled = on; }
    ~GradMode() { t_grad_enabled = m_previous; }
    GradMode(const GradMode&) = delete;
    GradMode& operator=(const GradMode&) = delete;

private:
    bool m_previous;
};
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGrad::NoGrad() : m_previous(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = m_previous; }
EnableGrad::EnableGrad() : m_previous(t_grad_enabled) { t_grad_enabled = true; }
EnableGrad::~EnableGrad() { t_grad_enabled = m_previous; }

void backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph) {
    detail::run_backward(root, grad, retain_graph, create_graph);
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

namespace {

// A node's edge to an input: a leaf as itself (the pass writes its grad() through it), any
// other tensor as a handle holding its grad_fn and requires_grad but none of its memory. A
// node thus never keeps alive an activation its rule does not need (tanh's input, say; a rule
// that needs one captures it itself), as torch's edges point at nodes, not tensors.
Tensor graph_edge(Tensor&& t) {
    const auto& impl = t.impl();
    if (!impl || !impl->grad_fn) return std::move(t);
    auto edge = std::make_shared<TensorImpl>();
    edge->requires_grad = impl->requires_grad;
    edge->grad_fn = impl->grad_fn;
    edge->dtype = impl->dtype;
    return Tensor(std::move(edge));
}

std::shared_ptr<Node> attach_node(const char* name, Tensor& out, std::vector<Tensor>& inputs) {
    if (!t_grad_enabled) return nullptr;
    const bool any = std::any_of(inputs.begin(), inputs.end(),
                                 [](const Tensor& t) { return t.requires_grad(); });
    if (!any) return nullptr;
    auto node = std::make_shared<Node>();
    node->name = name;
    for (Tensor& input : inputs) input = graph_edge(std::move(input));
    node->inputs = std::move(inputs);
    out.impl()->requires_grad = true;
    out.impl()->grad_fn = node;
    return node;
}

}  // namespace

bool recording(const Tensor& a) { return t_grad_enabled && a.defined() && a.requires_grad(); }
bool recording(const Tensor& a, const Tensor& b) { return recording(a) || recording(b); }
bool recording(const Tensor& a, const Tensor& b, const Tensor& c) {
    return recording(a) || recording(b) || recording(c);
}

Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn fn) {
    if (const auto node = attach_node(name, out, inputs)) node->backward = std::move(fn);
    return out;
}

Tensor record_with_output(const char* name, Tensor out, std::vector<Tensor> inputs,
                          OutputBackwardFn fn) {
    const auto node = attach_node(name, out, inputs);
    if (!node) return out;
    // The storage without the grad_fn, and the node weakly: neither owns the node.
    node->backward = [saved = out.detach(), self = std::weak_ptr<Node>(node),
                      fn = std::move(fn)](const Tensor& g) {
        if (!t_grad_enabled) return fn(g, saved);  // a first-order pass builds no graph
        Tensor output = make_view(saved, saved.shape());
        output.impl()->requires_grad = true;
        output.impl()->grad_fn = self.lock();  // alive: the pass running this rule holds it
        return fn(g, output);
    };
    return out;
}

namespace {

// Post-order over the nodes reachable from `roots` through inputs that require grad,
// iteratively (graphs can be deep). Nodes, not tensors: an op's output and the tensors a
// create_graph pass makes on its storage share one node, whose gradient is their sum.
std::vector<Node*> topological_order(const std::vector<Node*>& roots) {
    std::vector<Node*> order;
    std::unordered_set<Node*> seen;
    std::vector<std::pair<Node*, std::size_t>> stack;
    for (Node* root : roots) {
        if (!seen.insert(root).second) continue;
        stack.emplace_back(root, 0);
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            if (next < node->inputs.size()) {
                const Tensor& input = node->inputs[next++];
                Node* child = input.impl()->grad_fn.get();
                if (child && input.requires_grad() && seen.insert(child).second)
                    stack.emplace_back(child, 0);
            } else {
                order.push_back(node);
                stack.pop_back();
            }
        }
    }
    return order;
}

}  // namespace

bool sole_owner(const Tensor& g) {
    const auto& impl = g.impl();
    return !t_grad_enabled && impl && impl.use_count() == 1 && impl->storage &&
           impl->storage.use_count() == 1 && impl->storage->owned && impl->offset == 0 &&
           impl->contiguous && !impl->grad_fn && !impl->requires_grad && !impl->grad.defined();
}

namespace {

// One reverse pass. Without `capture` it is backward(): leaf gradients are summed into
// grad(). With `capture` it is grad(): the gradients reaching those tensors (leaves or
// intermediate) are returned, grad() is untouched, and only the part of the graph that
// leads to them runs.
std::vector<Tensor> run_pass(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads,
                             bool retain_graph, bool create_graph,
                             const std::vector<Tensor>* capture, bool allow_unused = false) {
    GradMode mode(create_graph);

    // The captured tensors, by node (intermediate) or by leaf.
    std::unordered_map<Node*, std::vector<std::size_t>> capture_node;
    std::unordered_map<TensorImpl*, std::vector<std::size_t>> capture_leaf;
    std::vector<Tensor> captured;
    if (capture != nullptr) {
        captured.resize(capture->size());
        for (std::size_t i = 0; i < capture->size(); ++i) {
            const auto& impl = (*capture)[i].impl();
            if (impl->grad_fn) {
                capture_node[impl->grad_fn.get()].push_back(i);
            } else {
                capture_leaf[impl.get()].push_back(i);
            }
        }
    }
    // Sums without touching their operands: with create_graph a differentiable add.
    const auto accumulate = [create_graph](Tensor& sum, const Tensor& g) {
        if (!sum.defined()) {
            sum = g;
        } else if (create_graph) {
            sum = sum + g;
        } else {
            sum = detail::binary_op("backward", BinaryOp::add, sum, g);
        }
    };

    // backward(): a leaf's staged gradient starts from its current grad() and adds the
    // contributions in the order the walk meets them, the same arithmetic as accumulating in
    // place. Keyed by the grad tensor when there is one, so that leaves sharing one grad
    // tensor share a sum. Nothing is written until the walk is through, so a pass that throws
    // part-way (a subgraph freed earlier, out of memory) changes no grad().
    struct StagedGrad {
        TensorImpl* leaf;  // the first leaf met; any other leaf of this key shares its grad
        Tensor sum;
        // Without create_graph, into an existing dense grad buffer, while only one contribution
        // has come: that contribution, added into the buffer in place at the commit (no sum
        // tensor of its own). A second one makes the sum (grad + first + second ...) instead.
        Tensor part;
    };
    std::vector<StagedGrad> staged;
    std::unordered_map<const void*, std::size_t> staged_index;
    const auto to_leaf = [&](TensorImpl& leaf, const Tensor& g) {
        if (capture != nullptr) {
            if (auto found = capture_leaf.find(&leaf); found != capture_leaf.end())
                for (std::size_t i : found->second) accumulate(captured[i], g);
            return;
        }
        // Without create_graph the sums go into the grad buffers in place, so leaves sharing
        // one buffer share a sum; with it every leaf gets a new tensor of its own (torch's
        // variable.grad = variable.grad + new_grad), so each keeps its own sum.
        const void* key = leaf.grad.defined() && !create_graph
                              ? static_cast<const void*>(leaf.grad.impl().get())
                              : static_cast<const void*>(&leaf);
        // The one-contribution case: g exactly the buffer's shape, dtype and device, the buffer
        // dense (so that the add at the commit allocates nothing); anything else the sum.
        const bool addable = leaf.grad.defined() && !create_graph && leaf.grad.is_contiguous() &&
                             g.shape() == leaf.grad.shape() && g.dtype() == leaf.grad.dtype() &&
                             g.device() == leaf.grad.device();
        if (auto found = staged_index.find(key); found != staged_index.end()) {
            StagedGrad& st = staged[found->second];
            if (st.part.defined()) {  // a second contribution: the sum, as below
                st.sum = leaf.grad;
                accumulate(st.sum, st.part);
                st.part = Tensor();
            }
            accumulate(st.sum, g);
            return;
        }
        // A fresh buffer either way: g may share storage with something the caller holds.
        Tensor sum, part;
        if (addable) {
            part = g;
        } else if (leaf.grad.defined()) {
            sum = leaf.grad;
            accumulate(sum, g);
        } else {
            sum = sole_owner(g) ? g : g.clone();  // (grad mode is off without create_graph)
        }
        staged_index.emplace(key, staged.size());
        staged.push_back({&leaf, std::move(sum), std::move(part)});
    };

    std::vector<Node*> root_nodes;
    std::unordered_map<Node*, Tensor> grads;
    for (std::size_t k = 0; k < roots.size(); ++k) {
        TensorImpl* impl = roots[k].impl().get();
        if (impl->grad_fn) {
            root_nodes.push_back(impl->grad_fn.get());
            accumulate(grads[impl->grad_fn.get()], root_grads[k]);
        } else {
            to_leaf(*impl, root_grads[k]);
        }
    }
    const std::vector<Node*> order = topological_order(root_nodes);

    // grad(): which nodes lead to a captured tensor (children come first in `order`).
    std::unordered_set<Node*> runs, needed;
    if (capture != nullptr) {
        for (Node* node : order) {
            for (const Tensor& input : node->inputs) {
                if (!input.requires_grad()) continue;
                const auto& impl = input.impl();
                if (impl->grad_fn ? needed.count(impl->grad_fn.get()) > 0
                                  : capture_leaf.count(impl.get()) > 0) {
                    runs.insert(node);
                    break;
                }
            }
            if (runs.count(node) > 0 || capture_node.count(node) > 0) needed.insert(node);
        }
    }

    std::vector<Node*> visited;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* node = *it;
        auto found = grads.find(node);
        if (found == grads.end()) continue;
        const Tensor g = std::move(found->second);
        grads.erase(found);
        if (capture != nullptr) {
            if (auto c = capture_node.find(node); c != capture_node.end())
                for (std::size_t i : c->second) accumulate(captured[i], g);
            if (runs.count(node) == 0) continue;
        }
        if (node->released)
            throw Error(std::string("backward: the graph through '") + node->name +
                        "' was already freed by an earlier backward(); pass retain_graph=true "
                        "to the first call to run backward through it twice");
        const std::vector<Tensor> input_grads = node->backward(g);
        visited.push_back(node);
        for (std::size_t i = 0; i < node->inputs.size(); ++i) {
            const Tensor& input = node->inputs[i];
            if (!input.requires_grad() || i >= input_grads.size() || !input_grads[i].defined())
                continue;
            TensorImpl* in_impl = input.impl().get();
            if (Node* child = in_impl->grad_fn.get()) {
                if (capture != nullptr && needed.count(child) == 0) continue;
                accumulate(grads[child], input_grads[i]);
            } else {
                to_leaf(*in_impl, input_grads[i]);
            }
        }
    }

    // An input no gradient reached is an error unless allowed: found before anything is
    // released, so the graph can still be used for a corrected call.
    if (capture != nullptr && !allow_unused)
        for (std::size_t i = 0; i < captured.size(); ++i)
            if (!captured[i].defined())
                throw Error("grad: input " + std::to_string(i) + " " + describe((*capture)[i]) +
                            " was not used to compute the outputs; pass allow_unused=true to get "
                            "an undefined tensor for it");

    // Commit. Without create_graph a leaf that had a gradient keeps its buffer (handles to
    // grad() see the new values, as with accumulation in place): a single contribution is
    // added into it in place, several were summed (grad + g1 + g2 ...) and the sum is copied
    // in; the same arithmetic either way, and neither can fail on the CPU. With create_graph,
    // grad() becomes the new tensor and its graph, as in torch. A contribution that reads a
    // buffer about to be written (backward(a.grad()), say) is copied first: every leaf gets
    // what the grads were before the commit.
    for (StagedGrad& s : staged) {
        if (!s.part.defined()) continue;
        for (const StagedGrad& t : staged)
            if (t.leaf->grad.defined() && t.leaf->grad.impl()->storage == s.part.impl()->storage) {
                s.part = s.part.clone();
                break;
            }
    }
    for (StagedGrad& s : staged) {
        if (s.part.defined()) {
            binary_inplace("backward", BinaryOp::add, s.leaf->grad, s.part);
        } else if (s.leaf->grad.defined() && !create_graph) {
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
    return captured;
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph, bool create_graph) {
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
    // create_graph keeps the graph: the gradient's own graph runs through it.
    run_pass({root}, {grad}, retain_graph || create_graph, create_graph, nullptr);
}

}  // namespace detail

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph,
                         std::optional<bool> retain_graph, bool allow_unused) {
    if (outputs.empty()) throw Error("grad: needs at least one output");
    if (inputs.empty()) throw Error("grad: needs at least one input to differentiate with respect to");
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
        throw Error("grad: " + std::to_string(grad_outputs.size()) + " grad_outputs for " +
                    std::to_string(outputs.size()) + " outputs; give one per output (or none)");
    std::vector<Tensor> seeds(outputs.size());
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const Tensor& out = outputs[k];
        if (!out.defined()) throw Error("grad: output " + std::to_string(k) + " is undefined");
        if (!out.requires_grad())
            throw Error("grad: output " + std::to_string(k) + " " + detail::describe(out) +
                        " does not require grad: it depends on no tensor that requires grad");
        const Tensor given = grad_outputs.empty() ? Tensor() : grad_outputs[k];
        if (!given.defined()) {
            if (out.numel() != 1)
                throw Error("grad: output " + std::to_string(k) + " has shape " +
                            shape_str(out.shape()) + "; an implicit gradient exists only for "
                            "one-element outputs, so pass grad_outputs");
            seeds[k] = ones(out.shape(), out.dtype(), out.device());
        } else if (given.shape() != out.shape() || given.dtype() != out.dtype() ||
                   given.device() != out.device()) {
            throw Error("grad: grad_outputs[" + std::to_string(k) + "] " + detail::describe(given) +
                        " does not match output " + std::to_string(k) + " " +
                        detail::describe(out));
        } else {
            seeds[k] = given;
        }
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) throw Error("grad: input " + std::to_string(i) + " is undefined");
        if (!inputs[i].requires_grad())
            throw Error("grad: input " + std::to_string(i) + " " + detail::describe(inputs[i]) +
                        " does not require grad, so it cannot be differentiated with respect to");
    }
    std::vector<Tensor> result = detail::run_pass(outputs, seeds, retain_graph.value_or(create_graph),
                                                  create_graph, &inputs, allow_unused);
    // Each result its own buffer: a rule may pass a grad_outputs tensor straight through.
    GradMode mode(create_graph);
    for (Tensor& r : result)
        if (r.defined()) r = r.clone();
    return result;
}

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

GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
    for (const Tensor& x : inputs) {
        detail::check_defined("gradgradcheck", x);
        if (x.dtype() != DType::f64)
            throw Error("gradgradcheck: inputs must be f64 for finite differences to be "
                        "meaningful, got " + detail::describe(x));
    }
    // The fixed upstream gradient v: seeded, so a failure reproduces.
    Tensor out0;
    {
        NoGrad no_grad;
        out0 = f(inputs);
    }
    std::mt19937_64 rng(0x9e3779b97f4a7c15ULL);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<double> v_values(static_cast<std::size_t>(out0.numel()));
    for (double& x : v_values) x = dist(rng);
    const Tensor v = from_vector(v_values, out0.shape(), out0.dtype(), out0.device());

    GradcheckResult result;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        // G_i(args): the autodiff gradient of <f(args), v> with respect to args[i], with its
        // graph. gradcheck evaluates it on the inputs (analytic pass: the graph reaches them)
        // and on perturbed constants (numeric pass), which are made differentiable here so
        // that grad() has something to differentiate.
        const auto G = [&, i](const std::vector<Tensor>& args) {
            EnableGrad enable;
            std::vector<Tensor> local = args;
            for (std::size_t j = 0; j < local.size(); ++j)
                if (inputs[j].requires_grad() && !local[j].requires_grad())
                    local[j] = local[j].detach().requires_grad_();
            const Tensor y = f(local);
            Tensor gi;
            if (y.requires_grad())
                gi = grad({y}, {local[i]}, {v}, /*create_graph=*/true, std::nullopt,
                          /*allow_unused=*/true)[0];
            return gi.defined() ? gi : zeros(local[i].shape(), local[i].dtype(), local[i].device());
        };
        const GradcheckResult r = gradcheck(G, inputs, opt);
        result.max_abs_error = std::isnan(r.max_abs_error)
                                   ? r.max_abs_error
                                   : std::max(result.max_abs_error, r.max_abs_error);
        result.max_rel_error = std::isnan(r.max_rel_error)
                                   ? r.max_rel_error
                                   : std::max(result.max_rel_error, r.max_rel_error);
        if (!r.ok && result.ok) {
            result.ok = false;
            result.message = "the gradient with respect to input " + std::to_string(i) + ": " +
                             r.message;
        }
    }
    return result;
}

}  // namespace descent
