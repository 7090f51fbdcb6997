// Checkpoint serialisation (format in include/descent/checkpoint.hpp), atomic save, verified
// load and restore. The payload, in order:
//   u64 n_meta, then n_meta x (text key, text value)      text = u64 length + bytes
//   i64 epoch
//   u64 n_params, then n_params x tensor                  tensor = u8 dtype (0 f32, 1 f64),
//   text optimizer name, u64 n_states, then each:                  u8 rank, rank x i64 dims,
//       i64 step, u64 n_buffers, n_buffers x (text, tensor)        raw elements
//   u64 n_losses, n_losses x f64
//   u64 n_rows, u64 row_length, n_rows x row_length x f64 (the trajectory)
#include "descent/checkpoint.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "checkpoint/container.hpp"
#include "data/write_file.hpp"
#include "descent/autograd.hpp"
#include "descent/version.hpp"
#include "descent/error.hpp"
#include "dispatch.hpp"

namespace descent {

namespace {

constexpr detail::ContainerFormat kFormat{{'D', 'S', 'C', 'N', 'T', 'C', 'K', 'P'},
                                          kCheckpointVersion, "checkpoint", 1};
using detail::read_tensor;
using detail::write_tensor;

}  // namespace

Checkpoint make_checkpoint(const optim::Optimizer& optimizer, std::int64_t epoch,
                           std::vector<double> losses, std::vector<std::vector<double>> weights,
                           std::map<std::string, std::string> meta) {
    Checkpoint c;
    c.meta = std::move(meta);
    c.meta.emplace("descent_version", DESCENT_VERSION_STRING);  // the writer's, unless given
    c.epoch = epoch;
    for (const Tensor& p : optimizer.params()) c.params.push_back(p.detach().to(Device::cpu()).clone());
    c.optimizer = optimizer.state();
    for (auto& ps : c.optimizer.params)
        for (auto& [name, buffer] : ps.buffers) buffer = buffer.to(Device::cpu());
    c.losses = std::move(losses);
    c.weights = std::move(weights);
    return c;
}

std::string serialize_checkpoint(const Checkpoint& c) {
    detail::ByteWriter payload;
    payload.u64(c.meta.size());
    for (const auto& [key, value] : c.meta) {
        payload.text(key);
        payload.text(value);
    }
    payload.i64(c.epoch);
    payload.u64(c.params.size());
    for (const Tensor& p : c.params) {
        if (!p.defined()) throw Error("save_checkpoint: parameter is undefined");
        write_tensor(payload, p);
    }
    payload.text(c.optimizer.optimizer);
    payload.u64(c.optimizer.params.size());
    for (const optim::ParamState& ps : c.optimizer.params) {
        payload.i64(ps.step);
        payload.u64(ps.buffers.size());
        for (const auto& [name, buffer] : ps.buffers) {
            if (!buffer.defined()) throw Error("save_checkpoint: optimizer buffer '" + name + "' is undefined");
            payload.text(name);
            write_tensor(payload, buffer);
        }
    }
    payload.u64(c.losses.size());
    for (double v : c.losses) payload.f64(v);
    const std::size_t row = c.weights.empty() ? 0 : c.weights.front().size();
    payload.u64(c.weights.size());
    payload.u64(row);
    for (const auto& w : c.weights) {
        if (w.size() != row) throw Error("save_checkpoint: trajectory rows differ in length");
        for (double v : w) payload.f64(v);
    }

    return detail::frame_container(kFormat, payload.str());
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin) {
    const std::string_view payload = detail::unframe_container(kFormat, bytes, origin);
    detail::ByteReader in(payload.data(), payload.size(), origin);
    Checkpoint c;
    const std::uint64_t n_meta = in.count("meta entry count", 16);
    for (std::uint64_t i = 0; i < n_meta; ++i) {
        std::string key = in.text("meta key");
        c.meta[key] = in.text("meta value");
    }
    c.epoch = in.i64("epoch");
    if (c.epoch < 0) in.fail("negative epoch " + std::to_string(c.epoch));
    const std::uint64_t n_params = in.count("parameter count", 2);
    for (std::uint64_t i = 0; i < n_params; ++i) c.params.push_back(read_tensor(in));
    c.optimizer.optimizer = in.text("optimizer name");
    const std::uint64_t n_states = in.count("optimizer state count", 16);
    for (std::uint64_t i = 0; i < n_states; ++i) {
        optim::ParamState ps;
        ps.step = in.i64("step count");
        if (ps.step < 0) in.fail("negative step count " + std::to_string(ps.step));
        const std::uint64_t n_buffers = in.count("buffer count", 10);
        for (std::uint64_t b = 0; b < n_buffers; ++b) {
            std::string name = in.text("buffer name");
            if (ps.buffers.count(name)) in.fail("buffer '" + name + "' appears twice");
            ps.buffers[name] = read_tensor(in);
        }
        c.optimizer.params.push_back(std::move(ps));
    }
    c.losses = in.doubles("loss count");
    const std::uint64_t rows = in.u64("trajectory rows");
    const std::uint64_t row = in.u64("trajectory row length");
    if (row == 0 ? rows != 0 && rows > in.left() : rows > in.left() / sizeof(double) / row)
        in.fail("trajectory of " + std::to_string(rows) + " x " + std::to_string(row) +
                " does not fit in the bytes left");
    for (std::uint64_t r = 0; r < rows; ++r) {
        std::vector<double> w(static_cast<std::size_t>(row));
        if (row) std::memcpy(w.data(), in.take(row * sizeof(double), "trajectory"), row * sizeof(double));
        c.weights.push_back(std::move(w));
    }
    if (in.left() != 0) in.fail(std::to_string(in.left()) + " unexpected bytes after the trajectory");
    return c;
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
    detail::write_file_atomically(path, serialize_checkpoint(checkpoint));
}

Checkpoint load_checkpoint(const std::string& path) {
    std::string origin;
    const std::string bytes = detail::read_container_file(kFormat, path, origin);
    return parse_checkpoint(bytes, origin);
}

void restore_checkpoint(const Checkpoint& c, optim::Optimizer& optimizer) {
    const auto& params = optimizer.params();
    if (c.params.size() != params.size())
        throw Error("restore_checkpoint: the checkpoint holds " + std::to_string(c.params.size()) +
                    " parameters, " + optimizer.name() + " has " + std::to_string(params.size()));
    for (std::size_t i = 0; i < params.size(); ++i)
        if (c.params[i].shape() != params[i].shape() || c.params[i].dtype() != params[i].dtype())
            throw Error("restore_checkpoint: parameter " + std::to_string(i) + " is " +
                        detail::describe(c.params[i]) + " in the checkpoint, " +
                        detail::describe(params[i]) + " in " + optimizer.name());
    // Stage the parameters on their devices first (the only step that allocates), then
    // load_state, which validates everything before it changes anything: a failure anywhere
    // leaves the optimizer as it was.
    std::vector<Tensor> staged;
    for (std::size_t i = 0; i < params.size(); ++i) staged.push_back(c.params[i].to(params[i].device()));
    optimizer.load_state(c.optimizer);
    NoGrad no_grad;
    for (std::size_t i = 0; i < params.size(); ++i) params[i].detach().copy_(staged[i]);
}

}  // namespace descent
