// RAII for a graph capture on one device (Backend::begin_capture / end_capture_and_launch):
// a capture left open by an exception is ended, and what it recorded discarded, by the
// destructor, so the device's queue is usable again when the error reaches the caller.
// Used by the trainer (src/train.cpp, TrainOptions::cuda_graph); verified on a GPU by
// tests/test_cuda_training.cpp and, for the backends that refuse, tests/test_exception_safety.cpp.
#pragma once

#include <memory>

#include "backend/backend.hpp"

namespace descent::detail {

class GraphCapture {
public:
    GraphCapture(Backend& backend, int device_index) : m_backend(backend), m_device(device_index) {
        m_backend.begin_capture(m_device);  // throws with nothing open
        m_open = true;
    }
    ~GraphCapture() {
        if (m_open) m_backend.abort_capture(m_device);
    }
    GraphCapture(const GraphCapture&) = delete;
    GraphCapture& operator=(const GraphCapture&) = delete;

    // Ends the capture and launches what it recorded through `exec` (see
    // Backend::end_capture_and_launch). Should that throw with the capture still open, the
    // destructor ends it (abort_capture does nothing for a capture already ended).
    void launch(std::unique_ptr<GraphExec>& exec) {
        m_backend.end_capture_and_launch(m_device, exec);
        m_open = false;
    }

private:
    Backend& m_backend;
    int m_device;
    bool m_open = false;
};

}  // namespace descent::detail
