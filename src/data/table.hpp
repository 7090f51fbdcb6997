// Internal: turns a row-major table of doubles (target in the last column) into a Dataset.
// Shared by the CSV and NPY loaders; verified through their tests in tests/test_data.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/data.hpp"

namespace descent::detail {

// table is (n_rows, n_cols) row-major, n_cols >= 2; X gets columns 0..n_cols-2 (plus a ones
// column with intercept), y the last column.
Dataset dataset_from_table(const std::vector<double>& table, std::int64_t n_rows,
                           std::int64_t n_cols, bool intercept, DType dtype, Device device,
                           std::string source);

}  // namespace descent::detail
