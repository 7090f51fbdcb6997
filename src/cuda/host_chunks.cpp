// Host data streamed to one CUDA device in chunks (HostChunks, backend/backend.hpp): two
// device chunk buffers used in turn, filled by cudaMemcpyAsync on the device's copy stream,
// so that chunk c + 1 travels while the compute stream works on chunk c. Two events per
// buffer order the streams: `copied` (copy -> compute: the work on the chunk waits for its
// copy) and `freed` (compute -> copy: the next copy into the buffer waits for the work that
// read it). Neither stream ever waits on the host.
//
// The host data is page-locked where it is (cudaHostRegister) for this object's lifetime, so
// the copies read it directly at full bandwidth; the registration is undone by RAII. When
// that fails (memory limits, or StreamedHost::pin_in_place false), the chunks go through two
// pinned staging buffers of one chunk each (cudaMallocHost), filled with memcpy by the calling
// thread: fetch(c + 1) runs after the work on chunk c has been queued, so the host's memcpy
// overlaps the device's work; before refilling a staging buffer the host waits for the copy
// that last read it (chunk c - 1's, normally long done). Memory that is already page-locked,
// in part or whole (by the application, or a small y sharing a page with X), cannot be
// registered again and is staged too: staging never depends on how the driver treats a copy
// from a partly registered range. Verified by tests/test_cuda_training.cpp on a device.
#include "cuda/host_chunks.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_memory.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda/pinned_buffer.hpp"
#include "descent/error.hpp"

namespace descent::detail {

namespace {

void log_failure(const char* what, int device, cudaError_t status) noexcept {
    if (status != cudaSuccess && status != cudaErrorCudartUnloading)
        std::fprintf(stderr, "descent: %s failed on cuda:%d: %s\n", what, device,
                     cudaGetErrorString(status));
}

// A CUDA event without timing (created on the current device), destroyed with this object.
class Event {
public:
    Event() = default;
    static Event make() {
        Event e;
        DESCENT_CUDA_CHECK(cudaEventCreateWithFlags(&e.m_event, cudaEventDisableTiming));
        return e;
    }
    ~Event() {
        if (m_event != nullptr) cudaEventDestroy(m_event);
    }
    Event(Event&& other) noexcept : m_event(std::exchange(other.m_event, nullptr)) {}
    Event& operator=(Event&& other) noexcept {
        std::swap(m_event, other.m_event);
        return *this;
    }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    cudaEvent_t get() const { return m_event; }

private:
    cudaEvent_t m_event = nullptr;
};

// Host memory page-locked where it is, for this object's lifetime.
class HostRegistration {
public:
    HostRegistration(const void* ptr, std::size_t bytes, int device,
                     std::atomic<std::size_t>& pinned)
        : m_ptr(const_cast<void*>(ptr)), m_bytes(bytes), m_device(device), m_pinned(pinned) {
        const cudaError_t status = cudaHostRegister(m_ptr, bytes, cudaHostRegisterDefault);
        if (status == cudaSuccess) {
            m_registered = true;
            m_pinned.fetch_add(bytes);
            return;
        }
        // Not an error to report: the caller falls back to staging (and the failed call's
        // error state is cleared, so no later check blames another call for it).
        cudaGetLastError();
    }
    ~HostRegistration() {
        if (!m_registered) return;
        log_failure("cudaHostUnregister", m_device, cudaHostUnregister(m_ptr));
        m_pinned.fetch_sub(m_bytes);
    }
    HostRegistration(const HostRegistration&) = delete;
    HostRegistration& operator=(const HostRegistration&) = delete;

    bool registered() const { return m_registered; }

private:
    void* m_ptr;
    std::size_t m_bytes;
    int m_device;
    std::atomic<std::size_t>& m_pinned;
    bool m_registered = false;
};

class CudaHostChunks final : public HostChunks {
public:
    CudaHostChunks(const HostRows& rows, int device, std::function<cudaStream_t()> compute_stream,
                   cudaStream_t copy_stream, std::atomic<std::size_t>& pinned)
        : m_rows(rows), m_device(device), m_compute(std::move(compute_stream)),
          m_copy(copy_stream), m_elem(dtype_size(rows.dtype)) {
        if (rows.n < 1 || rows.d < 1 || rows.chunk_rows < 1 || rows.chunk_rows > rows.n)
            throw Error("host chunks on cuda:" + std::to_string(device) + ": bad geometry n " +
                        std::to_string(rows.n) + ", d " + std::to_string(rows.d) + ", chunk " +
                        std::to_string(rows.chunk_rows));
        m_chunks = (rows.n + rows.chunk_rows - 1) / rows.chunk_rows;
        DeviceGuard guard(device);
        if (rows.pin_in_place) {
            m_pin_X.emplace(rows.X, bytes(rows.n * rows.d), device, pinned);
            if (m_pin_X->registered()) m_pin_y.emplace(rows.y, bytes(rows.n), device, pinned);
            m_in_place = m_pin_X->registered() && m_pin_y && m_pin_y->registered();
            if (!m_in_place) {  // both or neither: staging serves X and y alike
                m_pin_y.reset();
                m_pin_X.reset();
            }
        }
        const std::size_t x_bytes = bytes(rows.chunk_rows * rows.d), y_bytes = bytes(rows.chunk_rows);
        for (int s = 0; s < 2; ++s) {
            m_X[s] = DeviceBuffer(x_bytes, device);
            m_y[s] = DeviceBuffer(y_bytes, device);
            if (!m_in_place) {
                m_stage_X[s] = PinnedBuffer(x_bytes, device);
                m_stage_y[s] = PinnedBuffer(y_bytes, device);
            }
            m_copied[s] = Event::make();
            m_freed[s] = Event::make();
        }
        // The buffers come from the caching allocator, whose blocks are ordered on the compute
        // stream only: work queued there before may still read them. The first copy into
        // each waits for that work.
        const cudaStream_t compute = m_compute();
        for (int s = 0; s < 2; ++s) DESCENT_CUDA_CHECK(cudaEventRecord(m_freed[s].get(), compute));
    }

    ~CudaHostChunks() override {
        // Copies in flight read the host data (unregistered or freed next) and write the
        // device buffers (back to the allocator next): let them finish.
        log_failure("cudaStreamSynchronize(copy stream)", m_device, cudaStreamSynchronize(m_copy));
    }

    void fetch(std::int64_t chunk) override {
        const int s = slot(chunk);
        DeviceGuard guard(m_device);
        const std::int64_t begin = chunk * m_rows.chunk_rows;
        const std::int64_t count = rows_of(chunk);
        const std::size_t x_bytes = bytes(count * m_rows.d), y_bytes = bytes(count);
        const char* x = static_cast<const char*>(m_rows.X) + bytes(begin * m_rows.d);
        const char* y = static_cast<const char*>(m_rows.y) + bytes(begin);
        m_fetched[s] = -1;
        if (!m_in_place) {
            // The staging buffer's last copy (chunk - 2's) must have read it before it is refilled.
            DESCENT_CUDA_CHECK(cudaEventSynchronize(m_copied[s].get()));
            std::memcpy(m_stage_X[s].get(), x, x_bytes);
            std::memcpy(m_stage_y[s].get(), y, y_bytes);
            x = static_cast<const char*>(m_stage_X[s].get());
            y = static_cast<const char*>(m_stage_y[s].get());
        }
        DESCENT_CUDA_CHECK(cudaStreamWaitEvent(m_copy, m_freed[s].get(), 0));
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(m_X[s].get(), x, x_bytes, cudaMemcpyHostToDevice, m_copy));
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(m_y[s].get(), y, y_bytes, cudaMemcpyHostToDevice, m_copy));
        DESCENT_CUDA_CHECK(cudaEventRecord(m_copied[s].get(), m_copy));
        m_fetched[s] = chunk;
    }

    void acquire(std::int64_t chunk, Array& X, Array& y) override {
        const int s = slot(chunk);
        if (m_fetched[s] != chunk)
            throw Error("host chunks on cuda:" + std::to_string(m_device) + ": chunk " +
                        std::to_string(chunk) + " was acquired before it was fetched");
        DeviceGuard guard(m_device);
        DESCENT_CUDA_CHECK(cudaStreamWaitEvent(m_compute(), m_copied[s].get(), 0));
        const std::int64_t count = rows_of(chunk);
        X = Array{m_X[s].get(), m_rows.dtype, count * m_rows.d, m_device};
        y = Array{m_y[s].get(), m_rows.dtype, count, m_device};
    }

    void release(std::int64_t chunk) override {
        const int s = slot(chunk);
        DeviceGuard guard(m_device);
        DESCENT_CUDA_CHECK(cudaEventRecord(m_freed[s].get(), m_compute()));
        m_fetched[s] = -1;
    }

    void abandon() noexcept override {
        // Work queued on a chunk that was never released may still read its buffer: mark
        // both buffers free only after everything queued so far, then let the copies finish.
        try {
            DeviceGuard guard(m_device);
            const cudaStream_t compute = m_compute();
            for (int s = 0; s < 2; ++s) cudaEventRecord(m_freed[s].get(), compute);
        } catch (...) {
            // The device is failing; the synchronisation below still waits for the copies.
        }
        log_failure("cudaStreamSynchronize(copy stream)", m_device, cudaStreamSynchronize(m_copy));
        cudaGetLastError();  // the error that stopped the pass was thrown by its caller
        m_fetched[0] = m_fetched[1] = -1;
    }

private:
    std::size_t bytes(std::int64_t elements) const {
        return static_cast<std::size_t>(elements) * m_elem;
    }
    std::int64_t rows_of(std::int64_t chunk) const {
        return std::min(m_rows.chunk_rows, m_rows.n - chunk * m_rows.chunk_rows);
    }
    int slot(std::int64_t chunk) const {
        if (chunk < 0 || chunk >= m_chunks)
            throw Error("host chunks on cuda:" + std::to_string(m_device) + ": no chunk " +
                        std::to_string(chunk) + " (there are " + std::to_string(m_chunks) + ")");
        return static_cast<int>(chunk % 2);
    }

    HostRows m_rows;
    int m_device;
    std::function<cudaStream_t()> m_compute;
    cudaStream_t m_copy;
    std::size_t m_elem;
    std::int64_t m_chunks = 0;
    bool m_in_place = false;
    // Declared before the buffers and events: destroyed after them, once the destructor's
    // synchronisation has let every copy that reads them finish.
    std::optional<HostRegistration> m_pin_X, m_pin_y;
    PinnedBuffer m_stage_X[2], m_stage_y[2];
    DeviceBuffer m_X[2], m_y[2];  // chunk_rows x d and chunk_rows elements
    Event m_copied[2], m_freed[2];
    std::int64_t m_fetched[2] = {-1, -1};  // the chunk each buffer holds (or is receiving)
};

}  // namespace

std::unique_ptr<HostChunks> make_cuda_host_chunks(const HostRows& rows, int device,
                                                  std::function<cudaStream_t()> compute_stream,
                                                  cudaStream_t copy_stream,
                                                  std::atomic<std::size_t>& pinned) {
    return std::make_unique<CudaHostChunks>(rows, device, std::move(compute_stream), copy_stream,
                                            pinned);
}

}  // namespace descent::detail
