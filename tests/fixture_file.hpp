// Reads the reference fixtures in tests/reference/fixtures/: whitespace-separated records,
// '#' comment lines, floats as hex (float.hex()) so they parse exactly with strtod.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fixture {

using Record = std::vector<std::string>;

inline std::string path(const std::string& name) {
    return std::string(DESCENT_FIXTURES_DIR) + "/" + name;
}

inline std::vector<Record> read(const std::string& name) {
    std::ifstream in(path(name));
    if (!in) throw std::runtime_error("cannot open fixture " + path(name));
    std::vector<Record> records;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        Record r;
        for (std::string f; fields >> f;) r.push_back(f);
        if (!r.empty()) records.push_back(std::move(r));
    }
    return records;
}

inline double number(const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') throw std::runtime_error("not a number: " + text);
    return v;
}

// Fields [first, end) as numbers.
inline std::vector<double> numbers(const Record& r, std::size_t first) {
    std::vector<double> v;
    for (std::size_t i = first; i < r.size(); ++i) v.push_back(number(r[i]));
    return v;
}

// max_i |a_i - b_i| / |b_i| (b is the reference); exact zeros must match exactly.
inline double max_rel_err(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return INFINITY;
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double diff = std::abs(a[i] - b[i]);
        if (diff == 0.0) continue;
        worst = std::max(worst, b[i] == 0.0 ? INFINITY : diff / std::abs(b[i]));
    }
    return worst;
}

}  // namespace fixture
