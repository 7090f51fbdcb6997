#!/usr/bin/env bash
# Builds descent with its tests and runs every test with ctest, then builds and installs the
# Python package (`pip install .` into a virtual environment under the build folder) and runs
# its pytest suite. On a fresh Debian machine it first installs the Debian packages below.
# CUDA tests report "Skipped" without a GPU.
# Usage: scripts/test.sh            (DESCENT_CUDA=OFF scripts/test.sh for a CPU-only build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

# Test dependencies from Debian: Catch2, numpy (data files for the CLI tests), matplotlib
# for the plot test (which is skipped where it cannot be installed), OpenMPI for the
# distributed runs (mpirun; the MPI communicator is built when it is found), and for the
# Python package: venv, the headers, pytest and scikit-learn (its estimators' base and
# reference).
missing=()
for pkg in catch2 python3-matplotlib python3-numpy openmpi-bin libopenmpi-dev \
           python3-venv python3-dev python3-pytest python3-sklearn; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]} (apt-get)"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

# CI must exercise the CUDA and MPI builds: there, AUTO becomes ON, so a missing nvcc or MPI
# fails loudly.
if [ "${CI:-}" = true ] && [ "${DESCENT_CUDA:-AUTO}" = AUTO ]; then export DESCENT_CUDA=ON; fi
if [ "${CI:-}" = true ] && [ "${DESCENT_MPI:-AUTO}" = AUTO ]; then export DESCENT_MPI=ON; fi

build_dir=${DESCENT_BUILD_DIR:-build}
# The Python module is built once, by pip below, not by this build too.
descent_configure "$build_dir" -DDESCENT_BUILD_TESTS=ON -DDESCENT_BUILD_EXAMPLES=ON \
    -DDESCENT_PYTHON=OFF
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"

# The Python package: a virtual environment under the build folder that sees Debian's numpy,
# scikit-learn and pytest, nanobind and scikit-build-core from PyPI, `pip install .` (the
# library and the module, CPU only unless DESCENT_PYTHON_CUDA=ON: the CUDA tests would skip
# here anyway), then the pytest suite against the installed package (run from the build
# folder, so `import descent` is the wheel's, not python/descent). DESCENT_PYTHON=OFF skips it.
if [ "${DESCENT_PYTHON:-AUTO}" != OFF ]; then
  scripts/python_test.sh "$build_dir"
fi

# In CI (or with DESCENT_SANITIZE=1): the CPU suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer. Warnings are not errors there (GCC's -Wmaybe-uninitialized
# misfires under the sanitizers' instrumentation); huge allocations must return null so
# that descent can report them, as it does without ASan.
if [ "${CI:-}" = true ] || [ "${DESCENT_SANITIZE:-0}" = 1 ]; then
  san_dir=${DESCENT_SANITIZE_BUILD_DIR:-build-sanitize}
  san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  # Without MPI: Open MPI's own allocations would be reported as leaks; the distributed
  # logic runs here through the thread communicator (test_distributed).
  DESCENT_CUDA=OFF DESCENT_MPI=OFF descent_configure "$san_dir" -DCMAKE_BUILD_TYPE=None \
      -DDESCENT_PYTHON=OFF \
      -DCMAKE_CXX_FLAGS="-O1 -g $san" -DCMAKE_EXE_LINKER_FLAGS="$san" -DDESCENT_WERROR=OFF \
      -DDESCENT_BUILD_TESTS=ON -DDESCENT_BUILD_EXAMPLES=ON
  cmake --build "$san_dir" -j "$(nproc)"
  # install: the consumer project is built without the sanitizer runtime.
  DESCENT_TEST_SANITIZED=1 ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
      UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$san_dir" --output-on-failure -j "$(nproc)" -LE "install|cuda"
fi

# In CI (or with DESCENT_FUZZ=1): libFuzzer on the readers of untrusted input (CSV, NPY,
# checkpoints, data specs), DESCENT_FUZZ_SECONDS (60) each from the seed corpus in fuzz/;
# any crash, sanitizer report, leak, timeout or out-of-memory fails, naming the input.
if [ "${CI:-}" = true ] || [ "${DESCENT_FUZZ:-0}" = 1 ]; then
  scripts/fuzz.sh
fi
