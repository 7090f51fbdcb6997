#!/usr/bin/env bash
# Copies Debian's Catch2 (headers + CMake package) into .deps/catch2 (git-ignored) so that the
# GPU check can build the tests on a machine without a package registry: carry `.deps`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps/catch2
mkdir -p .deps/catch2/include .deps/catch2/lib/cmake
cp -r /usr/include/catch2 .deps/catch2/include/
cp -r /usr/lib/cmake/Catch2 .deps/catch2/lib/cmake/
# The package config imports Catch2::Catch2WithMain and checks that its library exists.
if [ -f /usr/lib/libCatch2WithMain.a ]; then cp /usr/lib/libCatch2WithMain.a .deps/catch2/lib/; fi
echo "prepared .deps/catch2 ($(du -sh .deps/catch2 | cut -f1))"
# nanobind (pure Python and sources, from PyPI) for the Python module's CUDA tests there:
# gpu_check.sh puts .deps/python on PYTHONPATH, and the build finds it when that machine's
# python3 has numpy and pytest.
rm -rf .deps/python
mkdir -p .deps/python
python3 -m pip download -q --no-deps --only-binary=:all: -d .deps/python "nanobind>=2"
(cd .deps/python && python3 -m zipfile -e nanobind-*.whl . && rm nanobind-*.whl)
echo "prepared .deps/python ($(du -sh .deps/python | cut -f1))"
