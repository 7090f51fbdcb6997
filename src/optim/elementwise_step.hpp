// The shared body of every elementwise optimizer's step(): gather the parameters that have a
// gradient, create missing state buffers, build each tensor's UpdateStep on the host, and hand
// the whole list to the backend as one multi-tensor update per (device, dtype). Everything is
// checked before anything is written, and new buffers and step counts are committed only
// after the update succeeded: a step that throws changes nothing (strong guarantee).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "descent/optim/optimizer.hpp"
#include "shared/optim_rules.hpp"

namespace descent::optim::detail {

struct BufferSpec {
    const char* name = nullptr;  // nullptr: slot unused
    double initial_value = 0.0;
};

// make_step receives the step count the parameter will have after this step (1 on its first).
// `optimizer` names the optimizer in error messages.
void elementwise_step(const std::string& optimizer, const std::vector<Tensor>& params,
                      std::vector<ParamState>& state, const std::array<BufferSpec, 3>& buffers,
                      const std::function<UpdateStep(std::int64_t step)>& make_step);

// Throws descent::Error "<optimizer>: <option> must be <rule>, got <value>" unless ok.
void require(bool ok, const char* optimizer, const char* option, const char* rule, double value);

}  // namespace descent::optim::detail
