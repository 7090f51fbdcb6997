// Internal: writes a table's values (row-major, target in the last column) straight into the
// final X and y tensors, so that a loader holds the data once. Shared by the CSV and NPY
// loaders; verified through their tests in tests/test_data.cpp and tests/cli/load_memory.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "descent/data.hpp"

namespace descent::detail {

// How a table of n_rows x n_cols values (the target last) loaded for `device` holds its ones
// column on the host: `ones` itself unless automatic; automatic (data.hpp) is stored while the
// column costs at most kStoredOnesLimit + 8% of the data, implicit beyond, and implicit for
// another device than the cpu (the column is then appended there).
OnesColumn host_ones_column(OnesColumn ones, std::int64_t n_rows, std::int64_t n_cols,
                            DType dtype, Device device);

// How a file's table is read: CSV's delimiter, the columns chosen, whether one is the target.
struct TableOptions {
    char delimiter = ',';
    ColumnChoice columns;
    bool target = true;
};

// Which file column goes where: a feature slot (>= 0, X's column), the target, or nowhere.
constexpr std::int32_t kTargetColumn = -1, kSkipColumn = -2;
struct ColumnPlan {
    std::vector<std::int32_t> dest;  // per file column
    std::int64_t features = 0;       // X's feature columns
    bool target = true;              // whether a column is the target (else y is undefined)
    std::vector<std::string> names;  // the features' then the target's names, when the file has
};

// The plan for a file of n_cols columns (`names`: its header, or empty) under `choice`
// (data.hpp's ColumnChoice; empty: the last column is the target, the others the features in
// order). target false (a table of features only): no target, every chosen column a feature.
// Throws descent::Error starting with `origin` for a name not in the header (listing it), an
// index out of range, the target among the features, a column given twice, no feature left.
ColumnPlan plan_columns(std::int64_t n_cols, const std::vector<std::string>& names,
                        const ColumnChoice& choice, bool target, const std::string& origin);

// Holds rows [rows.begin, rows.end) of a table of rows.total rows (all of it for a whole load,
// {0, n, n}) whose columns go where `plan` says. Allocates X (rows.rows(), d[+1]) and y
// (rows.rows()) on the CPU in `dtype` once (d = plan.features, the ones column LAST with a
// stored intercept; none without intercept or with an implicit one), then takes the values
// one by one in row-major order (push), or anywhere (put, then complete). Values must already
// be checked (finite, and within f32's range when dtype is f32).
class TableBuilder {
public:
    // `device`: where finish() will put the data (OnesColumn::automatic on another device than
    // the cpu keeps the host table implicit and stores the column on the device). automatic
    // decides from rows.total, the whole table, so that every shard of it holds the same form.
    // Without a target in the plan there is no intercept either.
    TableBuilder(RowShard rows, ColumnPlan plan, bool intercept, OnesColumn ones, DType dtype,
                 Device device);

    void push(double v) {
        if (m_col == 0 && m_row >= m_n_rows) overflow();
        put(m_row, m_col, v);
        next_column();
    }
    // A value of a column the plan leaves out (never parsed: an id column may hold text).
    void skip() {
        if (m_col == 0 && m_row >= m_n_rows) overflow();
        next_column();
    }
    bool skipped(std::int64_t col) const {
        return m_plan.dest[static_cast<std::size_t>(col)] == kSkipColumn;
    }
    // Row `row` (of this shard), file column `col`.
    void put(std::int64_t row, std::int64_t col, double v) {
        const std::int32_t to = m_plan.dest[static_cast<std::size_t>(col)];
        if (to >= 0) {
            store(m_x, row * m_x_cols + to, v);
        } else if (to == kTargetColumn) {
            store(m_y, row, v);
        }
    }
    // After put(): every row has all its values.
    void complete() { m_row = m_n_rows; }
    std::int64_t rows_done() const { return m_row; }

    // The dataset, on `device`, its `rows` the shard given, column_names the plan's; every
    // row must have been pushed.
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
    void next_column() {
        if (++m_col == m_n_cols) {
            m_col = 0;
            ++m_row;
        }
    }

    RowShard m_rows;
    ColumnPlan m_plan;
    Tensor m_X, m_Y;
    void* m_x = nullptr;  // m_X's and m_y's elements (float or double)
    void* m_y = nullptr;
    std::int64_t m_n_rows, m_n_cols, m_d, m_x_cols;
    bool m_intercept, m_store_ones, m_f32;
    OnesColumn m_ones;
    bool m_append_on_device;
    std::int64_t m_row = 0, m_col = 0;
};

}  // namespace descent::detail
