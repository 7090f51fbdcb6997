// What a Tensor handle points at: storage, shape, dtype and its place in the autodiff graph.
// Private to the library; users only see descent::Tensor.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "descent/tensor.hpp"

namespace descent::detail {

// One allocation on one device, freed through that device's backend; or memory borrowed
// from its owner (never freed here; the owner keeps it alive while tensors use it).
struct Storage {
    Storage(std::size_t bytes, Device device);
    Storage(void* borrowed, std::size_t bytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data = nullptr;
    std::size_t bytes = 0;
    Device device;
    bool owned = true;
    // Borrowed memory's owner (from_blob): called with `data` when the storage goes.
    std::function<void(void*)> deleter;
};

// A recorded op: its inputs and the rule that maps the gradient of its output to gradients
// of its inputs (one per input; undefined where an input gets none). Rules are written with
// the differentiable ops, so that a backward pass with create_graph (grad mode on) records
// the graph of the gradient itself. Every op has one output.
struct Node {
    using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;
    const char* name = "";
    // The graph's edges: leaves themselves, other inputs as storage-free handles (only their
    // grad_fn and requires_grad; autograd.cpp's graph_edge), never read for values.
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

// A tensor is a view of a storage: element (i0, i1, ...) lives at storage element
// offset + sum i_k * strides[k]. Fresh tensors are dense row-major (contiguous strides, offset
// 0); narrow, select, permute, unsqueeze and squeeze make views with other strides/offsets.
struct TensorImpl {
    std::shared_ptr<Storage> storage;
    std::int64_t offset = 0;  // in elements
    Shape shape;
    Shape strides;          // in elements, one per dimension
    std::int64_t numel = 0;  // of shape, kept: the hot loops ask for it per mini-batch
    bool contiguous = true;  // dense row-major (Tensor::is_contiguous), kept for the same reason
    DType dtype = DType::f32;
    bool requires_grad = false;
    Tensor grad;
    std::shared_ptr<Node> grad_fn;  // null for leaves
};

// A new tensor with uninitialised contents.
Tensor make_tensor(const Shape& shape, DType dtype, Device device);
// A dense tensor over memory someone else owns (a device buffer of a host-chunk stream).
Tensor borrow_memory(void* data, const Shape& shape, DType dtype, Device device);
// Moves `view` to another storage offset, keeping its shape and strides (as torch's set_()):
// the training loops slide one view over the mini-batches instead of allocating a view per
// batch. Throws when an element would fall outside the storage. Only for views nothing else
// holds (no autodiff graph, no other handle expecting the old elements).
void set_storage_offset(const Tensor& view, std::int64_t offset);
// Row-major strides of `shape` (the last dimension has stride 1).
Shape contiguous_strides(const Shape& shape);
// A new tensor sharing the storage of a contiguous `base`, with its own shape (same numel).
Tensor make_view(const Tensor& base, const Shape& shape);
// A new tensor sharing the storage of `base`, with any shape, strides and storage offset
// (the caller keeps them inside the storage).
Tensor make_strided_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset);

// Attaches a backward rule to `out` when grad mode is on and any input requires grad.
// The rule may capture the inputs (they do not own the node). It must not capture `out`
// itself (out -> node -> out would be a reference cycle): a rule that needs the output uses
// record_with_output.
Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn fn);

// Whether record() would attach a node for these inputs: grad mode on and one of them
// requiring grad. The hot ops ask first, so that a pass that records nothing (a first-order
// backward, an optimizer under NoGrad) builds no rule, input list or shape copy to discard.
bool recording(const Tensor& a);
bool recording(const Tensor& a, const Tensor& b);
bool recording(const Tensor& a, const Tensor& b, const Tensor& c);

// record() for rules that need the op's output (exp, sqrt, tanh, sigmoid), the discipline of
// torch's SavedVariable: the node keeps the output's storage without its grad_fn and a weak
// reference to itself, and hands the rule, while it runs, a tensor on that storage whose
// grad_fn is the node. The graph a create_graph pass records through the output therefore
// leads back into this node, and no reference cycle exists between the output and its node.
using OutputBackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const Tensor& out)>;
Tensor record_with_output(const char* name, Tensor out, std::vector<Tensor> inputs,
                          OutputBackwardFn fn);

// Whether a gradient in a first-order pass (grad mode off) may be overwritten: dense, owned
// storage that nothing but this one handle reaches (a rule's fresh result, never the caller's
// seed, a leaf's grad() or a view), so no one else can see the buffer change.
bool sole_owner(const Tensor& g);

}  // namespace descent::detail
