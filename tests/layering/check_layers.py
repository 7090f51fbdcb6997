#!/usr/bin/env python3
"""Keeps descent's layers honest (docs/architecture.md): reads every #include "..." of the
library's sources and fails on a file that breaks the rules below, naming the file, the
include and the rule. Run by ctest (layering_rules); takes the source root as its argument.

Layers, bottom up (a file may include its own layer and the layers below it):
  0 base      the math written once for CPU and CUDA, and the basic public types
  1 backends  src/backend, src/cpu, src/cuda, kernels: the Backend interface and its devices
  2 dispatch  tensors, their storage, dispatch and the fused ops on Tensors: the only code
              that calls a Backend
  3 autodiff  the autograd engine, the differentiable ops, losses, functional transforms
  4 training  optimizers, data, checkpoints, the training loop, streaming
  5 cli       the command-line tool, and the Python module (python/src)
Rules:
  A. No include points up a layer (except the listed forwarding exceptions).
  B. Nothing in layers 3 to 5 reaches a backend file, directly or through other headers:
     everything above dispatch speaks Tensor.
  C. Every source file has a layer: a new file must be placed here.
  D. An installed header (include/descent/...) includes only installed headers.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))

BACKEND_LAYER = 1

# (prefix, layer): the longest matching prefix of a path relative to ROOT wins.
LAYERS = [
    ("include/descent/error.hpp", 0), ("include/descent/dtype.hpp", 0),
    ("include/descent/device.hpp", 0), ("src/shared/", 0), ("src/text.", 0), ("src/crc32c.", 0),
    ("src/backend/", 1), ("src/cpu/", 1), ("src/cuda/", 1), ("kernels/", 1),
    ("include/descent/tensor.hpp", 2), ("src/tensor.cpp", 2), ("src/tensor_impl.hpp", 2),
    ("src/dispatch.", 2), ("src/backend_call.hpp", 2), ("src/fused_ops.", 2),
    ("src/graph_capture.", 2), ("src/device.cpp", 2),
    ("include/descent/autograd.hpp", 3), ("include/descent/ops.hpp", 3),
    ("include/descent/loss.hpp", 3), ("include/descent/functional.hpp", 3),
    ("include/descent/hessian.hpp", 3), ("include/descent/solve.hpp", 3),
    ("include/descent/random.hpp", 3), ("src/autograd", 3), ("src/ops.cpp", 3),
    ("src/views.cpp", 3), ("src/loss.cpp", 3), ("src/functional.cpp", 3), ("src/hessian.cpp", 3),
    ("src/solve.cpp", 3), ("src/random.cpp", 3),
    ("include/descent/optim/", 4), ("include/descent/data.hpp", 4),
    ("include/descent/stream.hpp", 4), ("include/descent/train.hpp", 4),
    ("include/descent/checkpoint.hpp", 4), ("include/descent/descent.hpp", 4),
    ("include/descent/model.hpp", 4), ("src/model.cpp", 4),
    ("include/descent/model_file.hpp", 4), ("src/model_file.cpp", 4),
    ("include/descent/metrics.hpp", 4), ("src/metrics.cpp", 4),
    ("include/descent/standardize.hpp", 4), ("src/standardize.cpp", 4),
    ("src/block_sums.", 4),
    ("include/descent/nn.hpp", 4), ("src/nn.cpp", 4),
    ("src/optim/", 4), ("src/data/", 4), ("src/checkpoint/", 4), ("src/train", 4),
    ("src/stream.cpp", 4), ("src/dist/", 4), ("include/descent/shard.hpp", 4),
    ("include/descent/communicator.hpp", 4),
    ("src/cli/", 5), ("python/src/", 5),
]

# Includes that point up on purpose: Tensor's member functions (t.sum(), t.backward(), ...)
# forward to the ops and the autograd engine, as torch's Tensor methods do.
UPWARD_OK = {
    ("src/tensor.cpp", "include/descent/ops.hpp"),
    ("src/tensor.cpp", "include/descent/autograd.hpp"),
    ("src/tensor.cpp", "src/autograd_internal.hpp"),
}

SOURCE_DIRS = ["src", "include", "kernels", "python/src"]
# Headers written into the build tree at build time (not in the sources), and their layer.
GENERATED = {"descent_cuda_interface.hpp": BACKEND_LAYER}
# ... and generated installed headers of the base layer, which any file may include.
GENERATED_BASE = {"descent/version.hpp"}
EXTENSIONS = (".cpp", ".hpp", ".cu", ".cuh", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def layer_of(rel):
    best = None
    for prefix, layer in LAYERS:
        if rel.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


def resolve(rel_from, name):
    for base in (os.path.dirname(rel_from), "src", "include", "kernels"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(ROOT, cand)):
            return cand
    return None


def main():
    files = []
    for d in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, d)):
            for n in names:
                if n.endswith(EXTENSIONS):
                    files.append(os.path.relpath(os.path.join(dirpath, n), ROOT))
    includes = {}
    errors = []
    for f in sorted(files):
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            text = fh.read()
        includes[f] = []
        for name in INCLUDE.findall(text):
            target = resolve(f, name)
            if target is None and name in GENERATED_BASE:
                continue
            if target is None and name in GENERATED:
                if (layer_of(f) or 0) > GENERATED[name] + 1:
                    errors.append(f'{f}: #include "{name}" (generated, layer {GENERATED[name]}) '
                                  "from above dispatch (rule B)")
                continue
            if target is None:
                errors.append(f'{f}: #include "{name}" resolves to no file of the project')
                continue
            includes[f].append((name, target))

    for f in sorted(files):
        lf = layer_of(f)
        if lf is None:
            errors.append(f"{f}: has no layer (rule C); place it in LAYERS in {os.path.relpath(__file__, ROOT)}")
            continue
        for name, target in includes[f]:
            lt = layer_of(target)
            if lt is None:
                continue  # reported as its own file
            if lt > lf and (f, target) not in UPWARD_OK:
                errors.append(f'{f} (layer {lf}): #include "{name}" points up to layer {lt} (rule A)')
            if f.startswith("include/descent/") and not target.startswith("include/descent/"):
                errors.append(f'{f}: installed header includes the internal "{name}" (rule D)')

    # Rule B: the transitive closure of every file in layers >= 3 stays off the backends.
    def reaches_backend(f, seen, path):
        for name, target in includes.get(f, []):
            if target in seen:
                continue
            seen.add(target)
            if layer_of(target) == BACKEND_LAYER:
                return path + [target]
            found = reaches_backend(target, seen, path + [target])
            if found:
                return found
        return None

    for f in sorted(files):
        lf = layer_of(f)
        if lf is not None and lf >= 3:
            chain = reaches_backend(f, set(), [f])
            if chain:
                errors.append(f"{f} (layer {lf}) reaches the backend file {chain[-1]} through "
                              f"{' -> '.join(chain)} (rule B: above dispatch, code speaks Tensor)")

    if errors:
        for e in errors:
            print("layering: " + e)
        print(f"layering: {len(errors)} violation(s) in {len(files)} files")
        return 1
    print(f"layering: {len(files)} files, every include points down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
