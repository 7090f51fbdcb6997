// What a Tensor handle points at: storage, shape, dtype and its place in the autodiff graph.
// Private to the library; users only see descent::Tensor.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "descent/tensor.hpp"

namespace descent::detail {

// One allocation on one device, freed through that device's backend. Move-only.
struct Storage {
    Storage(std::size_t bytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data = nullptr;
    std::size_t bytes = 0;
    Device device;
};

// A recorded op: its inputs and the rule that maps the gradient of its output to gradients
// of its inputs (one per input; undefined where an input gets none). Rules are written with
// the differentiable ops, so that a backward pass with create_graph (grad mode on) records
// the graph of the gradient itself. Every op has one output.
struct Node {
    using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;
    const char* name = "";
    std::vector<Tensor> inputs;
    BackwardFn backward;
    bool released = false;  // set after a backward pass without retain_graph

    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // Tears long chains down iteratively: a recursive release of a 10^5-op graph would
    // overflow the stack.
    ~Node();
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    DType dtype = DType::f32;
    bool requires_grad = false;
    Tensor grad;
    std::shared_ptr<Node> grad_fn;  // null for leaves
};

// A new tensor with uninitialised contents.
Tensor make_tensor(const Shape& shape, DType dtype, Device device);
// A new tensor sharing `storage`, with its own shape (same numel).
Tensor make_view(const Tensor& base, const Shape& shape);

// Attaches a backward rule to `out` when grad mode is on and any input requires grad.
// The rule may capture the inputs (they do not own the node). It must not capture `out`
// itself (out -> node -> out would be a reference cycle): a rule that needs the output uses
// record_with_output.
Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn fn);

// record() for rules that need the op's output (exp, sqrt, tanh, sigmoid), the discipline of
// torch's SavedVariable: the node keeps the output's storage without its grad_fn and a weak
// reference to itself, and hands the rule, while it runs, a tensor on that storage whose
// grad_fn is the node. The graph a create_graph pass records through the output therefore
// leads back into this node, and no reference cycle exists between the output and its node.
using OutputBackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const Tensor& out)>;
Tensor record_with_output(const char* name, Tensor out, std::vector<Tensor> inputs,
                          OutputBackwardFn fn);

}  // namespace descent::detail
