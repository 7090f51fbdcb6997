// Block sums in a fixed order (block_sums.hpp).
#include "block_sums.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace descent::detail {

std::vector<double> sum_blocks_in_order(std::vector<double> blocks, std::size_t width,
                                        Communicator* comm) {
    if (comm) {
        std::string mine;  // hexadecimal floats: exact both ways
        char text[40];
        for (double v : blocks) {
            std::snprintf(text, sizeof text, "%a ", v);
            mine += text;
        }
        blocks.clear();
        for (const std::string& part : comm->allgather(mine)) {
            const char* p = part.c_str();
            char* end = nullptr;
            for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
                blocks.push_back(v);
                p = end;
            }
        }
    }
    std::vector<double> sum(width, 0.0);
    for (std::size_t b = 0; b + width <= blocks.size(); b += width)
        for (std::size_t w = 0; w < width; ++w) sum[w] += blocks[b + w];
    return sum;
}

void BlockSums::close_block() {
    m_blocks.insert(m_blocks.end(), m_acc.begin(), m_acc.end());
    std::fill(m_acc.begin(), m_acc.end(), 0.0);
    m_in_block = 0;
}

}  // namespace descent::detail
