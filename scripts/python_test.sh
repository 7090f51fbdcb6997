#!/usr/bin/env bash
# Installs the Python package into a virtual environment under the build folder and runs its
# pytest suite there (scripts/test.sh calls it after ctest).
# Usage: scripts/python_test.sh [build_dir]     (DESCENT_PYTHON_CUDA=ON: with the CUDA backend)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath -m "${1:-build}")
venv="$build_dir/python-venv"
python=${DESCENT_SYSTEM_PYTHON:-/usr/bin/python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "nanobind>=2" "scikit-build-core>=0.10"
# --no-build-isolation: the environment's nanobind and scikit-build-core build it, and the
# build folder persists, so a second run rebuilds only what changed.
"$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation . \
    --config-settings=build-dir="$build_dir/python-wheel" \
    --config-settings=cmake.define.DESCENT_CUDA="${DESCENT_PYTHON_CUDA:-OFF}"
cli="$build_dir/descent"
cd "$build_dir"
DESCENT_CLI="$cli" DESCENT_SOURCE_DIR="$OLDPWD" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    "$OLDPWD/python/tests"
