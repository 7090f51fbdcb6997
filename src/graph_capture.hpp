// RAII for a graph capture on one device (Backend::begin_capture / end_capture_and_launch):
// a capture left open by an exception is ended, and what it recorded discarded, by the
// destructor, so the device's queue is usable again when the error reaches the caller.
// Dispatch layer: the trainer uses it without seeing a Backend.
// Used by the trainer (src/train.cpp, TrainOptions::cuda_graph); verified on a GPU by
// tests/test_cuda_training.cpp and, for the backends that refuse, tests/test_exception_safety.cpp.
#pragma once

#include <memory>

#include "descent/device.hpp"

namespace descent::detail {

class GraphExec;  // backend/backend.hpp

// The executable graph kept from one capture to the next, so that later captures update it
// instead of instantiating anew (empty until the first launch).
class CapturedGraph {
public:
    CapturedGraph();
    ~CapturedGraph();
    CapturedGraph(const CapturedGraph&) = delete;
    CapturedGraph& operator=(const CapturedGraph&) = delete;

private:
    friend class GraphCapture;
    std::unique_ptr<GraphExec> m_exec;
};

class GraphCapture {
public:
    explicit GraphCapture(Device device);  // throws with nothing open
    ~GraphCapture();
    GraphCapture(const GraphCapture&) = delete;
    GraphCapture& operator=(const GraphCapture&) = delete;

    // Ends the capture and launches what it recorded through `graph` (see
    // Backend::end_capture_and_launch). Should that throw with the capture still open, the
    // destructor ends it (abort_capture does nothing for a capture already ended).
    void launch(CapturedGraph& graph);

private:
    Device m_device;
    bool m_open = false;
};

}  // namespace descent::detail
