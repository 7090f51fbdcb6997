#!/usr/bin/env bash
# `descent blog --plot DIR` writes two real figures.
#
#   bash tests/cli/plots.sh /path/to/descent
#
# Skips (exit 77) when /usr/bin/python3 has no matplotlib. Otherwise checks that DIR (created
# by descent) holds loss.png and trajectories.png: PNG magic bytes, larger than 20 kB, loadable,
# not blank (pixel standard deviation clearly above 0 and at least 5% of the pixels differ from
# the background, the most common colour), and that no scratch directory DIR/.descent-plot-*
# is left behind. Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY=/usr/bin/python3
if ! "$PY" -c 'import matplotlib' >/dev/null 2>&1; then
    echo "SKIP: matplotlib not installed"
    exit 77
fi
cli_setup plots "$@"

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 300); fi

# check_png FILE: magic bytes, size, and pixels that are not blank.
check_png() {
    local file=$1
    [ -f "$file" ] || { echo "$file does not exist"; return 1; }
    local magic
    magic=$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')
    [ "$magic" = 89504e470d0a1a0a ] || { echo "$file is not a PNG (starts with $magic)"; return 1; }
    local size
    size=$(wc -c <"$file")
    [ "$size" -gt 20000 ] || { echo "$file is only $size bytes (expected > 20 kB)"; return 1; }
    "$PY" - "$file" 2>&1 <<'EOF'
import sys
import numpy as np
path = sys.argv[1]
try:
    from PIL import Image
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
except ImportError:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    img = np.asarray(mpimg.imread(path), dtype=np.float64)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3]
    if img.max() > 1.0:
        img = img / 255.0
h, w = img.shape[:2]
if h < 200 or w < 200:
    sys.exit("%s is only %dx%d pixels" % (path, w, h))
std = float(img.std())
if not std > 0.02:
    sys.exit("%s looks blank: pixel standard deviation %.4f" % (path, std))
q = np.round(img * 255).astype(np.int64).reshape(-1, 3)
codes = (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]
values, counts = np.unique(codes, return_counts=True)
background = values[counts.argmax()]
fraction = float((codes != background).mean())
if not fraction >= 0.05:
    sys.exit("%s looks blank: only %.1f%% of the pixels differ from the background #%06x"
             % (path, 100 * fraction, background))
print("%dx%d, std %.3f, %.1f%% not background" % (w, h, std, 100 * fraction))
EOF
}

DIR="$WORK/figures"  # does not exist yet: descent creates it
"${TIMEOUT[@]}" "$DESCENT" blog --plot "$DIR" >out.txt 2>err.txt </dev/null
RC=$?
if [ $RC -eq 0 ]; then pass "blog --plot exits 0"
else fail "blog --plot exits 0" "exit status $RC" "stderr:" "$(cat err.txt)"; fi

if [ $RC -eq 0 ] && grep -q "^figures: $DIR/loss.png, $DIR/trajectories.png$" out.txt &&
   [ "$(grep -cE '^(gd|newton|momentum|adagrad|rmsprop|adam) ' out.txt)" -eq 7 ]; then
    pass "the table and the figures line on stdout"
else fail "the table and the figures line on stdout" "stdout:" "$(cat out.txt)"; fi

if [ ! -s err.txt ]; then pass "nothing on stderr"
else fail "nothing on stderr" "$(cat err.txt)"; fi

for png in loss.png trajectories.png; do
    if msg=$(check_png "$DIR/$png"); then pass "$png: $msg"
    else fail "$png" "$msg"; fi
done

leftovers=$(find "$DIR" -mindepth 1 -maxdepth 1 -name '.descent-plot-*' -print 2>/dev/null)
if [ -d "$DIR" ] && [ -z "$leftovers" ]; then pass "no scratch directory left behind"
else fail "no scratch directory left behind" "left behind: ${leftovers:-($DIR missing)}"; fi

others=$(find "$DIR" -mindepth 1 -maxdepth 1 ! -name loss.png ! -name trajectories.png -print 2>/dev/null)
if [ -z "$others" ]; then pass "only the two figures in DIR"
else fail "only the two figures in DIR" "also there: $others"; fi

# Again into the now existing directory: the figures are replaced, nothing else appears.
"${TIMEOUT[@]}" "$DESCENT" blog --plot "$DIR" --epochs 10 >out.txt 2>err.txt </dev/null
RC=$?
others=$(find "$DIR" -mindepth 1 -maxdepth 1 ! -name loss.png ! -name trajectories.png -print 2>/dev/null)
if [ $RC -eq 0 ] && [ -z "$others" ] && msg=$(check_png "$DIR/loss.png"); then
    pass "blog --plot into an existing directory"
else fail "blog --plot into an existing directory" "exit $RC; ${msg:-}; extra files: ${others:-none}" "$(cat err.txt)"; fi

# descent train --plot DIR: the loss curves, and for two weights the path over the contours.
TDIR="$WORK/train-figures"
"${TIMEOUT[@]}" "$DESCENT" train --data blog --optimizer adam --lr 0.5 --epochs 60 --quiet \
    --plot "$TDIR" >out.txt 2>err.txt </dev/null
RC=$?
for png in loss.png trajectory.png; do
    if [ $RC -eq 0 ] && msg=$(check_png "$TDIR/$png"); then pass "train --plot $png: $msg"
    else fail "train --plot $png" "exit $RC; ${msg:-}" "$(cat err.txt)"; fi
done
others=$(find "$TDIR" -mindepth 1 -maxdepth 1 ! -name loss.png ! -name trajectory.png -print 2>/dev/null)
if [ -z "$others" ]; then pass "train --plot: only its figures in DIR"
else fail "train --plot: only its figures in DIR" "also there: $others"; fi
# Four weights and a validation set: the loss curves (training and validation) alone.
VDIR="$WORK/val-figures"
"${TIMEOUT[@]}" "$DESCENT" train --data synthetic:n=500,d=3 --optimizer adam --lr 0.1 --epochs 30 \
    --quiet --val-fraction 0.2 --plot "$VDIR" >out.txt 2>err.txt </dev/null
RC=$?
if [ $RC -eq 0 ] && msg=$(check_png "$VDIR/loss.png") && [ ! -e "$VDIR/trajectory.png" ]; then
    pass "train --plot: four weights, loss curves only: $msg"
else fail "train --plot: four weights, loss curves only" "exit $RC; ${msg:-}" "$(cat err.txt)"; fi
# A file where DIR should be: refused before training, nothing written.
: > "$WORK/not-a-dir"
"${TIMEOUT[@]}" "$DESCENT" train --data blog --epochs 2 --quiet --plot "$WORK/not-a-dir" >out.txt 2>err.txt </dev/null
RC=$?
if [ $RC -ne 0 ] && [ ! -s out.txt ] && [ "$(wc -l < err.txt)" -eq 1 ] && grep -q -- "--plot" err.txt; then
    pass "train --plot onto a file is refused"
else fail "train --plot onto a file is refused" "exit $RC" "$(cat err.txt)"; fi

cli_summary
