#!/usr/bin/env bash
# Builds descent and runs the demo: the blog post's experiment (all six optimizers on its
# 100 points, with its settings), printed as a table. Extra arguments go to `descent blog`,
# e.g. scripts/demo.sh --plot figures   (writes figures/loss.png and trajectories.png).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
build_dir=${DESCENT_BUILD_DIR:-build}
descent_configure "$build_dir" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target descent_cli
"$build_dir/descent" blog "$@"
