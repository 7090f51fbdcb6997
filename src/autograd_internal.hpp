// The engine entry point shared by Tensor::backward and descent::backward.
#pragma once

#include "descent/tensor.hpp"

namespace descent::detail {

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph);

}  // namespace descent::detail
