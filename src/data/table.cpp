// Internal: the final X and y of a loaded table, filled value by value (see table.hpp).
// Verified through the CSV and NPY loader tests in tests/test_data.cpp.
#include "table.hpp"

#include <algorithm>
#include <utility>

#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "text.hpp"

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

namespace {

// A column given by name (in `names`) or by index from 0; -1 when neither.
std::int64_t find_column(const std::string& key, std::int64_t n_cols,
                         const std::vector<std::string>& names) {
    for (std::size_t j = 0; j < names.size(); ++j)
        if (names[j] == key) return static_cast<std::int64_t>(j);
    if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
        key.size() <= 18) {
        const std::int64_t j = std::stoll(key);
        if (j < n_cols) return j;
    }
    return -1;
}

}  // namespace

ColumnPlan plan_columns(std::int64_t n_cols, const std::vector<std::string>& names,
                        const ColumnChoice& choice, bool target, const std::string& origin) {
    const auto column = [&](const std::string& key, const char* what) {
        const std::int64_t j = find_column(key, n_cols, names);
        if (j < 0) {
            std::string known;
            for (std::size_t i = 0; i < names.size() && i < 20; ++i)
                known += (i ? ", " : "") + detail::shown_field(names[i]);
            throw Error(origin + ": " + what + " '" + detail::shown_field(key) + "' is not a column (" +
                        (names.empty() ? "the file has no header: give an index from 0 to " +
                                             std::to_string(n_cols - 1)
                                       : "columns: " + known + (names.size() > 20 ? ", ..." : "") +
                                             "; or an index from 0 to " + std::to_string(n_cols - 1)) +
                        ")");
        }
        return j;
    };
    ColumnPlan plan;
    plan.target = target;
    plan.dest.assign(static_cast<std::size_t>(n_cols), kSkipColumn);
    std::int64_t target_col = -1;
    if (target) {
        target_col = choice.target.empty() ? n_cols - 1 : column(choice.target, "--target");
        plan.dest[static_cast<std::size_t>(target_col)] = kTargetColumn;
    } else if (!choice.target.empty()) {
        throw Error(origin + ": a table of features has no target column");
    }
    std::vector<char> dropped(static_cast<std::size_t>(n_cols), 0);
    for (const std::string& key : choice.drop) {
        const std::int64_t j = column(key, "--drop");
        if (j == target_col)
            throw Error(origin + ": --drop '" + detail::shown_field(key) + "' is the target column");
        dropped[static_cast<std::size_t>(j)] = 1;
    }
    std::vector<std::int64_t> features;
    if (!choice.features.empty()) {
        for (const std::string& key : choice.features) {
            const std::int64_t j = column(key, "--features");
            if (j == target_col)
                throw Error(origin + ": --features '" + detail::shown_field(key) + "' is the target column");
            if (dropped[static_cast<std::size_t>(j)])
                throw Error(origin + ": --features '" + detail::shown_field(key) + "' is also dropped");
            if (plan.dest[static_cast<std::size_t>(j)] != kSkipColumn)
                throw Error(origin + ": --features names column '" + detail::shown_field(key) + "' twice");
            plan.dest[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(features.size());
            features.push_back(j);
        }
    } else {
        for (std::int64_t j = 0; j < n_cols; ++j)
            if (j != target_col && !dropped[static_cast<std::size_t>(j)]) {
                plan.dest[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(features.size());
                features.push_back(j);
            }
    }
    if (features.empty())
        throw Error(origin + ": no feature column is left (" + std::to_string(n_cols) +
                    " column(s), the target and " + std::to_string(choice.drop.size()) + " dropped)");
    plan.features = static_cast<std::int64_t>(features.size());
    if (!names.empty()) {
        for (std::int64_t j : features) plan.names.push_back(names[static_cast<std::size_t>(j)]);
        if (target) plan.names.push_back(names[static_cast<std::size_t>(target_col)]);
    }
    return plan;
}

TableBuilder::TableBuilder(RowShard rows, ColumnPlan plan, bool intercept, OnesColumn ones,
                           DType dtype, Device device)
    : m_rows(rows),
      m_plan(std::move(plan)),
      m_n_rows(rows.rows()),
      m_n_cols(static_cast<std::int64_t>(m_plan.dest.size())),
      m_d(m_plan.features),
      m_intercept(intercept && m_plan.target),
      m_store_ones(m_intercept && host_ones_column(ones, rows.total, m_d + 1, dtype, device) ==
                                      OnesColumn::stored),
      m_f32(dtype == DType::f32),
      m_ones(m_store_ones || !m_intercept ? OnesColumn::stored : OnesColumn::implicit),
      m_append_on_device(ones == OnesColumn::automatic && m_intercept && !device.is_cpu()) {
    m_x_cols = m_store_ones ? m_d + 1 : m_d;
    // empty(): no fill, so a page is first touched when its values arrive.
    m_X = empty({m_n_rows, m_x_cols}, dtype, Device::cpu());
    m_x = m_X.data_ptr();
    if (m_plan.target) {
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
    // The ones column, filled once every value is in (push and put alike).
    if (m_store_ones) m_X.narrow(1, m_d, 1).fill_(1.0);
    Dataset data;
    if (m_plan.target) data.y = m_Y.to(device);
    data.column_names = m_plan.names;
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
