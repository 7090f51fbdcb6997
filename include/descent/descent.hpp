// Umbrella header: everything a user of descent needs.
#pragma once

#include "descent/autograd.hpp"
#include "descent/device.hpp"
#include "descent/dtype.hpp"
#include "descent/error.hpp"
#include "descent/hessian.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"
