// Where a tensor's storage lives: the host (cpu) or a CUDA device (cuda:N).
// cuda_available() is safe to call on machines with no GPU or no driver: it answers false.
#pragma once

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

}  // namespace descent
