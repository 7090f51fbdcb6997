// Internal: the final X and y of a loaded table, filled value by value (see table.hpp).
// Verified through the CSV and NPY loader tests in tests/test_data.cpp.
#include "table.hpp"

#include <algorithm>
#include <utility>

#include "descent/error.hpp"
#include "descent/ops.hpp"

namespace descent::detail {

OnesColumn host_ones_column(OnesColumn ones, std::int64_t n_rows, std::int64_t n_cols,
                            DType dtype, Device device) {
    if (ones != OnesColumn::automatic) return ones;
    if (!device.is_cpu()) return OnesColumn::implicit;
    const double column = double(n_rows) * double(dtype_size(dtype));
    const double xy = column * double(n_cols);  // X's features and y
    return column <= double(kStoredOnesLimit) + 0.08 * xy ? OnesColumn::stored
                                                           : OnesColumn::implicit;
}

TableBuilder::TableBuilder(RowShard rows, std::int64_t n_cols, bool intercept, OnesColumn ones,
                           DType dtype, Device device, bool target)
    : m_rows(rows),
      m_n_rows(rows.rows()),
      m_d(target ? n_cols - 1 : n_cols),
      m_target(target),
      m_intercept(intercept && target),
      m_store_ones(m_intercept && host_ones_column(ones, rows.total, n_cols, dtype, device) ==
                                    OnesColumn::stored),
      m_f32(dtype == DType::f32),
      m_ones(m_store_ones || !m_intercept ? OnesColumn::stored : OnesColumn::implicit),
      m_append_on_device(ones == OnesColumn::automatic && m_intercept && !device.is_cpu()) {
    const std::int64_t x_cols = m_store_ones ? m_d + 1 : m_d;
    // empty(): no fill, so a page is first touched when its values arrive.
    m_X = empty({m_n_rows, x_cols}, dtype, Device::cpu());
    m_x = m_X.data_ptr();
    if (target) {
        m_Y = empty({m_n_rows}, dtype, Device::cpu());
        m_y = m_Y.data_ptr();
    }
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
    if (m_target) data.y = m_Y.to(device);
    data.source = std::move(source);
    data.intercept = m_intercept;
    data.ones_column = m_ones;
    data.rows = m_rows;
    if (m_append_on_device) {
        // The host held the file's size; the device stores the column its fused kernels read,
        // filled in row chunks so that it holds X once (plus a chunk) at any time.
        const std::int64_t d = m_X.shape()[1];
        data.X = empty({m_n_rows, d + 1}, m_X.dtype(), device);
        data.X.narrow(1, d, 1).fill_(1.0);
        const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t(1) << 24) / (d + 1));
        for (std::int64_t r = 0; r < m_n_rows; r += chunk) {
            const std::int64_t rows = std::min(chunk, m_n_rows - r);
            data.X.narrow(0, r, rows).narrow(1, 0, d).copy_(m_X.narrow(0, r, rows).to(device));
        }
        data.ones_column = OnesColumn::stored;
    } else {
        // to() returns the same tensor when it is already on the device (no copy on the CPU).
        data.X = m_X.to(device);
    }
    return data;
}

}  // namespace descent::detail
