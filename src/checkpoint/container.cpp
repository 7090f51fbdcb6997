// The shared frame of descent's files (container.hpp).
#include "checkpoint/container.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "crc32c.hpp"
#include "data/read_file.hpp"
#include "descent/error.hpp"

namespace descent::detail {

namespace {

constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8, kChecksumBytes = 4;
constexpr int kMaxRank = 6;

// The header's checks, against the size of the whole file: they need only its first
// kHeaderBytes (`head`, `head_size` of them read), so a file can be judged before it is read
// whole. Returns the payload size.
std::uint64_t check_header(const ContainerFormat& f, const char* head, std::size_t head_size,
                           std::uint64_t file_size, const std::string& origin) {
    const std::string what = f.what;
    if (head_size < sizeof f.magic || std::memcmp(head, f.magic, sizeof f.magic) != 0)
        throw Error(origin + ": not a descent " + what + " (bad magic bytes)");
    if (file_size < kHeaderBytes + kChecksumBytes || head_size < kHeaderBytes)
        throw Error(origin + ": truncated " + what + ": " + std::to_string(file_size) +
                    " bytes, shorter than its header");
    ByteReader header(head + sizeof f.magic, kHeaderBytes - sizeof f.magic, origin, what);
    const std::uint32_t version = header.u32("version");
    if (version != f.version)
        throw Error(origin + ": " + what + " format version " + std::to_string(version) +
                    (f.retired_version != 0 && version == f.retired_version
                         ? " (written by an older descent)"
                         : "") +
                    "; this descent reads version " + std::to_string(f.version));
    if (header.u32("reserved") != 0)
        throw Error(origin + ": corrupt " + what + ": reserved header field is not 0");
    const std::uint64_t payload = header.u64("payload size");
    const std::uint64_t frame = kHeaderBytes + kChecksumBytes;
    if (payload > file_size || file_size - frame != payload)
        throw Error(origin + ": truncated or corrupt " + what + ": the header announces " +
                    std::to_string(payload) + " bytes of payload, the file holds " +
                    std::to_string(file_size - std::min<std::uint64_t>(file_size, frame)));
    return payload;
}

}  // namespace

std::string frame_container(const ContainerFormat& format, const std::string& payload) {
    ByteWriter file;
    file.bytes(format.magic, sizeof format.magic);
    file.u32(format.version);
    file.u32(0);
    file.u64(payload.size());
    file.bytes(payload.data(), payload.size());
    file.u32(crc32c(file.str().data(), file.str().size()));
    return std::move(file.str());
}

std::string_view unframe_container(const ContainerFormat& format, const std::string& bytes,
                                   const std::string& origin) {
    const std::uint64_t payload = check_header(
        format, bytes.data(), std::min(bytes.size(), kHeaderBytes), bytes.size(), origin);
    const std::size_t body = kHeaderBytes + static_cast<std::size_t>(payload);
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + body, sizeof stored);
    if (crc32c(bytes.data(), body) != stored)
        throw Error(origin + ": corrupt " + format.what + ": checksum mismatch");
    return std::string_view(bytes.data() + kHeaderBytes, static_cast<std::size_t>(payload));
}

std::string read_container_file(const ContainerFormat& format, const std::string& path,
                                std::string& origin) {
    const InputFile file(path);
    origin = file.name();
    char head[kHeaderBytes];
    const std::size_t head_size =
        static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), kHeaderBytes));
    file.read(0, head, head_size);
    check_header(format, head, head_size, file.size(), file.name());
    std::string bytes;
    const std::size_t size = static_cast<std::size_t>(file.size());
    try {
        bytes.resize(size);
    } catch (const std::bad_alloc&) {
        throw OutOfMemory("out of memory while reading the " + std::string(format.what) + " " +
                              file.name() + " (" + std::to_string(size) + " bytes)",
                          size);
    }
    file.read(0, bytes.data(), size);
    file.check_unchanged();
    return bytes;
}

void write_tensor(ByteWriter& out, const Tensor& t) {
    const Tensor host = t.detach().to(Device::cpu()).contiguous();
    out.u8(host.dtype() == DType::f32 ? 0 : 1);
    out.u8(static_cast<std::uint8_t>(host.dim()));
    for (std::int64_t s : host.shape()) out.i64(s);
    out.bytes(host.data_ptr(), dtype_size(host.dtype()) * static_cast<std::size_t>(host.numel()));
}

Tensor read_tensor(ByteReader& in) {
    const std::uint8_t code = in.u8("tensor dtype");
    if (code > 1) in.fail("unknown tensor dtype code " + std::to_string(code));
    const DType dtype = code == 0 ? DType::f32 : DType::f64;
    const std::uint8_t rank = in.u8("tensor rank");
    if (rank > kMaxRank)
        in.fail("tensor rank " + std::to_string(rank) + " above " + std::to_string(kMaxRank));
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

}  // namespace descent::detail
