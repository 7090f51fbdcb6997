// Runtime dtype switch: calls f with a value of the C++ type behind `dtype`.
#pragma once

#include "descent/dtype.hpp"

namespace descent::detail {

template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
    if (dtype == DType::f32) return f(float{});
    return f(double{});
}

}  // namespace descent::detail
