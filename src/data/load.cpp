// load_dataset: picks the data source from its spec ("blog", "synthetic:...", *.csv, *.npy).
// Verified by tests/test_data.cpp (each form, and the error listing the accepted forms).
// The files themselves are opened by src/data/read_file.cpp (regular files only).
#include <cctype>
#include <string>

#include "descent/data.hpp"
#include "descent/error.hpp"
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
    if (spec == "blog") {
        // The post's X = [x, 1] is its model; dropping the ones column would be another problem.
        if (!intercept)
            throw Error("dataset 'blog': the blog's problem always has an intercept column "
                        "(X = [x, 1]); it cannot be loaded without one");
        return blog_problem(dtype, device).data;
    }
    // "synthetic" alone goes to the parser too, for its precise error (a file named
    // synthetic_data.csv must still load as CSV).
    if (spec == "synthetic" || spec.compare(0, 10, "synthetic:") == 0)
        return synthetic_dataset(parse_synthetic_spec(spec), intercept, dtype, device);
    if (spec.compare(0, 19, "synthetic-logistic:") == 0 || spec.compare(0, 18, "synthetic-softmax:") == 0)
        return synthetic_classes_dataset(parse_synthetic_classes_spec(spec), intercept, dtype, device);
    if (ends_with_ci(spec, ".csv")) return load_csv(spec, intercept, dtype, device, ones);
    if (ends_with_ci(spec, ".npy")) return load_npy(spec, intercept, dtype, device, ones);
    throw Error("dataset '" + detail::shown_path(spec) +
                "': not a known form; expected 'blog', 'synthetic:n=N,d=D[,noise=S][,seed=K]', "
                "'synthetic-logistic:n=N,d=D[,seed=K]', 'synthetic-softmax:n=N,d=D,k=K[,seed=S]', "
                "a .csv file or a .npy file");
}

}  // namespace descent
