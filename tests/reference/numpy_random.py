#!/usr/bin/python3
"""Writes fixtures/numpy_random.txt: numpy's legacy RandomState streams, the oracle for
descent::RandomState (tests/test_random.cpp compares bit for bit).

Regenerate from the repository root with:  tests/reference/numpy_random.py
(needs numpy; any numpy >= 1.17 gives the same streams, the legacy generator is frozen).

Format: '@ name' starts a list; the lines after it are its values, integers in decimal and
doubles as float.hex() so that std::strtod reads them back exactly.
"""
import os

import numpy as np

SEEDS = [0, 5, 42, 4294967295]


def main():
    out = []

    def put(name, values, kind):
        out.append("@ " + name)
        for v in values:
            out.append(float(v).hex() if kind == "f" else str(int(v)))

    for seed in SEEDS:
        rs = np.random.RandomState(seed)
        name, key, pos, has_gauss, gauss = rs.get_state()
        assert name == "MT19937"
        put(f"seed{seed}/key_head", key[:4], "i")
        put(f"seed{seed}/key_tail", key[-1:], "i")
        put(f"seed{seed}/pos", [pos], "i")

        # The raw 32-bit stream, straight from numpy's bit generator (legacy seeding).
        raw = np.random.RandomState(seed)._bit_generator.random_raw(10)
        put(f"seed{seed}/raw_10", raw, "i")

        rs = np.random.RandomState(seed)
        put(f"seed{seed}/random_sample_20", rs.random_sample(20), "f")
        # An odd count leaves one Gaussian cached; standard_normal must use it first.
        put(f"seed{seed}/normal_0_3_21", rs.normal(0, 3, 21), "f")
        _, key, pos, has_gauss, gauss = rs.get_state()
        put(f"seed{seed}/state_after_normal/pos", [pos], "i")
        put(f"seed{seed}/state_after_normal/has_gauss", [has_gauss], "i")
        put(f"seed{seed}/state_after_normal/gauss", [gauss], "f")
        put(f"seed{seed}/standard_normal_5", rs.standard_normal(5), "f")

    # The blog's exact lines: seed 5, 100 noise values, then the initial weights.
    np.random.seed(5)
    noise = np.random.normal(0, 3, 100)
    initial_weights = np.random.rand(2)
    put("blog/normal_0_3_100", noise, "f")
    put("blog/rand_2", initial_weights, "f")

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "fixtures", "numpy_random.txt")
    with open(path, "w") as f:
        f.write(f"# numpy {np.__version__} legacy RandomState; written by "
                "tests/reference/numpy_random.py\n")
        f.write("\n".join(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
