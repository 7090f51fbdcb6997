// Internal: splits a row-major table into features and target and builds the tensors.
// Verified through the CSV and NPY loader tests in tests/test_data.cpp.
#include "table.hpp"

#include <utility>

namespace descent::detail {

Dataset dataset_from_table(const std::vector<double>& table, std::int64_t n_rows,
                           std::int64_t n_cols, bool intercept, DType dtype, Device device,
                           std::string source) {
    const std::int64_t d = n_cols - 1;
    const std::int64_t x_cols = intercept ? d + 1 : d;
    std::vector<double> x(static_cast<std::size_t>(n_rows * x_cols));
    std::vector<double> y(static_cast<std::size_t>(n_rows));
    for (std::int64_t i = 0; i < n_rows; ++i) {
        const double* row = table.data() + i * n_cols;
        double* out = x.data() + i * x_cols;
        for (std::int64_t j = 0; j < d; ++j) out[j] = row[j];
        if (intercept) out[d] = 1.0;
        y[static_cast<std::size_t>(i)] = row[d];
    }
    Dataset data;
    data.X = from_vector(x, {n_rows, x_cols}, dtype, device);
    data.y = from_vector(y, {n_rows}, dtype, device);
    data.source = std::move(source);
    data.intercept = intercept;
    return data;
}

}  // namespace descent::detail
