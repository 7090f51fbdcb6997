// Internal: writes a table's values (row-major, target in the last column) straight into the
// final X and y tensors, so that a loader holds the data once. Shared by the CSV and NPY
// loaders; verified through their tests in tests/test_data.cpp and tests/cli/load_memory.py.
#pragma once

#include <cstdint>
#include <string>

#include "descent/data.hpp"

namespace descent::detail {

// How a table of n_rows x n_cols values (the target last) loaded for `device` holds its ones
// column on the host: `ones` itself unless automatic; automatic (data.hpp) is stored while the
// column costs at most kStoredOnesLimit + 8% of the data, implicit beyond, and implicit for
// another device than the cpu (the column is then appended there).
OnesColumn host_ones_column(OnesColumn ones, std::int64_t n_rows, std::int64_t n_cols,
                            DType dtype, Device device);

// Holds rows [rows.begin, rows.end) of a table of rows.total rows x n_cols values (all of it
// for a whole load, {0, n, n}). Allocates X (rows.rows(), d[+1]) and y (rows.rows()) on the
// CPU in `dtype` once (d = n_cols - 1, the ones column LAST with a stored intercept; none
// without intercept or with an implicit one), then takes those rows' values one by one in
// row-major order: columns 0..d-1 go to X, column d to y. Values must already be checked
// (finite, and within f32's range when dtype is f32).
class TableBuilder {
public:
    // `device`: where finish() will put the data (OnesColumn::automatic on another device than
    // the cpu keeps the host table implicit and stores the column on the device). automatic
    // decides from rows.total, the whole table, so that every shard of it holds the same form.
    // `target` false: a table of features only (predictions' input): every column goes to X,
    // y stays undefined, and there is no intercept.
    TableBuilder(RowShard rows, std::int64_t n_cols, bool intercept, OnesColumn ones, DType dtype,
                 Device device, bool target = true);

    void push(double v) {
        if (m_col < m_d) {
            store(m_x, m_x_at++, v);
            if (++m_col < m_d || m_target) return;
            // Features only: the row ends with its last feature.
            if (m_row >= m_n_rows) overflow();
            m_col = 0;
            ++m_row;
            return;
        }
        if (m_row >= m_n_rows) overflow();
        store(m_y, m_row, v);
        if (m_store_ones) store(m_x, m_x_at++, 1.0);
        m_col = 0;
        ++m_row;
    }
    std::int64_t rows_done() const { return m_row; }

    // The dataset, on `device`, its `rows` the shard given; every row must have been pushed.
    Dataset finish(Device device, std::string source);

private:
    void store(void* base, std::int64_t at, double v) const {
        if (m_f32) {
            static_cast<float*>(base)[at] = static_cast<float>(v);
        } else {
            static_cast<double*>(base)[at] = v;
        }
    }
    [[noreturn]] void overflow() const;

    RowShard m_rows;
    Tensor m_X, m_Y;
    void* m_x = nullptr;  // m_X's and m_y's elements (float or double)
    void* m_y = nullptr;
    std::int64_t m_n_rows, m_d;
    bool m_target, m_intercept, m_store_ones, m_f32;
    OnesColumn m_ones;
    bool m_append_on_device;
    std::int64_t m_row = 0, m_col = 0, m_x_at = 0;
};

}  // namespace descent::detail
