// Move-only RAII device memory: taken from the CUDA backend's caching allocator and given
// back in the destructor (which never throws).
#pragma once

#include <cstddef>
#include <utility>

namespace descent::detail {

class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(std::size_t bytes, int device_index);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
        DeviceBuffer(std::move(other)).swap(*this);
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* get() const { return m_ptr; }
    std::size_t bytes() const { return m_bytes; }
    template <class T>
    T* as() const { return static_cast<T*>(m_ptr); }

private:
    void swap(DeviceBuffer& other) noexcept {
        std::swap(m_ptr, other.m_ptr);
        std::swap(m_bytes, other.m_bytes);
        std::swap(m_device, other.m_device);
    }
    void* m_ptr = nullptr;
    std::size_t m_bytes = 0;
    int m_device = 0;
};

}  // namespace descent::detail
