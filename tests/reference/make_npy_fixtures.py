#!/usr/bin/python3
"""Writes the small .npy files in fixtures/ that tests/test_data.cpp loads: numpy's own
np.save output (the oracle for descent::load_npy), good and bad.

Regenerate from the repository root with:  tests/reference/make_npy_fixtures.py

Every good array holds value[r][c] = (3*r + c - 5) / 4 (exact in f32 and f64), shape (4, 3):
the test recomputes that formula rather than copying numbers.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def table(dtype):
    return ((np.arange(12).reshape(4, 3) - 5) / 4).astype(dtype)


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    print("wrote", path, array.dtype.str, array.shape, "version", version or "auto")


def main():
    save("npy_f64.npy", table("<f8"))
    save("npy_f32.npy", table("<f4"))
    save("npy_f64_v2.npy", table("<f8"), version=(2, 0))
    save("npy_f64_v3.npy", table("<f8"), version=(3, 0))
    save("npy_fortran.npy", np.asfortranarray(table("<f8")))
    save("npy_int64.npy", table("<f8").astype("<i8"))
    save("npy_3d.npy", np.zeros((2, 3, 2), dtype="<f8"))
    save("npy_big_endian.npy", table(">f8"))


if __name__ == "__main__":
    main()
