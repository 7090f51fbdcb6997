"""The CUDA-marked tests of the Python suite, for ctest: exit 77 (skipped) when descent has
no usable CUDA device, so that ctest reports them skipped, never passed without running."""

import pathlib
import sys

import descent

if not descent.cuda_available():
    print("skipped: " + descent.cuda_unavailable_reason())
    sys.exit(77)

import pytest  # noqa: E402

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-m", "cuda",
                      str(pathlib.Path(__file__).parent)]))
