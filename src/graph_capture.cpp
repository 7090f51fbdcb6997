// GraphCapture and CapturedGraph (graph_capture.hpp) over the device's backend.
#include "graph_capture.hpp"

#include "backend/backend.hpp"

namespace descent::detail {

CapturedGraph::CapturedGraph() = default;
CapturedGraph::~CapturedGraph() = default;

GraphCapture::GraphCapture(Device device) : m_device(device) {
    backend_for(m_device).begin_capture(m_device.index);
    m_open = true;
}

GraphCapture::~GraphCapture() {
    if (m_open) backend_for(m_device).abort_capture(m_device.index);
}

void GraphCapture::launch(CapturedGraph& graph) {
    backend_for(m_device).end_capture_and_launch(m_device.index, graph.m_exec);
    m_open = false;
}

}  // namespace descent::detail
