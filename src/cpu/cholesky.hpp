// Dense Cholesky factorisation and solve for small symmetric positive definite systems (the
// Newton step, d x d). Returns the index of the failing pivot instead of producing NaNs.
#pragma once

#include <cstdint>
#include <vector>

namespace descent::optim::detail {

// a is (d, d) row-major and symmetric; b is (d). On success returns -1 and overwrites b with
// the solution of a x = b. Otherwise returns the index k of the first pivot that is not
// positive (a is then not positive definite) and leaves b unspecified.
std::int64_t cholesky_solve(std::vector<double> a, std::vector<double>& b, std::int64_t d);

}  // namespace descent::optim::detail
