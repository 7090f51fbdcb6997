#!/usr/bin/env bash
# On the cpu a data file's intercept may be implicit (--ones-column implicit, and what auto
# chooses for a big narrow file): X holds the file's features and no ones column (issue 11
# item 3: a narrow file is held at its own size), LinearModel's fit_intercept does the rest.
# This checks, end to end, that nothing a user sees changes:
#
#   bash tests/cli/implicit_intercept.sh /path/to/descent
#
#  - `descent train --json` on a file (intercept implicit) prints bitwise the same numbers as
#    on the same file with a ones column written into it and --no-intercept (the column
#    stored, the form every reference test checks), for every optimizer, full batch and
#    mini-batches, host streaming (--stream-chunk), CSV and NPY, f64 and f32, and the
#    logistic and softmax models (every step a fused pass); newton-cg on a classifier (the
#    model differentiated twice) to rounding;
#  - a checkpoint names the data by the CRC-32C of X *with* its ones column (computed here in
#    Python from the file's numbers), so that a run checkpointed where the column is stored
#    (a CUDA device) resumes on the cpu and the other way round;
#  - a run that diverges still gets the learning-rate bound of its advice (λmax of [X, 1]).
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup implicit-intercept "$@"
PYTHON=/usr/bin/python3
if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "skip: $PYTHON with numpy is needed to write the data files" >&2
    exit 77
fi

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 120); fi

# reg: 203 rows of 3 features and a target; bin: 0/1 labels; cls: labels 0..2. Each also as
# *_ones with a ones column before the target.
"$PYTHON" - <<'PY' || { echo "could not write the data files" >&2; exit 2; }
import numpy as np
rng = np.random.default_rng(5)
n = 203
X = rng.normal(size=(n, 3)) * np.array([1.0, 2.0, 0.5])
z = X @ np.array([1.5, -2.0, 0.5]) + 0.25
targets = {
    "reg": z + 0.1 * rng.normal(size=n),
    "bin": (z + rng.normal(size=n) > 0).astype(float),
    "cls": np.digitize(z + 0.5 * rng.normal(size=n), [-1.0, 1.0]).astype(float),
}
for name, y in targets.items():
    for suffix, features in (("", X), ("_ones", np.column_stack([X, np.ones(n)]))):
        data = np.column_stack([features, y])
        np.save(name + suffix + ".npy", data)
        header = ",".join("c%d" % j for j in range(data.shape[1]))
        np.savetxt(name + suffix + ".csv", data, delimiter=",", header=header, comments="",
                   fmt="%.17g")
PY

# both NAME FILE.EXT FILE_ones.EXT ARGS...: `train --json ARGS` on the first file with the
# intercept implicit (implicit.json) and on the second with --no-intercept (stored.json);
# fails NAME and returns non-zero when either run fails.
both() {
    local name=$1 implicit=$2 stored=$3; shift 3
    "${TIMEOUT[@]}" "$DESCENT" train --device cpu --quiet --json --data "$implicit" \
        --ones-column implicit "$@" >implicit.json 2>err.txt </dev/null
    local rc1=$?
    "${TIMEOUT[@]}" "$DESCENT" train --device cpu --quiet --json --data "$stored" \
        --no-intercept "$@" >stored.json 2>>err.txt </dev/null
    local rc2=$?
    [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && return 0
    fail "$name" "exit $rc1 / $rc2: $(head -c 400 err.txt)"
    return 1
}

# same NAME FILE ARGS...: on FILE.EXT (implicit) and FILE_ones.EXT (stored), CSV and NPY, the
# same JSON but for the data's name and columns.
same() {
    local name=$1 file=$2; shift 2
    local ext
    for ext in npy csv; do
        both "$name ($ext)" "$file.$ext" "${file}_ones.$ext" "$@" || continue
        local diff
        diff=$("$PYTHON" - <<'PY'
import json
a, b = (json.load(open(f)) for f in ("implicit.json", "stored.json"))
for j in (a, b):
    j.pop("data")
    j.pop("columns", None)  # the stored form's file has a ones column more
keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
print(" ".join(keys))
if "final_weights" not in a or len(a["losses"]) == 0:
    print("no final_weights or losses")
PY
)
        if [ -z "$diff" ]; then pass "$name ($ext)"; else fail "$name ($ext)" "differs in: $diff"; fi
    done
}

same linear_gd reg --optimizer gd --lr 0.05 --epochs 40
same linear_momentum reg --optimizer momentum --lr 0.02 --epochs 30
same linear_adam_shuffled_batches reg --optimizer adam --lr 0.05 --epochs 6 --batch-size 32 --shuffle
same linear_rmsprop_batches_in_order reg --optimizer rmsprop --lr 0.01 --epochs 5 --batch-size 50
same linear_newton reg --optimizer newton --epochs 3
same linear_newton_cg reg --optimizer newton-cg --epochs 3
same linear_lbfgs reg --optimizer lbfgs --epochs 3
same linear_adam_streamed reg --optimizer adam --lr 0.05 --epochs 8 --stream-chunk 37
same linear_newton_streamed reg --optimizer newton --epochs 2 --stream-chunk 50
same logistic_newton bin --model logistic --optimizer newton --epochs 4
same logistic_adam_batches bin --model logistic --optimizer adam --lr 0.05 --epochs 5 --batch-size 40 --shuffle
same softmax_adam cls --model softmax --optimizer adam --lr 0.05 --epochs 20
same softmax_lbfgs cls --model softmax --optimizer lbfgs --epochs 3
same linear_adam_f32 reg --dtype f32 --optimizer adam --lr 0.05 --epochs 20
same linear_newton_f32 reg --dtype f32 --optimizer newton --epochs 3
same logistic_newton_f32 bin --dtype f32 --model logistic --optimizer newton --epochs 4
same softmax_adam_f32_batches cls --dtype f32 --model softmax --optimizer adam --lr 0.05 --epochs 5 --batch-size 50 --shuffle

# newton-cg on a classifier has no fused Hessian-vector product: it differentiates the model
# twice, and X W[:d] + W[d] rounds otherwise than [X, 1] W. The same run to rounding, not
# bitwise: final weights and losses within TOL, relative.
close() {
    local name=$1 tol=$2 file=$3; shift 3
    both "$name" "$file.npy" "${file}_ones.npy" "$@" || return
    local worst
    worst=$("$PYTHON" - <<'PY'
import json
a, b = (json.load(open(f)) for f in ("implicit.json", "stored.json"))
pairs = list(zip(a["final_weights"], b["final_weights"])) + list(zip(a["losses"], b["losses"]))
print(max(abs(x - y) / max(abs(y), 1e-12) for x, y in pairs))
PY
)
    if "$PYTHON" -c "import sys; sys.exit(0 if $worst <= $tol else 1)"; then
        pass "$name (relative difference $worst <= $tol)"
    else
        fail "$name" "relative difference $worst > $tol"
    fi
}
close logistic_newton_cg_f32 1e-5 bin --dtype f32 --model logistic --optimizer newton-cg --epochs 4
close softmax_newton_cg_f32 1e-5 cls --dtype f32 --model softmax --optimizer newton-cg --epochs 4
close softmax_newton_cg_f64 1e-12 cls --model softmax --optimizer newton-cg --epochs 4

# The checkpoint's data identity: the CRC-32C (Castagnoli, bit by bit here) of X with its ones
# column, as the file's numbers in f64, and of y.
for ext in npy csv; do
    if ! "$DESCENT" train --device cpu --quiet --epochs 2 --data "reg.$ext" --ones-column implicit \
            --checkpoint "$ext.ckpt" >/dev/null 2>err.txt; then
        fail "identity_$ext" "could not write the checkpoint: $(head -c 400 err.txt)"
        continue
    fi
    expected=$(PYTHONPATH="$CLI_DIR" "$PYTHON" - "$ext" <<'PY'
import sys
import numpy as np
from crc32c import crc32c
ext = sys.argv[1]
data = np.load("reg.npy") if ext == "npy" else np.loadtxt("reg.csv", delimiter=",", skiprows=1)
X1 = np.column_stack([data[:, :-1], np.ones(len(data))]).astype("<f8")
y = data[:, -1].astype("<f8")
print("file;n=%d;d=%d;intercept=yes;crc32c=%08x-%08x" %
      (len(data), X1.shape[1], crc32c(X1.tobytes()), crc32c(y.tobytes())))
PY
)
    if grep -aqF "$expected" "$ext.ckpt"; then
        pass "identity_$ext (X with its ones column: $expected)"
    else
        fail "identity_$ext" "the checkpoint does not name the data as $expected"
    fi
    # Resumed with the column stored (as on a CUDA device): the same data, the same run.
    if "$DESCENT" train --device cpu --quiet --epochs 4 --data "reg.$ext" --ones-column stored \
            --resume "$ext.ckpt" >/dev/null 2>err.txt; then
        pass "resume_${ext}_stored_from_implicit"
    else
        fail "resume_${ext}_stored_from_implicit" "$(head -c 400 err.txt)"
    fi
done

# A diverging gd run: the advice's bound is 2/λmax of 2/n [X, 1]ᵀ[X, 1], computed here.
bound=$("$PYTHON" - <<'PY'
import numpy as np
data = np.load("reg.npy")
X1 = np.column_stack([data[:, :-1], np.ones(len(data))])
print("%.6g" % (2.0 / np.linalg.eigvalsh(2.0 / len(X1) * X1.T @ X1).max()))
PY
)
"${TIMEOUT[@]}" "$DESCENT" train --device cpu --quiet --data reg.npy --ones-column implicit \
    --optimizer gd --lr 2 --epochs 200 >out.txt 2>err.txt </dev/null
rc=$?
if [ $rc -ne 0 ] && grep -qF "below 2/lambda_max = $bound" err.txt; then
    pass "divergence_advice (2/lambda_max = $bound)"
else
    fail divergence_advice "exit $rc, expected 'below 2/lambda_max = $bound' in: $(head -c 400 err.txt)"
fi

cli_summary
