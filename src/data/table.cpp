// Internal: the final X and y of a loaded table, filled value by value (see table.hpp).
// Verified through the CSV and NPY loader tests in tests/test_data.cpp.
#include "table.hpp"

#include <utility>

#include "descent/error.hpp"

namespace descent::detail {

namespace {

// OnesColumn::automatic's choice (data.hpp): stored while the column is cheap.
OnesColumn resolve(OnesColumn ones, std::int64_t n_rows, std::int64_t n_cols, DType dtype) {
    if (ones != OnesColumn::automatic) return ones;
    const double column = double(n_rows) * double(dtype_size(dtype));
    const double xy = column * double(n_cols);  // X's features and y
    return column <= double(kStoredOnesLimit) + 0.08 * xy ? OnesColumn::stored
                                                           : OnesColumn::implicit;
}

}  // namespace

TableBuilder::TableBuilder(std::int64_t n_rows, std::int64_t n_cols, bool intercept,
                           OnesColumn ones, DType dtype)
    : m_n_rows(n_rows),
      m_d(n_cols - 1),
      m_intercept(intercept),
      m_store_ones(intercept && resolve(ones, n_rows, n_cols, dtype) == OnesColumn::stored),
      m_f32(dtype == DType::f32),
      m_ones(m_store_ones || !intercept ? OnesColumn::stored : OnesColumn::implicit) {
    const std::int64_t x_cols = m_store_ones ? m_d + 1 : m_d;
    // empty(): no fill, so a page is first touched when its values arrive.
    m_X = empty({n_rows, x_cols}, dtype, Device::cpu());
    m_Y = empty({n_rows}, dtype, Device::cpu());
    m_x = m_X.data_ptr();
    m_y = m_Y.data_ptr();
}

void TableBuilder::overflow() const {
    throw Error("internal error: more than the " + std::to_string(m_n_rows) +
                " rows counted were loaded");
}

Dataset TableBuilder::finish(Device device, std::string source) {
    if (m_row != m_n_rows || m_col != 0)
        throw Error("internal error: " + std::to_string(m_row) + " of " +
                    std::to_string(m_n_rows) + " rows were loaded");
    Dataset data;
    // to() returns the same tensor when it is already on the device (no copy on the CPU).
    data.X = m_X.to(device);
    data.y = m_Y.to(device);
    data.source = std::move(source);
    data.intercept = m_intercept;
    data.ones_column = m_ones;
    return data;
}

}  // namespace descent::detail
