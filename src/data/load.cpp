// load_dataset and load_dataset_shard: pick the data source from its spec ("blog",
// "synthetic:...", *.csv, *.npy) and load all its rows, or one process's shard of them.
// Verified by tests/test_data.cpp (each form, and the error listing the accepted forms) and
// tests/test_data_shard.cpp (every form's shards against the whole).
// The files themselves are opened by src/data/read_file.cpp (regular files only).
#include <cctype>
#include <string>

#include "descent/data.hpp"
#include "descent/error.hpp"
#include "shard_loaders.hpp"
#include "text.hpp"

namespace descent {

namespace {
bool ends_with_ci(const std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i])
            return false;
    return true;
}
}  // namespace

Dataset load_dataset(const std::string& spec, bool intercept, DType dtype, Device device,
                     OnesColumn ones) {
    return load_dataset_shard(spec, 0, 1, intercept, dtype, device, ones);
}

Dataset load_dataset(const std::string& spec, const LoadOptions& options) {
    return load_dataset_shard(spec, 0, 1, options);
}

Dataset load_dataset_shard(const std::string& spec, int rank, int ranks, bool intercept,
                           DType dtype, Device device, OnesColumn ones) {
    LoadOptions options;
    options.intercept = intercept;
    options.dtype = dtype;
    options.device = device;
    options.ones = ones;
    return load_dataset_shard(spec, rank, ranks, options);
}

Dataset load_dataset_shard(const std::string& spec, int rank, int ranks,
                           const LoadOptions& options) {
    const bool intercept = options.intercept;
    const DType dtype = options.dtype;
    const Device device = options.device;
    const OnesColumn ones = options.ones;
    detail::TableOptions table;
    // A .tsv file is CSV with tabs (unless another delimiter is asked for).
    table.delimiter = ends_with_ci(spec, ".tsv") && options.delimiter == ',' ? '\t' : options.delimiter;
    table.columns = options.columns;
    const bool is_file = spec == "-" || ends_with_ci(spec, ".csv") || ends_with_ci(spec, ".tsv") ||
                         ends_with_ci(spec, ".npy");
    const ColumnChoice& c = options.columns;
    if (!is_file && (!c.target.empty() || !c.features.empty() || !c.drop.empty()))
        throw Error("dataset '" + detail::shown_path(spec) + "': columns are chosen in data "
                    "files only (.csv, .npy, -)");
    if (options.delimiter != ',' && !(spec == "-" || ends_with_ci(spec, ".csv") || ends_with_ci(spec, ".tsv")))
        throw Error("dataset '" + detail::shown_path(spec) + "': a delimiter applies to CSV only");
    shard_rows(0, rank, ranks);  // a bad rank or process count fails before any work
    if (spec == "blog") {
        // The post's X = [x, 1] is its model; dropping the ones column would be another problem.
        if (!intercept)
            throw Error("dataset 'blog': the blog's problem always has an intercept column "
                        "(X = [x, 1]); it cannot be loaded without one");
        Dataset data = blog_problem(dtype, device).data;
        const RowShard rows = shard_rows(data.rows.total, rank, ranks);
        if (rows.rows() == data.rows.total) return data;
        // 100 rows, one block: made whole (cheap) and cut to this rank's rows (all or none).
        data.X = data.X.narrow(0, rows.begin, rows.rows()).clone();
        data.y = data.y.narrow(0, rows.begin, rows.rows()).clone();
        data.rows = rows;
        return data;
    }
    // "synthetic" alone goes to the parser too, for its precise error (a file named
    // synthetic_data.csv must still load as CSV).
    if (spec == "synthetic" || spec.compare(0, 10, "synthetic:") == 0) {
        const SyntheticSpec s = parse_synthetic_spec(spec);
        return detail::synthetic_dataset_rows(s, shard_rows(s.n, rank, ranks), intercept, dtype,
                                              device);
    }
    if (spec.compare(0, 19, "synthetic-logistic:") == 0 ||
        spec.compare(0, 18, "synthetic-softmax:") == 0) {
        const SyntheticClassesSpec s = parse_synthetic_classes_spec(spec);
        return detail::synthetic_classes_dataset_rows(s, shard_rows(s.n, rank, ranks), intercept,
                                                      dtype, device);
    }
    if (spec == "-" || ends_with_ci(spec, ".csv") || ends_with_ci(spec, ".tsv")) {
        // A process's rows of a CSV file start at a byte offset known only by reading every
        // line before them; an NPY file's rows are at offsets computed from its header.
        if (ranks > 1)
            throw Error(detail::shown_path(spec) + ": a CSV file cannot be split among " +
                        std::to_string(ranks) +
                        " processes; convert it to NPY (e.g. numpy.save) to train on it with " +
                        std::to_string(ranks) + " processes");
        return detail::load_csv_with(spec, intercept, dtype, device, ones, table);
    }
    if (ends_with_ci(spec, ".npy"))
        return detail::load_npy_shard_with(spec, rank, ranks, intercept, dtype, device, ones, table);
    throw Error("dataset '" + detail::shown_path(spec) +
                "': not a known form; expected 'blog', 'synthetic:n=N,d=D[,noise=S][,seed=K]', "
                "'synthetic-logistic:n=N,d=D[,seed=K]', 'synthetic-softmax:n=N,d=D,k=K[,seed=S]', "
                "a .csv (or .tsv) file, a .npy file or - (CSV on standard input)");
}

Dataset load_features(const std::string& path, DType dtype, Device device) {
    if (ends_with_ci(path, ".csv")) return detail::load_csv_features(path, dtype, device);
    if (ends_with_ci(path, ".tsv")) return detail::load_csv_features(path, dtype, device, '\t');
    if (ends_with_ci(path, ".npy")) return detail::load_npy_features(path, dtype, device);
    throw Error(detail::shown_path(path) + ": not a .csv, .tsv or .npy file");
}

}  // namespace descent
