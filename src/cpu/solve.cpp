// CPU backend: the SPD solve, in double whatever the dtype (d is small; accuracy is cheap).
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/cholesky.hpp"

namespace descent::detail {

namespace {
std::vector<double> to_doubles(const Array& a) {
    std::vector<double> v(static_cast<std::size_t>(a.numel));
    CpuBackend().cast(a, Array{v.data(), DType::f64, a.numel, 0});
    return v;
}
}  // namespace

std::int64_t CpuBackend::spd_solve(Array A, Array b, std::int64_t d, double damping, Array x) {
    std::vector<double> a = to_doubles(A);
    std::vector<double> rhs = to_doubles(b);
    for (std::int64_t i = 0; i < d; ++i) a[i * d + i] += damping;
    const std::int64_t pivot = optim::detail::cholesky_solve(std::move(a), rhs, d);
    if (pivot < 0) cast(Array{rhs.data(), DType::f64, d, 0}, x);
    return pivot;
}

}  // namespace descent::detail
