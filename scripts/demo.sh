#!/usr/bin/env bash
# Builds descent's examples and runs the demo: the blog's line fitted by gradient descent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
build_dir=${DESCENT_BUILD_DIR:-build}
descent_configure "$build_dir" -DDESCENT_BUILD_EXAMPLES=ON
cmake --build "$build_dir" -j "$(nproc)" --target fit_line
"$build_dir/examples/fit_line"
