// split_validation (include/descent/data.hpp): a seeded hold-out of rows.
#include <cmath>
#include <cstring>
#include <vector>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "shared/row_permutation.hpp"

namespace descent {

namespace {

// The rows of `t` (on the cpu, contiguous) marked `take`, in order, on `device`.
Tensor rows_of(const Tensor& t, const std::vector<char>& take, bool wanted, std::int64_t count,
               Device device) {
    Shape shape = t.shape();
    shape[0] = count;
    Tensor out = empty(shape, t.dtype(), Device::cpu());
    const std::size_t row_bytes =
        dtype_size(t.dtype()) * static_cast<std::size_t>(t.dim() > 1 ? t.shape()[1] : 1);
    const char* from = static_cast<const char*>(t.data_ptr());
    char* to = static_cast<char*>(out.data_ptr());
    for (std::size_t i = 0; i < take.size(); ++i)
        if ((take[i] != 0) == wanted) {
            std::memcpy(to, from + i * row_bytes, row_bytes);
            to += row_bytes;
        }
    return out.to(device);
}

}  // namespace

ValidationSplit split_validation(const Dataset& data, double fraction, std::uint64_t seed) {
    const std::int64_t n = data.X.shape()[0];
    if (!(fraction > 0.0 && fraction < 1.0))
        throw Error("split_validation: the fraction must be in (0, 1), got " + std::to_string(fraction));
    if (data.rows.rows() != data.rows.total)
        throw Error("split_validation: the data is one process's shard; split the whole data set");
    const auto held = static_cast<std::int64_t>(std::llround(fraction * double(n)));
    const std::int64_t n_val = std::max<std::int64_t>(1, held);
    if (n < 2 || n_val >= n)
        throw Error("split_validation: " + std::to_string(n) + " rows cannot give " +
                    std::to_string(n_val) + " to validation and keep one to train on");
    // Epoch -1: a stream of its own, apart from the shuffles of epochs 0, 1, ...
    const auto perm = detail::RowPermutation::make(n, true, seed, -1);
    std::vector<char> val(static_cast<std::size_t>(n), 0);
    for (std::int64_t i = 0; i < n_val; ++i) val[static_cast<std::size_t>(perm.row(i))] = 1;
    const Tensor X = data.X.to(Device::cpu()).contiguous(), y = data.y.to(Device::cpu()).contiguous();
    const Device device = data.X.device();
    ValidationSplit split{data, data};
    split.train.X = rows_of(X, val, false, n - n_val, device);
    split.train.y = rows_of(y, val, false, n - n_val, device);
    split.validation.X = rows_of(X, val, true, n_val, device);
    split.validation.y = rows_of(y, val, true, n_val, device);
    split.train.rows = RowShard{0, n - n_val, n - n_val};
    split.validation.rows = RowShard{0, n_val, n_val};
    split.train.true_weights = split.validation.true_weights = data.true_weights;
    return split;
}

}  // namespace descent
