// Checkpoints: everything a training run needs to continue bit for bit (weights, optimizer
// state, epoch, losses so far, and free-form identity fields such as the data's identity and
// the RNG state), saved atomically and read back only when intact.
//
// File format, version 2 (little-endian; version 1 ended in a u64 FNV-1a, which missed
// paired bit flips, and is refused with a message naming both versions):
//   "DSCNTCKP"  magic, 8 bytes
//   u32         format version
//   u32         0 (reserved)
//   u64         payload size in bytes
//   payload     meta, epoch, params, optimizer state, losses, trajectory (checkpoint.cpp)
//   u32         CRC-32C of everything before it: it changes with any odd number of flipped
//               bits, any two flipped bits under 256 MiB apart, any burst of up to 32 bits
// Tensors are stored in their own dtype, byte for byte, so a resumed run continues exactly.
// Verified by tests/test_checkpoint.cpp (round trip, every corruption refused, nothing loaded)
// and tests/cli/checkpoint_resume.sh (SIGKILL at random moments, resumed runs bitwise equal).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "descent/optim/optimizer.hpp"
#include "descent/tensor.hpp"

namespace descent {

constexpr std::uint32_t kCheckpointVersion = 2;

struct Checkpoint {
    // Identity and settings of the run, e.g. "data" -> a spec or content hash, "shuffle_seed".
    std::map<std::string, std::string> meta;
    std::int64_t epoch = 0;              // epochs completed
    std::vector<Tensor> params;          // cpu copies of the parameters
    optim::OptimizerState optimizer;     // cpu copies of its buffers
    std::vector<double> losses;          // the loss of each completed epoch
    std::vector<std::vector<double>> weights;  // optional trajectory, one row per epoch
};

// A checkpoint of `optimizer`'s parameters and state now, with the losses (and trajectory)
// of the `epoch` epochs done so far; meta gets "descent_version" (the version writing it)
// unless it has one.
Checkpoint make_checkpoint(const optim::Optimizer& optimizer, std::int64_t epoch,
                           std::vector<double> losses = {},
                           std::vector<std::vector<double>> weights = {},
                           std::map<std::string, std::string> meta = {});

// Writes to a new temporary file beside `path` (".<name>.<12 random characters>.tmp", created
// with O_EXCL | O_NOFOLLOW), fsyncs it, renames it over `path` and fsyncs the directory: a
// reader sees the old checkpoint or the new one, never a mix, even after a crash or SIGKILL.
// An existing `path` that is not a regular file (a link, FIFO, device) is refused, never
// replaced. Throws descent::Error naming the path and the cause.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads and verifies a checkpoint. A missing, truncated, corrupted (checksum) or
// wrong-version file throws descent::Error naming the file and the problem.
Checkpoint load_checkpoint(const std::string& path);

// The bytes save_checkpoint writes, and their inverse; `origin` names the source in errors.
std::string serialize_checkpoint(const Checkpoint& checkpoint);
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin);

// Copies the checkpoint's parameters into the optimizer's (in place, converted to their
// device) and loads its state. Everything is checked first (optimizer name, parameter count,
// shapes, dtypes, buffers): on any mismatch it throws and changes nothing.
void restore_checkpoint(const Checkpoint& checkpoint, optim::Optimizer& optimizer);

}  // namespace descent
