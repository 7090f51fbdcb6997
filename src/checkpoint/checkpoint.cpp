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

#include "checkpoint/byte_stream.hpp"
#include "crc32c.hpp"
#include "data/read_file.hpp"
#include "data/write_file.hpp"
#include "descent/autograd.hpp"
#include "descent/version.hpp"
#include "descent/error.hpp"
#include "dispatch.hpp"

namespace descent {

namespace {

constexpr char kMagic[8] = {'D', 'S', 'C', 'N', 'T', 'C', 'K', 'P'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8, kChecksumBytes = 4;
constexpr int kMaxRank = 6;

void write_tensor(detail::ByteWriter& out, const Tensor& t) {
    const Tensor host = t.detach().to(Device::cpu()).contiguous();
    out.u8(host.dtype() == DType::f32 ? 0 : 1);
    out.u8(static_cast<std::uint8_t>(host.dim()));
    for (std::int64_t s : host.shape()) out.i64(s);
    out.bytes(host.data_ptr(), dtype_size(host.dtype()) * static_cast<std::size_t>(host.numel()));
}

Tensor read_tensor(detail::ByteReader& in) {
    const std::uint8_t code = in.u8("tensor dtype");
    if (code > 1) in.fail("unknown tensor dtype code " + std::to_string(code));
    const DType dtype = code == 0 ? DType::f32 : DType::f64;
    const std::uint8_t rank = in.u8("tensor rank");
    if (rank > kMaxRank) in.fail("tensor rank " + std::to_string(rank) + " above " + std::to_string(kMaxRank));
    Shape shape;
    const std::size_t elem = dtype_size(dtype);
    std::uint64_t numel = 1;
    for (int i = 0; i < rank; ++i) {
        const std::int64_t s = in.i64("tensor dimension");
        if (s < 0) in.fail("negative tensor dimension " + std::to_string(s));
        // Every element needs `elem` bytes of what is left, which bounds the product safely.
        if (s > 0 && numel > in.left() / elem / static_cast<std::uint64_t>(s))
            in.fail("tensor of more elements than the file holds");
        numel *= static_cast<std::uint64_t>(s);
        shape.push_back(s);
    }
    const std::size_t bytes = elem * static_cast<std::size_t>(numel);
    const char* data = in.take(bytes, "tensor data");
    Tensor t = empty(shape, dtype);
    if (bytes) std::memcpy(t.data_ptr(), data, bytes);
    return t;
}

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

    detail::ByteWriter file;
    file.bytes(kMagic, sizeof kMagic);
    file.u32(kCheckpointVersion);
    file.u32(0);
    file.u64(payload.str().size());
    file.bytes(payload.str().data(), payload.str().size());
    file.u32(detail::crc32c(file.str().data(), file.str().size()));
    return std::move(file.str());
}

namespace {

// The header's checks, against the size of the whole file: they need only its first
// kHeaderBytes (`head`, `head_size` of them read), so a file can be judged before it is read
// whole. Returns the payload size.
std::uint64_t check_header(const char* head, std::size_t head_size, std::uint64_t file_size,
                           const std::string& origin) {
    if (head_size < sizeof kMagic || std::memcmp(head, kMagic, sizeof kMagic) != 0)
        throw Error(origin + ": not a descent checkpoint (bad magic bytes)");
    if (file_size < kHeaderBytes + kChecksumBytes || head_size < kHeaderBytes)
        throw Error(origin + ": truncated checkpoint: " + std::to_string(file_size) +
                    " bytes, shorter than its header");
    detail::ByteReader header(head + sizeof kMagic, kHeaderBytes - sizeof kMagic, origin);
    const std::uint32_t version = header.u32("version");
    if (version == 1)  // its checksum is a u64 FNV-1a; no conversion is offered
        throw Error(origin + ": checkpoint format version 1 (written by an older descent); "
                    "this descent reads version " + std::to_string(kCheckpointVersion));
    if (version != kCheckpointVersion)
        throw Error(origin + ": checkpoint format version " + std::to_string(version) +
                    "; this descent reads version " + std::to_string(kCheckpointVersion));
    if (header.u32("reserved") != 0) throw Error(origin + ": corrupt checkpoint: reserved header field is not 0");
    const std::uint64_t payload = header.u64("payload size");
    const std::uint64_t expected_size = kHeaderBytes + kChecksumBytes;
    if (payload > file_size || file_size - expected_size != payload)
        throw Error(origin + ": truncated or corrupt checkpoint: the header announces " +
                    std::to_string(payload) + " bytes of payload, the file holds " +
                    std::to_string(file_size - std::min<std::uint64_t>(file_size, expected_size)));
    return payload;
}

}  // namespace

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin) {
    const std::uint64_t payload =
        check_header(bytes.data(), std::min(bytes.size(), kHeaderBytes), bytes.size(), origin);
    const std::size_t body = kHeaderBytes + static_cast<std::size_t>(payload);
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + body, sizeof stored);
    if (detail::crc32c(bytes.data(), body) != stored)
        throw Error(origin + ": corrupt checkpoint: checksum mismatch");

    detail::ByteReader in(bytes.data() + kHeaderBytes, static_cast<std::size_t>(payload), origin);
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
    // The header is judged against the file's size before the file is read whole: a huge or
    // foreign file is refused without allocating its size.
    const detail::InputFile file(path);
    char head[kHeaderBytes];
    const std::size_t head_size = static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), kHeaderBytes));
    file.read(0, head, head_size);
    check_header(head, head_size, file.size(), file.name());
    std::string bytes;
    const std::size_t size = static_cast<std::size_t>(file.size());
    try {
        bytes.resize(size);
    } catch (const std::bad_alloc&) {
        throw OutOfMemory("out of memory while reading the checkpoint " + file.name() + " (" +
                              std::to_string(size) + " bytes)",
                          size);
    }
    file.read(0, bytes.data(), size);
    file.check_unchanged();
    return parse_checkpoint(bytes, file.name());
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
