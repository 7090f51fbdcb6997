#!/usr/bin/python3
"""Writes fixtures/blog_data.txt: the blog post's data set computed by numpy running the
post's own lines, the oracle for descent::blog_problem() (tests/test_random.cpp).

Regenerate from the repository root with:  tests/reference/blog_data.py

Format as numpy_random.py: '@ name' starts a list of float.hex() values.
"""
import os

import numpy as np


def main():
    # Verbatim from the post (see /work/shared/reference/optimizers-blog.md).
    params = np.array([5, 2])
    num_samples = 100
    x = np.linspace(-10, 10, num_samples)
    np.random.seed(5)
    noise = np.random.normal(0, 3, num_samples)
    y = params[0] * x + params[1] + noise
    X = np.stack((x, np.ones_like(x)), axis=1)
    initial_weights = np.random.rand(2)

    out = []

    def put(name, values):
        out.append("@ " + name)
        out.extend(float(v).hex() for v in values)

    put("x", X[:, 0])
    put("ones", X[:, 1])
    put("noise", noise)
    put("y", y)
    put("initial_weights", initial_weights)

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "fixtures", "blog_data.txt")
    with open(path, "w") as f:
        f.write(f"# numpy {np.__version__}; the blog's data, written by "
                "tests/reference/blog_data.py\n")
        f.write("\n".join(out) + "\n")
    print("wrote", path, "initial weights", initial_weights)


if __name__ == "__main__":
    main()
