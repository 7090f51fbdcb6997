// Element types. descent chooses the dtype at run time (a switch, not a template parameter),
// so one Tensor type carries f32 or f64 data.
#pragma once

#include <cstddef>
#include <string>

namespace descent {

enum class DType { f32, f64 };

inline std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }
inline const char* dtype_name(DType t) { return t == DType::f32 ? "f32" : "f64"; }

// Parses "f32"/"float32"/"float" and "f64"/"float64"/"double"; throws descent::Error otherwise.
DType parse_dtype(const std::string& text);

}  // namespace descent
