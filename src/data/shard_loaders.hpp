// Internal: the loaders' forms that produce one process's rows of a data set, shared by
// load_dataset_shard (load.cpp) and the whole-data loaders, which call them with the whole
// range, so a shard and a whole load run the same code. Verified by tests/test_data_shard.cpp.
#pragma once

#include <string>

#include "descent/data.hpp"
#include "table.hpp"

namespace descent::detail {

// load_npy's rows shard_rows(total, rank, ranks) of the file at `path` (npy.cpp).
Dataset load_npy_shard(const std::string& path, int rank, int ranks, bool intercept, DType dtype,
                       Device device, OnesColumn ones);

// A CSV file ("-": standard input) or an NPY file (a process's rows of it) read with `options`
// (delimiter, the columns chosen).
Dataset load_csv_with(const std::string& path, bool intercept, DType dtype, Device device,
                      OnesColumn ones, const TableOptions& options);
Dataset load_npy_shard_with(const std::string& path, int rank, int ranks, bool intercept,
                            DType dtype, Device device, OnesColumn ones,
                            const TableOptions& options);

// Every column of a CSV / NPY file into X (features only, no target, no intercept; y
// undefined): load_features (load.cpp).
Dataset load_csv_features(const std::string& path, DType dtype, Device device,
                          char delimiter = ',');
Dataset load_npy_features(const std::string& path, DType dtype, Device device);

// Rows [rows.begin, rows.end) of synthetic_dataset(spec, ...) (rows.total == spec.n), and of
// synthetic_classes_dataset(spec, ...): row i is generated from its own counter i, so they are
// bitwise those rows of the whole set.
Dataset synthetic_dataset_rows(const SyntheticSpec& spec, RowShard rows, bool intercept,
                               DType dtype, Device device);
Dataset synthetic_classes_dataset_rows(const SyntheticClassesSpec& spec, RowShard rows,
                                       bool intercept, DType dtype, Device device);

}  // namespace descent::detail
