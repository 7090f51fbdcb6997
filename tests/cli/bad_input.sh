#!/usr/bin/env bash
# Bad input to the descent CLI: every case must fail cleanly.
#
#   bash tests/cli/bad_input.sh /path/to/descent
#
# For each case of the table below, run in a fresh temporary directory, this checks that
#   - the exit status is non-zero and < 128 (an error, not a signal or a crash),
#   - stdout is empty,
#   - stderr is exactly one non-empty line, "descent: error: ...", ending in a newline
#     (cases marked `progress` train before failing: progress lines may precede the error),
#   - that line contains every expected fragment,
#   - when the case passed --trace FILE, no FILE (unless it was there before) and no
#     temporary .FILE.*.tmp or lock .FILE.lock is left behind; when it passed --plot DIR, no PNG and no DIR/.descent-plot-*
#     scratch directory is left behind (and a regular file given as DIR is untouched); when it
#     passed --checkpoint FILE, no FILE (every checkpoint case fails before training starts),
#     or an existing FILE left as it was (same kind, same bytes).
# A few cases must instead succeed (exit 0): the controls for the data files written here,
# Newton on singular data once damping is added, and --stream-chunk on file and blog data.
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/descent" >&2
    exit 2
fi
DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIX="$SCRIPT_DIR/../reference/fixtures"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-bad-input.XXXXXX")" || exit 2
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"
mkdir -p "$DATA"

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 120); fi

# ---------------------------------------------------------------------------------------------
# Checkpoints: a good one written by descent itself (blog data, gd, 3 epochs), then broken
# copies. Byte 8 is the format version; byte 60 lies in the payload, under the checksum.
"$DESCENT" train --device cpu --quiet --epochs 3 --checkpoint "$DATA/good.ckpt" >/dev/null 2>&1 ||
    { echo "could not write the control checkpoint" >&2; exit 2; }
printf 'a,b,y\n1,0,2\n0,1,3\n1,1,6\n2,1,7\n' >"$DATA/ck.csv"
"$DESCENT" train --device cpu --quiet --epochs 3 --data "$DATA/ck.csv" --checkpoint "$DATA/csv.ckpt" >/dev/null 2>&1 ||
    { echo "could not write the control CSV checkpoint" >&2; exit 2; }
printf 'a,b,y\n1,0,2\n0,1,3\n1,1,6\n2,1,8\n' >"$DATA/ck_edited.csv"   # one target changed
cp "$DATA/ck.csv" "$DATA/ck_moved.csv"                                  # same contents
head -c 100 "$DATA/good.ckpt" >"$DATA/truncated.ckpt"
cp "$DATA/good.ckpt" "$DATA/corrupt.ckpt"
printf '\xff' | dd of="$DATA/corrupt.ckpt" bs=1 seek=60 conv=notrunc status=none
cp "$DATA/good.ckpt" "$DATA/version.ckpt"
printf '\x07' | dd of="$DATA/version.ckpt" bs=1 seek=8 conv=notrunc status=none
cp "$DATA/good.ckpt" "$DATA/version1.ckpt"                             # the older format
printf '\x01' | dd of="$DATA/version1.ckpt" bs=1 seek=8 conv=notrunc status=none
printf 'hello\n' >"$DATA/text.ckpt"
: >"$DATA/empty.ckpt"

# ---------------------------------------------------------------------------------------------
# Bad data files.

# CSV
: >"$DATA/empty.csv"
printf 'x,y\n' >"$DATA/header_only.csv"
printf 'x,y\n1,2\n3,abc\n4,5\n' >"$DATA/non_numeric.csv"           # line 3, column 2
printf '1,2a\n3,4\n5,6\n' >"$DATA/typo_first_line.csv"              # not a header: line 1, column 2
printf '1,2\n3,4\n5,6,7\n8,9\n' >"$DATA/ragged_long.csv"           # line 3 has 3 fields
printf '1,2\n3,4\n5\n' >"$DATA/ragged_short.csv"                   # line 3 has 1 field
printf '1,2,3\n4,,6\n' >"$DATA/empty_field.csv"
printf 'x,y\n1,2\nnan,4\n5,6\n' >"$DATA/nan.csv"                  # line 3, column 1
printf '1,2\n3,4\n5,inf\n' >"$DATA/inf.csv"                        # line 3, column 2
printf '1\n2\n3\n' >"$DATA/one_column.csv"
mkdir -p "$DATA/directory.csv"
# Two identical feature columns: X^T X is singular without the intercept column.
printf 'a,b,y\n1,1,2\n2,2,4\n3,3,7\n4,4,7\n' >"$DATA/singular.csv"
# y = 2x + 1 exactly: a run started next to the optimum (Adam's first step lifts its tiny loss
# a million-fold, which is no divergence).
awk 'BEGIN { print "x,y"; for (i = 0; i < 100; ++i) printf "%.6f,%.12f\n", i / 100, 2 * i / 100 + 1 }' >"$DATA/exact.csv"
# Control: a good CSV in the same style.
printf 'a,b,y\n1,0,2\n0,1,3\n1,1,6\n2,1,7\n' >"$DATA/good.csv"

# NPY, written byte by byte: make_npy FILE DESCR FORTRAN SHAPE DATA-PRINTF-FORMAT
# (format 1.0; the header is padded with spaces to a multiple of 64 bytes, ending in '\n').
make_npy() {
    local file=$1 descr=$2 fortran=$3 shape=$4 data=$5
    local dict="{'descr': '$descr', 'fortran_order': $fortran, 'shape': $shape, }"
    local total=$(( (10 + ${#dict} + 1 + 63) / 64 * 64 ))
    local hlen=$(( total - 10 ))
    local pad=$(( hlen - ${#dict} - 1 ))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
        printf '%s%*s\n' "$dict" "$pad" ''
        printf "$data"
    } >"$file"
}
F8_1='\x00\x00\x00\x00\x00\x00\xf0\x3f'    # 1.0
F8_2='\x00\x00\x00\x00\x00\x00\x00\x40'    # 2.0
F8_3='\x00\x00\x00\x00\x00\x00\x08\x40'    # 3.0
F8_NAN='\x00\x00\x00\x00\x00\x00\xf8\x7f'  # NaN
make_npy "$DATA/good.npy" '<f8' False '(3, 2)' "$F8_1$F8_2$F8_2$F8_3$F8_3$F8_1"  # control
make_npy "$DATA/nan.npy" '<f8' False '(3, 2)' "$F8_1$F8_2$F8_NAN$F8_3$F8_3$F8_1"
make_npy "$DATA/one_column.npy" '<f8' False '(3, 1)' "$F8_1$F8_2$F8_3"
make_npy "$DATA/zero_rows.npy" '<f8' False '(0, 2)' ''
make_npy "$DATA/short_data.npy" '<f8' False '(3, 2)' "$F8_1$F8_2$F8_3"        # 24 of 48 bytes
make_npy "$DATA/extra_data.npy" '<f8' False '(1, 2)' "$F8_1$F8_2$F8_3"        # 8 bytes too many
make_npy "$DATA/float16.npy" '<f2' False '(2, 2)' '\x00\x3c\x00\x40\x00\x42\x00\x3c'
head -c 60 "$DATA/good.npy" >"$DATA/truncated_header.npy"                     # header cut short
printf 'hello, world\n' >"$DATA/not_npy.npy"
printf '\x93NUMPY\x09\x00\x10\x00' >"$DATA/bad_version.npy"

# ---------------------------------------------------------------------------------------------
# Per-case setup, run inside the case's fresh directory: setup_<case name>.
setup_plot_into_regular_file() { printf 'not a directory\n' >figures; }
setup_trace_into_directory() { mkdir trace.csv; }

# ---------------------------------------------------------------------------------------------
# The table: NAME | ARGUMENTS | FRAGMENTS [| FLAGS]
#   ARGUMENTS are split on blanks; @DATA and @FIX stand for the data and fixture directories.
#   FRAGMENTS: substrings the error line must contain, separated by " && "; one that starts
#   with '~' is an extended regular expression instead.
#   FLAGS (comma-separated): progress  the case trains before failing: progress lines on stderr
#                                      may precede the error line;
#                            may-pass  exit 0 is acceptable (--device cuda where CUDA works).
# Most cases pass --device cpu so that each checks its own error and nothing else; the two
# auto_device_* cases check the default device (auto) as a user would meet it.
CASES="$(cat <<'EOF'
# --- command line
unknown_command          | bogus                                                  | unknown command && 'bogus'
unknown_command_typo     | trian --epochs 5                                       | unknown command && 'trian'
unknown_optimizer        | train --device cpu --optimizer sgdx                    | unknown optimizer && 'sgdx'
unknown_preset           | train --device cpu --preset pytorch                    | preset && 'pytorch'
unknown_flag             | train --device cpu --frobnicate 1                      | --frobnicate
unknown_flag_blog        | blog --lr 0.1                                          | unknown flag && --lr
flag_given_twice         | train --device cpu --lr 0.1 --lr 0.2                   | --lr && twice
flag_given_twice_eq      | train --device cpu --epochs=5 --epochs 6               | --epochs && twice
missing_flag_value       | train --device cpu --lr                                | --lr && needs a value
boolean_flag_with_value  | train --device cpu --quiet=yes                         | --quiet && takes no value
positional_argument      | train --device cpu extra                               | 'extra'
# --- hyperparameters
lr_zero                  | train --device cpu --lr 0                              | lr && > 0
lr_negative              | train --device cpu --lr -1                             | lr && -1
lr_not_a_number          | train --device cpu --lr abc                            | --lr && 'abc'
lr_nan                   | train --device cpu --lr nan                            | --lr && 'nan'
lr_overflow              | train --device cpu --lr 1e400                          | --lr && '1e400'
momentum_too_large       | train --device cpu --optimizer momentum --momentum 1.5 | momentum && 1.5
momentum_nesterov_zero   | train --device cpu --optimizer momentum --momentum 0 --nesterov | nesterov
dampening_too_large      | train --device cpu --optimizer momentum --dampening 2  | dampening && 2
rmsprop_alpha_one        | train --device cpu --optimizer rmsprop --alpha 1       | alpha && [0, 1)
adam_beta1_negative      | train --device cpu --optimizer adam --beta1 -0.1       | beta1 && -0.1
adam_beta2_one           | train --device cpu --optimizer adam --beta2 1          | beta2 && [0, 1)
adam_eps_negative        | train --device cpu --optimizer adam --eps -1           | eps && -1
weight_decay_negative    | train --device cpu --weight-decay -1                   | weight && -1
newton_damping_negative  | train --device cpu --optimizer newton --damping -1     | damping && -1
flag_not_for_gd          | train --device cpu --beta1 0.5                         | beta1 && gd
flag_not_for_newton      | train --device cpu --optimizer newton --momentum 0.9   | momentum && newton
# --- the curvature methods (newton-cg, lbfgs)
lbfgs_line_search_typo   | train --device cpu --optimizer lbfgs --line-search wolfe | 'wolfe' && none or strong-wolfe
lbfgs_history_zero       | train --device cpu --optimizer lbfgs --history-size 0  | history_size && >= 1
lbfgs_max_iter_text      | train --device cpu --optimizer lbfgs --max-iter x      | --max-iter && integer
lbfgs_minibatch          | train --device cpu --optimizer lbfgs --batch-size 10   | lbfgs && full-batch
flag_not_for_lbfgs       | train --device cpu --optimizer lbfgs --cg-max-iter 5   | cg_max_iter && lbfgs
newton_cg_lr             | train --device cpu --optimizer newton-cg --lr 0.5      | lr && newton-cg && line search
newton_cg_cg_tol_one     | train --device cpu --optimizer newton-cg --cg-tol 1    | cg_tol && (0, 1)
newton_cg_streamed       | train --device cpu --optimizer newton-cg --data synthetic:n=100,d=2 --stream-chunk 10 | newton-cg && streamed && lbfgs
flag_not_for_newton_cg   | train --device cpu --optimizer newton-cg --history-size 3 | history_size && newton-cg
# --- device, dtype, epochs, seed
device_unknown           | train --device gpu                                     | device && 'gpu'
device_unknown_blog      | blog --device gpu                                      | device && 'gpu'
device_cuda              | train --device cuda --quiet                            | --device cuda | may-pass
device_cuda_index        | train --device cuda:99 --quiet                         | cuda:99
dtype_f16                | train --device cpu --dtype f16                         | dtype && 'f16'
ones_column_unknown      | train --device cpu --ones-column sideways              | --ones-column && 'sideways'
ones_column_not_a_file   | train --device cpu --ones-column implicit              | --ones-column && data file && blog
ones_column_no_intercept | train --device cpu --data @DATA/good.csv --no-intercept --ones-column stored | --ones-column && --no-intercept
dtype_f16_blog           | blog --dtype f16                                       | dtype && 'f16'
epochs_zero              | train --device cpu --epochs 0                          | --epochs && 0
epochs_negative          | train --device cpu --epochs -5                         | --epochs && -5
epochs_not_integer       | train --device cpu --epochs 1.5                        | --epochs && 1.5
epochs_text              | train --device cpu --epochs ten                        | --epochs && 'ten'
epochs_zero_blog         | blog --epochs 0                                        | --epochs && 0
seed_negative            | train --device cpu --init random --seed -1             | --seed && -1
seed_too_large           | train --device cpu --init random --seed 4294967296     | --seed && 4294967296
# --- initial weights
init_too_many            | train --device cpu --init 1,2,3                        | --init && 3 values && 2 weights
init_too_few             | train --device cpu --init 1                            | --init && 2 weights
init_empty               | train --device cpu --init=                             | --init
init_not_a_number        | train --device cpu --init 1,abc                        | --init && 'abc'
init_blog_on_synthetic   | train --device cpu --init blog --data synthetic:n=10,d=2 | --init blog && synthetic
# --- data specs
blog_without_intercept   | train --device cpu --data blog --no-intercept          | blog && intercept
data_unknown_form        | train --device cpu --data points.txt                   | 'points.txt'
data_empty_spec          | train --device cpu --data=                             | dataset && ''
synthetic_n_zero         | train --device cpu --data synthetic:n=0,d=2            | synthetic:n=0,d=2 && n must be >= 1
synthetic_missing_d      | train --device cpu --data synthetic:n=10               | synthetic:n=10 && missing d
synthetic_unknown_key    | train --device cpu --data synthetic:n=10,d=2,bogus=1   | synthetic:n=10,d=2,bogus=1 && 'bogus'
synthetic_noise_negative | train --device cpu --data synthetic:n=10,d=2,noise=-1  | noise && -1
synthetic_n_text         | train --device cpu --data synthetic:n=ten,d=2          | n=ten
synthetic_too_large      | train --device cpu --data synthetic:n=100000000000,d=100000 | 100000000000
# --- CSV files
csv_missing              | train --device cpu --data @DATA/missing.csv            | missing.csv && no such file
csv_directory            | train --device cpu --data @DATA/directory.csv          | directory.csv && directory
csv_empty                | train --device cpu --data @DATA/empty.csv              | empty.csv && empty
csv_header_only          | train --device cpu --data @DATA/header_only.csv        | header_only.csv && no data rows
csv_non_numeric          | train --device cpu --data @DATA/non_numeric.csv        | non_numeric.csv && line 3 && column 2 && 'abc'
csv_typo_first_line      | train --device cpu --data @DATA/typo_first_line.csv    | typo_first_line.csv && line 1 && column 2 && '2a'
csv_ragged_long          | train --device cpu --data @DATA/ragged_long.csv        | ragged_long.csv && line 3
csv_ragged_short         | train --device cpu --data @DATA/ragged_short.csv       | ragged_short.csv && line 3
csv_empty_field          | train --device cpu --data @DATA/empty_field.csv        | empty_field.csv && line 2 && column 2
csv_nan                  | train --device cpu --data @DATA/nan.csv                | nan.csv && line 3 && column 1 && ~[Nn]a[Nn]
csv_inf                  | train --device cpu --data @DATA/inf.csv                | inf.csv && line 3 && column 2 && ~[Ii]nf
csv_one_column           | train --device cpu --data @DATA/one_column.csv         | one_column.csv && column
# --- NPY files
npy_missing              | train --device cpu --data @DATA/missing.npy            | missing.npy && no such file
npy_float16              | train --device cpu --data @DATA/float16.npy            | float16.npy && dtype && <f2
npy_3d                   | train --device cpu --data @FIX/npy_3d.npy              | npy_3d.npy && rank 3
npy_big_endian           | train --device cpu --data @FIX/npy_big_endian.npy      | npy_big_endian.npy && big-endian
npy_truncated_header     | train --device cpu --data @DATA/truncated_header.npy   | truncated_header.npy && truncated
npy_truncated_data       | train --device cpu --data @DATA/short_data.npy         | short_data.npy && truncated
npy_trailing_bytes       | train --device cpu --data @DATA/extra_data.npy         | extra_data.npy && bytes
npy_bad_magic            | train --device cpu --data @DATA/not_npy.npy            | not_npy.npy && NPY
npy_bad_version          | train --device cpu --data @DATA/bad_version.npy        | bad_version.npy && version
npy_one_column           | train --device cpu --data @DATA/one_column.npy         | one_column.npy && column
npy_zero_rows            | train --device cpu --data @DATA/zero_rows.npy          | zero_rows.npy && rows
npy_nan                  | train --device cpu --data @DATA/nan.npy                | nan.npy && row && column
# --- failures during or after training
diverges                 | train --device cpu --optimizer gd --lr 10 --epochs 200 --quiet --trace out.csv | ~epoch [0-9]+ && smaller learning rate
diverges_with_progress   | train --device cpu --optimizer gd --lr 10 --epochs 200 --trace out.csv | ~epoch [0-9]+ && smaller learning rate | progress
diverges_json            | train --device cpu --optimizer gd --lr 10 --epochs 200 --quiet --json | ~epoch [0-9]+ && smaller learning rate
diverges_f32             | train --device cpu --dtype f32 --lr 10 --epochs 200 --quiet --trace out.csv | ~epoch [0-9]+ && smaller learning rate
diverges_at_last_epoch   | train --device cpu --optimizer gd --lr 10 --epochs 54 --quiet --trace out.csv | diverged && smaller learning rate
newton_singular          | train --device cpu --data @DATA/singular.csv --optimizer newton --no-intercept --quiet --trace out.csv | damping
trace_missing_directory  | train --device cpu --quiet --trace nowhere/out.csv     | nowhere/out.csv
trace_into_directory     | train --device cpu --quiet --trace trace.csv           | trace.csv
plot_into_regular_file   | blog --plot figures                                    | --plot && figures
plot_missing_parent      | blog --plot nowhere/figures                            | --plot && nowhere/figures
# --- mini-batches and the divergence flag
batch_zero               | train --device cpu --batch-size 0                      | --batch-size && 0
batch_negative           | train --device cpu --batch-size -4                     | --batch-size && -4
batch_text               | train --device cpu --batch-size many                   | --batch-size && 'many'
shuffle_without_batch    | train --device cpu --shuffle                           | --shuffle && --batch-size
newton_minibatch         | train --device cpu --optimizer newton --batch-size 10  | newton && full-batch
on_divergence_unknown    | train --device cpu --on-divergence ignore              | --on-divergence && 'ignore'
stream_chunk_zero        | train --device cpu --data synthetic:n=100,d=2 --stream-chunk 0 | --stream-chunk && 0
stream_with_batches      | train --device cpu --data synthetic:n=100,d=2 --stream-chunk 10 --batch-size 5 | --stream-chunk && --batch-size
stream_file_chunk_zero   | train --device cpu --data @DATA/good.csv --stream-chunk 0 | --stream-chunk && 0
stream_file_chunk_text   | train --device cpu --data @DATA/good.csv --stream-chunk many | --stream-chunk && 'many'
stream_file_with_batches | train --device cpu --data @DATA/good.csv --stream-chunk 2 --batch-size 2 | --stream-chunk && --batch-size
stream_file_missing      | train --device cpu --data @DATA/missing.csv --stream-chunk 2 | missing.csv && no such file
stream_file_bad_npy      | train --device cpu --data @DATA/not_npy.npy --stream-chunk 2 | not_npy.npy && NPY
stream_host_diverges     | train --device cpu --optimizer gd --lr 10 --epochs 200 --quiet --stream-chunk 7 | ~epoch [0-9]+ && 2/lambda_max && smaller learning rate
cuda_graph_on_cpu        | train --device cpu --cuda-graph                        | --cuda-graph && CUDA device && cpu
# --- checkpoints
ckpt_every_zero          | train --device cpu --checkpoint out.ckpt --checkpoint-every 0 | --checkpoint-every && 0
ckpt_every_alone         | train --device cpu --checkpoint-every 5                | --checkpoint-every && --checkpoint
ckpt_missing_directory   | train --device cpu --quiet --checkpoint nowhere/out.ckpt | nowhere/out.ckpt
ckpt_bad_data            | train --device cpu --quiet --data @DATA/missing.csv --checkpoint out.ckpt | missing.csv
resume_missing           | train --device cpu --resume @DATA/missing.ckpt          | missing.ckpt && no such file
resume_directory         | train --device cpu --resume @DATA                       | data && directory
resume_empty             | train --device cpu --resume @DATA/empty.ckpt            | empty.ckpt && not a descent checkpoint
resume_not_checkpoint    | train --device cpu --resume @DATA/text.ckpt             | text.ckpt && not a descent checkpoint
resume_truncated         | train --device cpu --resume @DATA/truncated.ckpt        | truncated.ckpt && truncated
resume_corrupt           | train --device cpu --resume @DATA/corrupt.ckpt --checkpoint out.ckpt | corrupt.ckpt && checksum
resume_wrong_version     | train --device cpu --resume @DATA/version.ckpt          | version.ckpt && version 7 && reads version 2
resume_version_1         | train --device cpu --resume @DATA/version1.ckpt         | version1.ckpt && format version 1 && reads version 2
resume_other_data        | train --device cpu --resume @DATA/good.ckpt --data synthetic:n=10,d=1 | --resume && data && blog
resume_edited_csv        | train --device cpu --resume @DATA/csv.ckpt --data @DATA/ck_edited.csv | --resume && data && crc32c=
resume_other_optimizer   | train --device cpu --resume @DATA/good.ckpt --optimizer adam | --resume && optimizer && 'gd' && 'adam'
resume_other_lr          | train --device cpu --resume @DATA/good.ckpt --lr 0.02   | --resume && hyperparameters && lr=0.02
resume_other_dtype       | train --device cpu --resume @DATA/good.ckpt --dtype f32 | --resume && dtype && f32
resume_other_batch       | train --device cpu --resume @DATA/good.ckpt --batch-size 10 | --resume && --batch-size && 10
resume_fewer_epochs      | train --device cpu --resume @DATA/good.ckpt --epochs 2  | --epochs 2 && 3 epochs
resume_trace_no_trajectory | train --device cpu --resume @DATA/good.ckpt --trace out.csv | --trace && trajectory
# --- outputs never destroy inputs; one clean line (issue 11)
ckpt_is_data             | train --device cpu --quiet --data @DATA/good.csv --checkpoint @DATA/good.csv | --checkpoint && same file && --data
trace_is_data            | train --device cpu --quiet --data @DATA/good.csv --trace @DATA/good.csv | --trace && same file
trace_is_checkpoint      | train --device cpu --quiet --trace same.out --checkpoint same.out | --trace && --checkpoint && same file
trace_is_resume          | train --device cpu --quiet --resume @DATA/good.ckpt --epochs 5 --trace @DATA/good.ckpt | --trace && --resume && same file
ckpt_dev_null            | train --device cpu --quiet --checkpoint /dev/null      | /dev/null && character device
trace_dev_full           | train --device cpu --quiet --trace /dev/full           | /dev/full && character device
ckpt_value_is_flag       | train --device cpu --checkpoint --json                 | --checkpoint && needs a value && --json
trace_value_is_flag      | train --device cpu --trace --quiet                     | --trace && needs a value && --quiet
ckpt_unwritable_dir      | train --device cpu --quiet --checkpoint /proc/out.ckpt | /proc/out.ckpt && cannot create files
lr_subnormal             | train --device cpu --lr 1e-320                         | --lr && subnormal
lr_underflow             | train --device cpu --lr 1e-400                         | --lr && too small
epochs_out_of_memory     | train --device cpu --quiet --epochs 1000000000000000  | out of memory while training && bytes
long_optimizer_name      | train --device cpu --optimizer aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | unknown optimizer && ~'a{60}\.\.\.'
diverges_finite_blog     | train --device cpu --quiet --lr 0.05 --epochs 380      | diverged && 1e6 times && 2/lambda_max
diverges_after_last_epoch | train --device cpu --quiet --lr 0.05 --epochs 9       | after the last epoch && 1e6 times && 2/lambda_max
diverges_finite_wide     | train --device cpu --quiet --data synthetic:n=10,d=20000 --json | diverged && smaller learning rate
# --- the default device (auto): no notice may precede an error
auto_device_lr_zero      | train --lr 0                                           | lr && > 0
auto_device_missing_csv  | train --quiet --data @DATA/missing.csv                 | missing.csv && no such file
auto_device_diverges     | train --optimizer gd --lr 10 --epochs 200 --quiet      | ~epoch [0-9]+ && smaller learning rate
auto_device_singular     | train --quiet --data @DATA/singular.csv --optimizer newton --no-intercept | not positive definite && damping
EOF
)"

# These must succeed: controls for the files above, and the singular case with damping.
SUCCESSES="$(cat <<'EOF'
control_good_csv         | train --device cpu --quiet --data @DATA/good.csv
control_good_npy         | train --device cpu --quiet --data @DATA/good.npy
newton_singular_damped   | train --device cpu --data @DATA/singular.csv --optimizer newton --no-intercept --quiet --damping 1e-3
control_resume           | train --device cpu --quiet --epochs 5 --resume @DATA/good.ckpt
control_resume_moved_csv | train --device cpu --quiet --epochs 5 --resume @DATA/csv.ckpt --data @DATA/ck_moved.csv
control_warn_divergence  | train --device cpu --optimizer gd --lr 10 --epochs 200 --quiet --on-divergence warn
control_stream_csv       | train --device cpu --quiet --data @DATA/good.csv --stream-chunk 3
control_stream_blog      | train --device cpu --quiet --stream-chunk 7
adam_warm_start_no_alarm | train --device cpu --quiet --data @DATA/exact.csv --optimizer adam --lr 0.1 --epochs 300 --init 2.000001,1.000001
EOF
)"

# ---------------------------------------------------------------------------------------------

passed=0
failed=0
failures=()

trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; s="${s%"${s##*[![:space:]]}"}"; printf '%s' "$s"; }

expand_args() {  # sets ARGV from the table's argument text
    local text=$1
    text=${text//@DATA/$DATA}
    text=${text//@FIX/$FIX}
    read -r -a ARGV <<<"$text"
}

# Value of the flag $1 in ARGV ("--flag VALUE" or "--flag=VALUE"), or empty.
flag_value() {
    local i
    for ((i = 0; i < ${#ARGV[@]}; ++i)); do
        if [ "${ARGV[i]}" = "--$1" ] && [ $((i + 1)) -lt ${#ARGV[@]} ]; then
            printf '%s' "${ARGV[i + 1]}"; return
        fi
        case ${ARGV[i]} in --$1=*) printf '%s' "${ARGV[i]#--$1=}"; return ;; esac
    done
}

report() {  # report NAME OK-OR-NOT MESSAGE...
    local name=$1 ok=$2; shift 2
    if [ "$ok" = ok ]; then
        passed=$((passed + 1))
        printf 'ok    %s%s\n' "$name" "${1:+ ($1)}"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAIL  %s\n' "$name"
        local m
        for m in "$@"; do printf '        %s\n' "$m"; done
        printf '        command: descent'; printf ' %q' "${ARGV[@]}"; printf '\n'
    fi
}

show_file() {  # the first lines of a file, indented, for failure messages
    sed -n '1,8p' "$1" | cat -A | sed 's/^/          | /'
}

run_case() {
    local name=$1 args=$2 fragments=$3 flags=$4
    expand_args "$args"
    local dir
    dir="$(mktemp -d "$WORK/case.XXXXXX")"
    (
        cd "$dir" || exit 99
        if declare -F "setup_$name" >/dev/null; then "setup_$name"; fi

        local trace plot trace_existed=0 plot_file_before="" checkpoint
        trace=$(flag_value trace)
        checkpoint=$(flag_value checkpoint)
        plot=$(flag_value plot)
        [ -n "$trace" ] && [ -e "$trace" ] && trace_existed=1
        # An existing --checkpoint (an input given as the checkpoint, /dev/null) must be left
        # exactly as it was: same kind of file, same bytes.
        local checkpoint_before=""
        if [ -n "$checkpoint_before" ]; then
            if [ "$(stat -c %F "$checkpoint" 2>/dev/null) $(cksum <"$checkpoint" 2>/dev/null)" != "$checkpoint_before" ]; then
                problems+=("the existing --checkpoint $checkpoint was changed")
            fi
        elif [ -n "$checkpoint" ] && [ -e "$checkpoint" ]; then
            checkpoint_before="$(stat -c %F "$checkpoint") $(cksum <"$checkpoint")"
        fi
        [ -n "$plot" ] && [ -f "$plot" ] && plot_file_before=$(cat "$plot")

        "${TIMEOUT[@]}" "$DESCENT" "${ARGV[@]}" >stdout.txt 2>stderr.txt </dev/null
        local rc=$?
        local problems=()
        # Under AddressSanitizer (scripts/test.sh sets DESCENT_TEST_SANITIZED=1) a refused huge
        # allocation also prints ASan's own warning line; descent's error must still be alone.
        if [ "${DESCENT_TEST_SANITIZED:-0}" = 1 ]; then
            grep -Ev '^==[0-9]+==WARNING: AddressSanitizer failed to allocate' stderr.txt >stderr.f
            mv stderr.f stderr.txt
        fi

        if [ $rc -eq 0 ] && [[ ",$flags," == *,may-pass,* ]]; then
            echo "passed: exit 0 (allowed for this case)" >note.txt
            exit 0
        fi
        if [ $rc -eq 0 ]; then
            problems+=("exit status 0; expected an error")
        elif [ $rc -eq 124 ] && [ ${#TIMEOUT[@]} -gt 0 ]; then
            problems+=("timed out")
        elif [ $rc -ge 128 ]; then
            problems+=("exit status $rc: killed by signal $((rc - 128)) (a crash?)")
        fi

        if [ -s stdout.txt ]; then
            problems+=("stdout is not empty:")
            problems+=("$(show_file stdout.txt)")
        fi

        # stderr: optional progress lines (flag `progress`), then exactly one error line.
        local err_lines=() error_line="" bad_lines=0 k
        mapfile -t err_lines <stderr.txt
        if [ -s stderr.txt ] && [ "$(tail -c 1 stderr.txt | od -An -tx1 | tr -d ' ')" != 0a ]; then
            problems+=("stderr does not end with a newline")
        fi
        if grep -q $'\r' stderr.txt; then problems+=("stderr contains a carriage return"); fi
        if [ ${#err_lines[@]} -gt 0 ]; then
            error_line=${err_lines[${#err_lines[@]} - 1]}
            for ((k = 0; k + 1 < ${#err_lines[@]}; ++k)); do
                if [[ ",$flags," == *,progress,* ]] &&
                   [[ ${err_lines[k]} =~ ^[a-z]+\ epoch\ [0-9]+/[0-9]+\ loss\  ]]; then
                    :  # a progress line before the error: allowed for a case that trains
                else
                    bad_lines=$((bad_lines + 1))
                fi
            done
        fi
        if [ ! -s stderr.txt ]; then
            problems+=("stderr is empty; expected one line 'descent: error: ...'")
        elif [ $bad_lines -gt 0 ]; then
            problems+=("stderr has ${#err_lines[@]} lines; expected exactly one, 'descent: error: ...':")
            problems+=("$(show_file stderr.txt)")
        fi
        if [ -s stderr.txt ]; then
            if [[ $error_line != "descent: error: "?* ]]; then
                problems+=("the error line does not start with 'descent: error: ': $error_line")
            fi
            local frag rest=$fragments
            while [ -n "$rest" ]; do
                if [[ $rest == *" && "* ]]; then frag=${rest%% && *}; rest=${rest#* && }
                else frag=$rest; rest=""; fi
                frag=$(trim "$frag")
                if [[ $frag == "~"* ]]; then
                    [[ $error_line =~ ${frag#\~} ]] ||
                        problems+=("the error line does not match /${frag#\~}/: $error_line")
                else
                    [[ $error_line == *"$frag"* ]] ||
                        problems+=("the error line does not contain '$frag': $error_line")
                fi
            done
        fi

        # Nothing left behind.
        if [ -n "$trace" ]; then
            if [ $trace_existed -eq 0 ] && [ -e "$trace" ]; then
                problems+=("--trace $trace was left behind")
            fi
            if [ -d "$trace" ] && [ -n "$(ls -A "$trace")" ]; then
                problems+=("something was written into the directory $trace")
            fi
            if compgen -G "$(dirname "$trace")/.$(basename "$trace").*.tmp" >/dev/null; then
                problems+=("temporary files left behind: $(echo "$(dirname "$trace")/.$(basename "$trace")".*.tmp)")
            fi
        fi
        if [ -n "$checkpoint_before" ]; then
            if [ "$(stat -c %F "$checkpoint" 2>/dev/null) $(cksum <"$checkpoint" 2>/dev/null)" != "$checkpoint_before" ]; then
                problems+=("the existing --checkpoint $checkpoint was changed")
            fi
        elif [ -n "$checkpoint" ] && [ -e "$checkpoint" ]; then
            problems+=("--checkpoint $checkpoint was written although the run failed before training")
        fi
        if [ -n "$plot" ]; then
            if [ -n "$plot_file_before" ] && { [ ! -f "$plot" ] || [ "$(cat "$plot")" != "$plot_file_before" ]; }; then
                problems+=("the regular file $plot given to --plot was changed")
            fi
        fi
        local leftovers
        leftovers=$(find . \( -name '*.png' -o -name '.descent-plot-*' -o -name '.*.tmp' -o -name '.*.lock' \) -print)
        if [ -n "$leftovers" ]; then problems+=("left behind: $(printf "%s" "$leftovers" | tr "\n" " ")"); fi

        if [ ${#problems[@]} -gt 0 ]; then
            printf '%s\n' "${problems[@]}" >problems.txt
            exit 1
        fi
        exit 0
    )
    local status=$?
    if [ $status -eq 0 ]; then
        report "$name" ok "$(cat "$dir/note.txt" 2>/dev/null)"
    else
        local msgs=()
        if [ -f "$dir/problems.txt" ]; then mapfile -t msgs <"$dir/problems.txt"
        else msgs=("could not run the case (status $status)"); fi
        report "$name" fail "${msgs[@]}"
    fi
    rm -rf "$dir"
}

run_success() {
    local name=$1 args=$2
    expand_args "$args"
    local dir
    dir="$(mktemp -d "$WORK/case.XXXXXX")"
    (cd "$dir" && "${TIMEOUT[@]}" "$DESCENT" "${ARGV[@]}" >stdout.txt 2>stderr.txt </dev/null)
    local rc=$?
    if [ $rc -eq 0 ]; then
        report "$name" ok "exit 0 as expected"
    else
        report "$name" fail "exit status $rc; expected 0 (success). stderr:" "$(show_file "$dir/stderr.txt")"
    fi
    rm -rf "$dir"
}

n_cases=0
while IFS='|' read -r name args fragments flags; do
    name=$(trim "$name")
    [ -z "$name" ] && continue
    [[ $name == \#* ]] && continue
    n_cases=$((n_cases + 1))
    run_case "$name" "$(trim "$args")" "$(trim "$fragments")" "$(trim "${flags:-}")"
done <<<"$CASES"

while IFS='|' read -r name args; do
    name=$(trim "$name")
    [ -z "$name" ] && continue
    run_success "$name" "$(trim "$args")"
done <<<"$SUCCESSES"

# On a terminal the progress is a live bar redrawn with '\r'; an error during training must
# still start on a line of its own, not be glued to the bar. Needs util-linux `script` for a
# pseudo-terminal; skipped (not counted) without it.
if script --version 2>/dev/null | grep -q util-linux; then
    ARGV=(train --device cpu --optimizer gd --lr 10 --epochs 200 --trace out.csv)
    dir="$(mktemp -d "$WORK/case.XXXXXX")"
    tty_out=$(cd "$dir" && "${TIMEOUT[@]}" script -qec "$(printf '%q ' "$DESCENT" "${ARGV[@]}")" /dev/null </dev/null 2>&1)
    rc=$?
    prefix=${tty_out%%descent: error:*}
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
        report diverges_on_terminal fail "exit status $rc; expected an error (1..127)"
    elif [ "$prefix" = "$tty_out" ]; then
        report diverges_on_terminal fail "no 'descent: error:' in the terminal output"
    elif [ -n "$prefix" ] && [[ $prefix != *$'\n' ]]; then
        report diverges_on_terminal fail \
            "the error line does not start a new line; it follows the progress bar:" \
            "...$(printf '%s' "$prefix" | tr '\r' '\n' | tail -n 1)descent: error: ..."
    elif [ -e "$dir/out.csv" ] || compgen -G "$dir/.out.csv.*.tmp" >/dev/null; then
        report diverges_on_terminal fail "--trace out.csv was left behind"
    else
        report diverges_on_terminal ok "progress bar on a pseudo-terminal"
    fi
    rm -rf "$dir"
else
    echo "skip  diverges_on_terminal (no util-linux script for a pseudo-terminal)"
fi

echo
if [ $failed -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
