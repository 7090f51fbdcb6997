// Pieces shared by the CLI's commands: device choice, optimizer flags, initial weights,
// progress reporting, and the plain summary of a finished run.
#pragma once

#include <cstdint>
#include <chrono>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "descent/data.hpp"
#include "descent/device.hpp"
#include "descent/error.hpp"
#include "descent/optim/factory.hpp"
#include "descent/train.hpp"

namespace descent::cli {

// "auto" picks cuda:0 when a device exists, else the cpu; then `notice` says so in one line,
// for the caller to print once the run has succeeded (a failed run prints only its error).
struct DeviceChoice {
    Device device;
    std::string notice;
};
DeviceChoice resolve_device(const std::string& text);

// Flags every training command accepts for choosing an optimizer and its hyperparameters.
std::vector<FlagSpec> optimizer_flags();
optim::OptimizerConfig optimizer_config(const Args& args, const std::string& default_name);

// "blog" (the post's rand(2); blog data only), "zeros", "random" (numpy's rand(d) with
// --seed), or "v1,v2,..." with exactly d values.
std::vector<double> initial_weights(const std::string& spec, std::int64_t d,
                                    const Dataset& data, std::uint32_t seed);

// Progress on stderr: a live bar on a terminal, else a line every tenth of the run.
// Training progress on stderr: a live bar on a terminal, else a line every tenth of the run.
// Each shows the epoch, the loss at its start (before its update: the last one differs from
// the loss at the final weights the summary reports), the time so far, rows per second and
// the time left at this run's pace.
class Progress {
public:
    // `rows`: the rows an epoch visits (0: unknown, no rate shown).
    Progress(std::string label, std::int64_t epochs, std::int64_t rows, bool enabled);
    ~Progress();  // ends a live bar's line, also when training throws
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    void update(std::int64_t epoch, double loss);
    void finish();

private:
    std::string timing(std::int64_t done) const;

    std::string m_label;
    std::int64_t m_epochs, m_rows;
    bool m_enabled;
    bool m_tty;
    bool m_bar_open = false;
    std::int64_t m_every;
    std::int64_t m_first = -1;  // the first epoch this run did (a resumed run starts later)
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

// `f()` (a parser of a flag's value), its descent::Error a UsageError (exit 2) prefixed by
// `what`: a bad value is a usage error, as a bad flag is.
template <class F>
auto usage_on_error(const std::string& what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const OutOfMemory&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(what + e.what());
    }
}

// Euclidean distance; NaN when the sizes differ or either is empty.
double distance(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace descent::cli
