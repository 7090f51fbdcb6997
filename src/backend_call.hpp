// How the dispatch layer reaches a backend: the backend that serves a tensor's device, and
// a tensor's elements as a backend Array. Only dispatch-layer files include this (dispatch,
// fused_ops, graph_capture, tensor storage); tests/layering/check_layers.py checks that nothing above does.
#pragma once

#include "backend/backend.hpp"
#include "descent/tensor.hpp"

namespace descent::detail {

Array array_of(const Tensor& t);  // a contiguous tensor's elements (else an internal error)
Backend& backend_of(const Tensor& t);

}  // namespace descent::detail
