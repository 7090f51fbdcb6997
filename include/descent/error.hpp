// Exceptions thrown by descent. Every failure names the op and the offending shapes, dtypes
// or devices; CudaError adds the CUDA call, file, line and CUDA's error string.
// Verified by tests/test_errors.cpp (one case per kind of failure).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace descent {

// Base class of everything descent throws on bad input or a failed operation.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An allocation failed; bytes() is its size. Callers that know what the memory was for
// rethrow it as "out of memory while <what> (<bytes> bytes)".
class OutOfMemory : public Error {
public:
    OutOfMemory(const std::string& what, std::size_t bytes) : Error(what), m_bytes(bytes) {}
    std::size_t bytes() const noexcept { return m_bytes; }

private:
    std::size_t m_bytes;
};

// Training stopped because the loss diverged or a weight turned non-finite (train.hpp's
// divergence rule): the arguments were valid, the run failed.
class Diverged : public Error {
public:
    explicit Diverged(const std::string& what) : Error(what) {}
};

// A file could not be opened, read or written. errno_value() is the C library's reason
// (ENOENT for a missing file), 0 when there is none (a FIFO refused, a file that changed).
class FileError : public Error {
public:
    FileError(const std::string& what, int errno_value) : Error(what), m_errno(errno_value) {}
    int errno_value() const noexcept { return m_errno; }

private:
    int m_errno;
};

// A CUDA runtime or library call failed. call() is the expression, e.g. "cudaMalloc(&p, n)".
class CudaError : public Error {
public:
    CudaError(std::string call, std::string file, int line, std::string cuda_message)
        : Error(call + " failed at " + file + ":" + std::to_string(line) + ": " + cuda_message),
          m_call(std::move(call)), m_file(std::move(file)), m_line(line),
          m_cuda_message(std::move(cuda_message)) {}
    const std::string& call() const noexcept { return m_call; }
    const std::string& file() const noexcept { return m_file; }
    int line() const noexcept { return m_line; }
    const std::string& cuda_message() const noexcept { return m_cuda_message; }

private:
    std::string m_call;
    std::string m_file;
    int m_line;
    std::string m_cuda_message;
};

}  // namespace descent
