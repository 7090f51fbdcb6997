// Internal: the one place that opens input files (data files and --resume checkpoints): only a
// regular file is read, and in exact ranges, so that memory follows what the caller allocates.
// Verified by tests/test_data.cpp (FIFO, /dev/zero, directory, missing, size changes) and
// tests/cli/input_files.sh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace descent::detail {

// Where a loader's bytes come from: a file (InputFile) or bytes already in memory
// (MemorySource). The CSV and NPY parsers read through this, so load_* and parse_* run the
// same code.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    // What errors start with: the path as shown (escaped), or the origin given to parse_*.
    virtual const std::string& name() const = 0;
    virtual std::uint64_t size() const = 0;
    // Copies the bytes [offset, offset + n) into out; the range must lie within size().
    virtual void read(std::uint64_t offset, char* out, std::size_t n) const = 0;
    // Called after the last read: throws if the source is no longer what was read.
    virtual void check_unchanged() const {}
};

// A regular file, opened without blocking (a FIFO without a writer cannot hang the open) and
// checked with fstat before any byte is read. Symlinks are followed; what they lead to must be
// a regular file. Throws descent::Error "<path>: no such file" / "is a directory, not a data
// file" / "is a FIFO, not a regular file" / "is a character device, not a regular file" /
// "cannot be read: <reason>".
class InputFile final : public ByteSource {
public:
    explicit InputFile(const std::string& path);
    ~InputFile() override;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    const std::string& name() const override { return m_name; }
    std::uint64_t size() const override { return m_size; }  // from fstat at open
    // pread until n bytes are in; a file that ends early changed size while being read.
    void read(std::uint64_t offset, char* out, std::size_t n) const override;
    // fstat again: a file that grew or shrank since it was opened is reported.
    void check_unchanged() const override;

private:
    std::string m_name;  // shown_path(path)
    int m_fd = -1;
    std::uint64_t m_size = 0;
};

// Bytes in memory, named `origin` in errors (parse_csv, parse_npy, the fuzzers).
class MemorySource final : public ByteSource {
public:
    MemorySource(std::string_view bytes, std::string origin)
        : m_bytes(bytes), m_name(std::move(origin)) {}
    const std::string& name() const override { return m_name; }
    std::uint64_t size() const override { return m_bytes.size(); }
    void read(std::uint64_t offset, char* out, std::size_t n) const override;

private:
    std::string_view m_bytes;
    std::string m_name;
};

// The whole file's bytes, read through InputFile (same checks). Used by the checkpoint loader.
std::string read_file_bytes(const std::string& path);

}  // namespace descent::detail
