// The shared body of every elementwise optimizer's step(): gather the parameters that have a
// gradient, create missing state buffers, build each tensor's UpdateStep on the host, and hand
// the whole list to the backend as one multi-tensor update per (device, dtype).
#pragma once

#include <array>
#include <functional>

#include "descent/optim/optimizer.hpp"
#include "descent/optim/rules.hpp"

namespace descent::optim::detail {

struct BufferSpec {
    const char* name = nullptr;  // nullptr: slot unused
    double initial_value = 0.0;
};

// make_step receives the parameter's state after its step count was advanced.
void elementwise_step(const std::vector<Tensor>& params,
                      std::vector<ParamState>& state, const std::array<BufferSpec, 3>& buffers,
                      const std::function<UpdateStep(const ParamState&)>& make_step);

// Throws descent::Error "<optimizer>: <option> must be <rule>, got <value>" unless ok.
void require(bool ok, const char* optimizer, const char* option, const char* rule, double value);

}  // namespace descent::optim::detail
