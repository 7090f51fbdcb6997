// Where a tensor's storage lives: the host (cpu) or a CUDA device (cuda:N).
// cuda_available() is safe to call on machines with no GPU or no driver: it answers false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace descent {

enum class DeviceType { cpu, cuda };

struct Device {
    DeviceType type = DeviceType::cpu;
    int index = 0;  // CUDA ordinal; always 0 for the cpu

    static Device cpu() { return {DeviceType::cpu, 0}; }
    static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }

    bool is_cpu() const { return type == DeviceType::cpu; }
    bool is_cuda() const { return type == DeviceType::cuda; }
    std::string str() const;  // "cpu" or "cuda:N"

    friend bool operator==(const Device& a, const Device& b) {
        return a.type == b.type && a.index == b.index;
    }
    friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

std::ostream& operator<<(std::ostream& os, const Device& d);

// Parses "cpu", "cuda" (= cuda:0) or "cuda:N"; throws descent::Error on anything else.
Device parse_device(const std::string& text);

// True when descent was compiled with its CUDA backend.
bool built_with_cuda();
// Number of usable CUDA devices; 0 without a driver, without a device, or without CUDA support.
int device_count();
// True when at least one CUDA device can be used.
bool cuda_available();
// Why cuda_available() is false, for messages: no CUDA support in this build, no device, or
// why the CUDA backend module (libdescent_cuda.so) could not be loaded. Empty when true.
std::string cuda_unavailable_reason();

// Threads the CPU backend's hot paths use (OpenMP; like torch.set_num_threads). Results do
// not depend on it: reductions use fixed blocks combined in a fixed order.
void set_cpu_threads(int threads);
int cpu_threads();

// Waits until every operation queued on `device` has finished (a no-op for the cpu). Ops are
// asynchronous on a GPU; reading a value back to the host synchronises by itself.
void synchronize(Device device);

// Device memory goes through a caching allocator: freed blocks are reused, so a training loop
// stops calling cudaMalloc after its first step. These counters prove it.
struct DeviceMemoryStats {
    std::uint64_t device_allocations = 0;  // cudaMalloc calls so far
    std::uint64_t device_frees = 0;        // cudaFree calls so far
    std::uint64_t requests = 0;            // allocations served (cached or not)
    std::size_t bytes_in_use = 0;
    std::size_t bytes_cached = 0;
    // Host memory page-locked in place (cudaHostRegister) for streamed passes over host data
    // on this device (StreamedHost, descent/stream.hpp), now.
    std::size_t host_bytes_pinned = 0;
};
// All zero for a device never used (or without CUDA).
DeviceMemoryStats cuda_memory_stats(int device = 0);

// The cpu's tensor memory: while a training loop runs (train, train_linear and the streamed
// loops), freed blocks are kept and reused as on a GPU, so its steps after the first allocate
// nothing from the system; the loop gives the cache back when it ends.
struct CpuMemoryStats {
    std::uint64_t system_allocations = 0;  // aligned_alloc calls so far
    std::uint64_t system_frees = 0;        // free calls so far
    std::uint64_t requests = 0;            // tensor allocations (from the cache or not)
    std::size_t bytes_in_use = 0;          // of blocks the cache handed out, still in use
    std::size_t bytes_cached = 0;          // kept by running loops for reuse
};
CpuMemoryStats cpu_memory_stats();
// Returns every cached block on every device to the driver (a device in the middle of a
// CUDA graph capture keeps its cache: the captured work still refers to those blocks).
void cuda_empty_cache();

// How work reached a CUDA device: each kernel launched one by one costs a host launch, a
// CUDA graph (TrainOptions::cuda_graph) costs one launch for all the kernels it holds.
// Counted since the process started; all zero for a device never used (or without CUDA).
struct DeviceLaunchStats {
    // Kernels descent launched on the device's stream one by one (descent's own kernels:
    // cuBLAS/cuSOLVER calls, used only by gemm, wide linear-MSE passes and Newton, are not).
    std::uint64_t kernel_launches = 0;
    std::uint64_t graph_launches = 0;      // CUDA graphs launched (cudaGraphLaunch calls)
    std::uint64_t graph_kernel_nodes = 0;  // kernels those graphs ran, summed over launches
};
DeviceLaunchStats cuda_launch_stats(int device = 0);

}  // namespace descent
