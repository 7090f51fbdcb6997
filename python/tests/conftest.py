"""Shared fixtures of the Python suite. The package under test is whichever `import descent`
finds: the installed wheel (scripts/python_test.sh) or a build tree (PYTHONPATH)."""

import os
import pathlib

import numpy as np
import pytest

import descent

SOURCE_DIR = pathlib.Path(os.environ.get("DESCENT_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device (skipped without one)")


@pytest.fixture
def rng():
    return np.random.default_rng(20261201)


@pytest.fixture
def cli():
    """The descent command-line tool of the same build (DESCENT_CLI), for comparisons."""
    path = os.environ.get("DESCENT_CLI")
    if not path or not os.path.exists(path):
        pytest.skip("DESCENT_CLI does not name the descent tool")
    return path


def python_progress_during(work):
    """How many times a Python thread counted while work() ran on this one: about zero when
    work holds the GIL throughout, many when it releases it."""
    import threading
    import time

    count = 0
    done = threading.Event()

    def counter():
        nonlocal count
        while not done.is_set():
            count += 1
            time.sleep(0)

    thread = threading.Thread(target=counter)
    thread.start()
    time.sleep(0.01)
    before = count
    work()
    after = count
    done.set()
    thread.join()
    return after - before


def cuda_or_skip():
    if not descent.cuda_available():
        pytest.skip("no CUDA device: " + descent.cuda_unavailable_reason())
