// Internal: the frame every descent file shares (checkpoints, model files): magic, format
// version, payload size, payload, CRC-32C of everything before it; and tensors stored in their
// own dtype, byte for byte. One reader for both, so a model file is refused exactly as a bad
// checkpoint is (truncated, corrupt, foreign, another version). Verified by
// tests/test_checkpoint.cpp and tests/test_model_file.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "checkpoint/byte_stream.hpp"
#include "descent/tensor.hpp"

namespace descent::detail {

struct ContainerFormat {
    char magic[8];           // "DSCNTCKP", "DSCNTMDL"
    std::uint32_t version;   // the one this descent writes and reads
    const char* what;        // "checkpoint", "model file": in every error
    // An older version this descent knows but does not read (0: none), named in its error.
    std::uint32_t retired_version;
};

// The file: header, `payload`, checksum.
std::string frame_container(const ContainerFormat& format, const std::string& payload);

// The payload of a whole file's `bytes`, after the header and checksum are verified; throws
// descent::Error starting with `origin` otherwise.
std::string_view unframe_container(const ContainerFormat& format, const std::string& bytes,
                                   const std::string& origin);

// Reads the file at `path` whole, its header judged against its size before (a huge or
// foreign file is refused without allocating its size); returns the bytes for
// unframe_container. `origin` (out) gets the file's name as errors show it.
std::string read_container_file(const ContainerFormat& format, const std::string& path,
                                std::string& origin);

// A tensor: u8 dtype (0 f32, 1 f64), u8 rank, rank x i64 dims, raw elements (a cpu copy).
void write_tensor(ByteWriter& out, const Tensor& t);
Tensor read_tensor(ByteReader& in);

}  // namespace descent::detail
