#!/usr/bin/env bash
# Resuming checks the data's contents (CRC-32C of X and of y) and the checkpoint's checksum:
#
#   bash tests/cli/data_identity.sh /path/to/descent
#
# A run on data.npy (and one on data.csv) is checkpointed, then resumed on an identical copy
# (must succeed), on a copy with one feature column negated and on one with the target
# negated (each must be refused naming the data; 40 rows, an even count, which a checksum
# blind to pairs of sign bits, like the old FNV-1a over 8-byte words, lets through), and a
# checkpoint with two bits flipped 8 bytes apart in its payload must be refused by checksum.
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/descent" >&2
    exit 2
fi
DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
PYTHON=/usr/bin/python3
if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "skip: $PYTHON with numpy is needed to write the data files" >&2
    exit 77
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-data-identity.XXXXXX")" || exit 2
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 120); fi

# 40 rows of 3 features and a target; every copy is written the same way as the original.
"$PYTHON" - <<'PY' || { echo "could not write the data files" >&2; exit 2; }
import numpy as np
rng = np.random.default_rng(11)
X = rng.normal(size=(40, 3))
y = X @ np.array([1.5, -2.0, 0.5]) + 0.25 + 0.1 * rng.normal(size=40)
data = np.column_stack([X, y])
variants = {"data": data, "copy": data.copy(), "neg_feature": data.copy(), "neg_target": data.copy()}
variants["neg_feature"][:, 1] *= -1
variants["neg_target"][:, -1] *= -1
for name, a in variants.items():
    np.save(name + ".npy", a)
    np.savetxt(name + ".csv", a, delimiter=",", header="a,b,c,y", comments="", fmt="%.17g")
PY

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
fail() {
    failed=$((failed + 1)); echo "FAIL  $1"; shift
    local m
    for m in "$@"; do printf '        %s\n' "$m"; done
}

# expect_refused NAME FRAGMENT... -- ARGS: exit in 1..127, one "descent: error:" line on
# stderr containing every fragment, nothing on stdout.
expect_refused() {
    local name=$1; shift
    local fragments=()
    while [ "$1" != -- ]; do fragments+=("$1"); shift; done
    shift
    "${TIMEOUT[@]}" "$DESCENT" "$@" >out.txt 2>err.txt </dev/null
    local rc=$? problems=() line frag
    line=$(tail -n 1 err.txt)
    if [ $rc -eq 0 ]; then problems+=("exit status 0: the run was not refused")
    elif [ $rc -ge 124 ]; then problems+=("exit status $rc (timeout or signal)"); fi
    [ -s out.txt ] && problems+=("stdout is not empty")
    [ "$(wc -l <err.txt)" -eq 1 ] || problems+=("stderr has $(wc -l <err.txt) lines, not 1")
    [[ $line == "descent: error: "* ]] || problems+=("no 'descent: error:' line: $line")
    for frag in "${fragments[@]}"; do
        [[ $line == *"$frag"* ]] || problems+=("the error does not contain '$frag': $line")
    done
    if [ ${#problems[@]} -eq 0 ]; then ok "$name"; else fail "$name" "${problems[@]}"; fi
}

expect_success() {
    local name=$1; shift
    "${TIMEOUT[@]}" "$DESCENT" "$@" >out.txt 2>err.txt </dev/null
    local rc=$?
    if [ $rc -eq 0 ]; then ok "$name"; else fail "$name" "exit status $rc: $(head -c 400 err.txt)"; fi
}

for ext in npy csv; do
    if ! "$DESCENT" train --device cpu --quiet --epochs 3 --data "data.$ext" --checkpoint "$ext.ckpt" \
            >/dev/null 2>err.txt; then
        fail "${ext}_checkpoint" "could not write the checkpoint: $(head -c 400 err.txt)"
        continue
    fi
    common=(train --device cpu --quiet --epochs 5 --resume "$ext.ckpt")
    expect_success "${ext}_resume_identical_copy" "${common[@]}" --data "copy.$ext"
    expect_refused "${ext}_resume_feature_negated" --resume "$ext.ckpt" "data '" "crc32c=" \
        -- "${common[@]}" --data "neg_feature.$ext"
    expect_refused "${ext}_resume_target_negated" --resume "$ext.ckpt" "data '" "crc32c=" \
        -- "${common[@]}" --data "neg_target.$ext"
done

# Two flipped bits 8 bytes apart in the payload, in the trajectory (the last 3 epochs x 4
# weights x 8 bytes before the 4-byte trailer, recorded because of --trace), where a flip
# passes every structural check: bit 7 of bytes 455 and 463 when both lie there, else the
# last such pair. Byte offsets = 7 mod 8 are the top bits of two consecutive 8-byte words,
# which cancelled in the old FNV-1a: that checksum resumed from this file with exit 0.
if "$DESCENT" train --device cpu --quiet --epochs 3 --data data.npy --trace t.csv \
        --checkpoint traj.ckpt >/dev/null 2>err.txt; then
    "$PYTHON" - traj.ckpt flipped.ckpt <<'PY' >flip.txt || fail checkpoint_two_bits_flipped "could not flip bits"
import sys
data = bytearray(open(sys.argv[1], "rb").read())
end = len(data) - 4                 # the trailer
first = end - 3 * 4 * 8             # the trajectory's first byte
a = 455 if first <= 455 and 463 < end else (end - 16) // 8 * 8 + 7  # a + 8 < end
if a + 8 >= end or a < first:
    sys.exit("checkpoint too short: %d bytes" % len(data))
data[a] ^= 0x80
data[a + 8] ^= 0x80
open(sys.argv[2], "wb").write(data)
print(a, a + 8)
PY
    if [ -s flipped.ckpt ]; then
        expect_refused "checkpoint_two_bits_flipped (bytes $(cat flip.txt))" flipped.ckpt checksum \
            -- train --device cpu --quiet --epochs 5 --resume flipped.ckpt --data data.npy --trace t2.csv
    fi
else
    fail checkpoint_two_bits_flipped "could not write the checkpoint: $(head -c 400 err.txt)"
fi

echo
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
