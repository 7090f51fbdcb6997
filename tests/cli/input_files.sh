#!/usr/bin/env bash
# Input files that are not regular files, given to the descent CLI: each must fail at once
# with one clean error line, never hang (a FIFO without a writer) or read forever (/dev/zero).
#
#   bash tests/cli/input_files.sh /path/to/descent
#
# For each case, run in a fresh temporary directory under `timeout 10`, this checks that the
# exit status is non-zero and < 128 (not a timeout, signal or crash), stdout is empty, stderr
# is exactly one line "descent: error: ..." containing the expected fragment. One control
# (a symlink to a good CSV) must succeed. Prints "N passed, M failed"; exits non-zero if M > 0.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/descent" >&2
    exit 2
fi
DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-input-files.XXXXXX")" || exit 2
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

mkfifo fifo.csv fifo.npy fifo.ckpt || { echo "mkfifo failed" >&2; exit 2; }
ln -s /dev/zero zero.npy
ln -s /dev/urandom rand.csv
ln -s /dev/zero zero.ckpt
ln -s /dev/null null.csv
mkdir dir.npy
printf 'a,y\n1,2\n2,4\n3,6\n' >good.csv
ln -s good.csv link.csv

passed=0
failed=0

# check NAME FRAGMENT ARGS...: descent ARGS must fail cleanly, its error containing FRAGMENT.
check() {
    local name=$1 fragment=$2
    shift 2
    local problems=()
    timeout 10 "$DESCENT" "$@" >stdout.txt 2>stderr.txt </dev/null
    local rc=$?
    if [ $rc -eq 0 ]; then
        problems+=("exit status 0; expected an error")
    elif [ $rc -eq 124 ]; then
        problems+=("timed out after 10 s (blocked or reading without end)")
    elif [ $rc -ge 128 ]; then
        problems+=("exit status $rc: killed by signal $((rc - 128))")
    fi
    [ -s stdout.txt ] && problems+=("stdout is not empty: $(head -c 200 stdout.txt)")
    local n_lines
    n_lines=$(wc -l <stderr.txt)
    if [ "$n_lines" -ne 1 ] || [ "$(tail -c 1 stderr.txt | od -An -tx1 | tr -d ' ')" != 0a ]; then
        problems+=("stderr is not exactly one line: $(head -c 300 stderr.txt | cat -A)")
    fi
    local line
    line=$(head -n 1 stderr.txt)
    [[ $line == "descent: error: "?* ]] || problems+=("not 'descent: error: ...': $line")
    [[ $line == *"$fragment"* ]] || problems+=("missing '$fragment' in: $line")
    if [ ${#problems[@]} -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s\n' "$name"
        printf '        %s\n' "${problems[@]}"
        printf '        command: descent'; printf ' %q' "$@"; printf '\n'
    fi
}

check data_fifo_csv "fifo.csv: is a FIFO, not a regular file" \
    train --device cpu --quiet --data fifo.csv
check data_fifo_npy "fifo.npy: is a FIFO, not a regular file" \
    train --device cpu --quiet --data fifo.npy
check data_zero_npy "zero.npy: is a character device, not a regular file" \
    train --device cpu --quiet --data zero.npy
check data_urandom_csv "rand.csv: is a character device, not a regular file" \
    train --device cpu --quiet --data rand.csv
check data_null_csv "null.csv: is a character device, not a regular file" \
    train --device cpu --quiet --data null.csv
check data_directory "dir.npy: is a directory" train --device cpu --quiet --data dir.npy
check data_stream_fifo "fifo.csv: is a FIFO, not a regular file" \
    train --device cpu --quiet --data fifo.csv --stream-chunk 2
check resume_fifo "fifo.ckpt: is a FIFO, not a regular file" \
    train --device cpu --quiet --resume fifo.ckpt
check resume_zero "zero.ckpt: is a character device, not a regular file" \
    train --device cpu --quiet --resume zero.ckpt

# Control: a symlink to a regular file is read like the file.
if timeout 10 "$DESCENT" train --device cpu --quiet --epochs 2 --data link.csv \
    >stdout.txt 2>stderr.txt </dev/null; then
    passed=$((passed + 1))
    printf 'ok    control_symlink_to_csv\n'
else
    failed=$((failed + 1))
    printf 'FAIL  control_symlink_to_csv\n        %s\n' "$(head -c 300 stderr.txt)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
