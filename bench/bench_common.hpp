// What the benchmark programs share: timing, medians, the thread count, peak RSS, and the
// CPU floor, one streaming read of an array with independent SIMD lanes.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// The peak resident set of this process image: /proc/self/status VmHWM where there is one
// (getrusage's ru_maxrss also counts the parent's peak when the process was started by fork and
// exec, as Linux carries it across exec), else ru_maxrss.
inline double peak_rss_mb() {
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long kb = -1;
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
        std::fclose(f);
        if (kb >= 0) return double(kb) / 1024.0;
    }
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

// The resident set now (Linux /proc/self/statm; 0 where it cannot be read).
inline double current_rss_mb() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0.0;
    long size = 0, resident = 0;
    const int got = std::fscanf(f, "%ld %ld", &size, &resident);
    std::fclose(f);
    return got == 2 ? double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0) : 0.0;
}

inline int threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// The floor on the cpu: read every byte once, summing with independent SIMD lanes.
template <class T>
double stream_read(const T* p, std::int64_t n) {
    double total = 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (std::int64_t block = 0; block < (n + 65535) / 65536; ++block) {
        const std::int64_t lo = block * 65536, hi = std::min(n, lo + 65536);
        // 32 independent sums (8 SSE vectors of floats): one sum, a chain of dependent adds,
        // reads only ~16 bytes per add latency, slower than the memory of a fast machine.
        constexpr int kLanes = 32;
        T s[kLanes] = {};
        std::int64_t i = lo;
        for (; i + kLanes <= hi; i += kLanes)
            for (int k = 0; k < kLanes; ++k) s[k] += p[i + k];
        for (; i < hi; ++i) s[0] += p[i];
        for (int k = 0; k < kLanes; ++k) total += double(s[k]);
    }
    return total;
}

}  // namespace bench
