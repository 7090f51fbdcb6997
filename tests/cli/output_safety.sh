#!/usr/bin/env bash
# What descent writes can never destroy what the user has (issue 11, items 1, 2, 6, 8, 9, 10):
# outputs that are the same file as an input or as each other, outputs that are devices,
# FIFOs or links, flags whose value looks like a flag, missing or read-only directories found
# before training, links planted at temporary names, 255-byte names, failed writes to stdout,
# a closed pipe, two runs on one checkpoint (and a killed run's stale lock), resume refusing
# a changed --init or --stream-chunk, and errors that stay one escaped line.
#
#   bash tests/cli/output_safety.sh /path/to/descent
#
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup output-safety "$@"
BG=""
trap '[ -n "$BG" ] && kill -KILL $BG 2>/dev/null; rm -rf "$WORK"' EXIT

# run ARGS...: descent with a 20 s limit; stdout to out.txt, stderr to err.txt; sets RC.
run() {
    timeout 20 "$DESCENT" "$@" >out.txt 2>err.txt </dev/null
    RC=$?
    # Under AddressSanitizer (DESCENT_TEST_SANITIZED=1) a refused huge allocation also prints
    # ASan's own warning; descent's error must still be alone.
    if [ "${DESCENT_TEST_SANITIZED:-0}" = 1 ]; then
        grep -Ev '^==[0-9]+==WARNING: AddressSanitizer failed to allocate' err.txt >err.f
        mv err.f err.txt
    fi
}
# refused NAME FRAGMENT...: the last run failed (1..127) with exactly one stderr line,
# "descent: error: ...", holding every fragment, and printed nothing on stdout.
refused() {
    local name=$1; shift
    local problems=() lines frag
    lines=$(wc -l <err.txt)
    if [ $RC -eq 0 ] || [ $RC -ge 124 ]; then problems+=("exit status $RC; expected an error (1..123)"); fi
    [ "$lines" -eq 1 ] || problems+=("stderr has $lines lines; expected one")
    grep -q '^descent: error: ' err.txt || problems+=("no 'descent: error:' line")
    [ -s out.txt ] && problems+=("stdout is not empty")
    for frag in "$@"; do
        grep -qF -- "$frag" err.txt || problems+=("the error does not contain '$frag'")
    done
    if [ ${#problems[@]} -eq 0 ]; then pass "$name"; else fail "$name" "${problems[@]}" "stderr: $(head -c 600 err.txt)"; fi
}
succeeded() {
    local name=$1
    if [ $RC -eq 0 ]; then pass "$name"; else fail "$name" "exit $RC; stderr: $(head -c 600 err.txt)"; fi
}
unchanged() {  # unchanged NAME FILE COPY
    if cmp -s "$2" "$3"; then pass "$1"; else fail "$1" "$2 was changed"; fi
}

printf 'a,b,y\n1,0,2\n0,1,3\n1,1,6\n2,1,7\n' >data.csv
cp data.csv data.orig
"$DESCENT" train --device cpu --quiet --epochs 3 --data data.csv --checkpoint good.ckpt \
    --checkpoint-every 1 >/dev/null 2>&1 || { echo "could not write the control checkpoint" >&2; exit 2; }
cp good.ckpt good.orig

# --- item 1: outputs never clobber inputs or each other ---------------------------------------
run train --device cpu --quiet --data data.csv --checkpoint data.csv
refused checkpoint_is_data "--checkpoint data.csv" "--data data.csv" "same file"
unchanged checkpoint_is_data_untouched data.csv data.orig
run train --device cpu --quiet --data data.csv --trace data.csv
refused trace_is_data "--trace data.csv" "same file"
unchanged trace_is_data_untouched data.csv data.orig
mkdir sub
run train --device cpu --quiet --data "$WORK/data.csv" --trace ./sub/../data.csv
refused trace_is_data_other_spelling "same file"
ln data.csv hard.csv
run train --device cpu --quiet --data data.csv --checkpoint hard.csv
refused checkpoint_is_hard_link_of_data "--checkpoint hard.csv" "same file"
ln -s data.csv soft.csv
run train --device cpu --quiet --data soft.csv --trace data.csv
refused trace_is_data_behind_link "same file"
unchanged data_untouched_after_all data.csv data.orig
run train --device cpu --quiet --trace same.out --checkpoint same.out
refused trace_and_checkpoint_same "--trace same.out" "--checkpoint same.out" "same file"
[ -e same.out ] && fail trace_and_checkpoint_nothing_written "same.out was written" || pass trace_and_checkpoint_nothing_written
run train --device cpu --quiet --data data.csv --epochs 5 --resume good.ckpt --trace good.ckpt
refused trace_is_resume "--trace good.ckpt" "--resume good.ckpt"
unchanged resume_untouched good.ckpt good.orig
run train --device cpu --quiet --data data.csv --epochs 5 --resume good.ckpt --checkpoint resumed.ckpt --checkpoint-every 1
succeeded resume_into_other_checkpoint
cp good.ckpt again.ckpt
run train --device cpu --quiet --data data.csv --epochs 5 --resume again.ckpt --checkpoint again.ckpt
succeeded resume_into_same_checkpoint

# Existing outputs that are not regular files: never replaced (as root, /dev/null would
# have become a regular file).
run train --device cpu --quiet --checkpoint /dev/null
refused checkpoint_dev_null "--checkpoint /dev/null" "character device"
if [ -c /dev/null ]; then pass dev_null_still_a_device; else fail dev_null_still_a_device "/dev/null is no longer a character device"; fi
mkfifo out.fifo
run train --device cpu --quiet --trace out.fifo
refused trace_fifo "--trace out.fifo" "FIFO"
mkdir out.dir
run train --device cpu --quiet --checkpoint out.dir
refused checkpoint_directory "--checkpoint out.dir" "directory"
printf 'keep\n' >real.txt
ln -s real.txt link.ckpt
run train --device cpu --quiet --checkpoint link.ckpt
refused checkpoint_symlink "--checkpoint link.ckpt" "symbolic link"
[ "$(cat real.txt)" = keep ] && pass symlink_target_untouched || fail symlink_target_untouched "real.txt changed"

# A value that looks like a flag is a missing value, not a file named "--json".
run train --device cpu --quiet --checkpoint --json
refused checkpoint_value_is_a_flag "--checkpoint" "needs a value" "--json"
[ -e ./--json ] && fail no_file_named_json "a file named --json was written" || pass no_file_named_json
run train --device cpu --quiet --trace=--json.csv --epochs 2
succeeded flag_like_value_with_equals
[ -f ./--json.csv ] && pass flag_like_value_with_equals_written || fail flag_like_value_with_equals_written "no --json.csv"

# A missing or unwritable directory is found before training: a run of two billion epochs
# must fail at once.
t0=$(date +%s%N)
run train --device cpu --quiet --epochs 2000000000 --trace /nonexistent/t.csv
t1=$(date +%s%N)
refused trace_missing_directory_first "--trace /nonexistent/t.csv" "does not exist"
[ $(( (t1 - t0) / 1000000 )) -lt 5000 ] && pass trace_missing_directory_before_training ||
    fail trace_missing_directory_before_training "took $(( (t1 - t0) / 1000000 )) ms: it trained first?"
run train --device cpu --quiet --epochs 2000000000 --checkpoint /proc/run.ckpt
refused checkpoint_unwritable_directory "--checkpoint /proc/run.ckpt" "cannot create files in /proc"
run blog --plot /nonexistent/figures
refused plot_missing_parent_first "--plot /nonexistent/figures" "does not exist"

# --- item 2: temporary files cannot be used against the user -----------------------------------
# The old temporary name was FILE.tmp.<pid>: plant links there for the next pids; the victim
# must survive and the trace be written.
printf 'precious\n' >victim.txt
next=$(cat /proc/sys/kernel/ns_last_pid 2>/dev/null || echo $$)
for ((p = next + 1; p <= next + 40; ++p)); do ln -s "$WORK/victim.txt" "t.csv.tmp.$p"; done
run train --device cpu --quiet --epochs 3 --trace t.csv
succeeded planted_links_run
[ "$(cat victim.txt)" = precious ] && pass planted_links_victim_untouched || fail planted_links_victim_untouched "victim.txt was overwritten"
head -1 t.csv | grep -q '^epoch,loss' && pass planted_links_trace_written || fail planted_links_trace_written "t.csv is not the trace"
rm -f t.csv.tmp.*
long=$(printf 'c%.0s' $(seq 1 255))
run train --device cpu --quiet --epochs 3 --checkpoint "$long" --checkpoint-every 1 --trace "${long:0:250}.csv"
succeeded name_of_255_bytes
[ -f "$long" ] && pass name_of_255_bytes_written || fail name_of_255_bytes_written "no checkpoint"
left=$(find . -name '.*.tmp' -o -name '.*.lock' | head -3)
[ -z "$left" ] && pass no_temporaries_or_locks_left || fail no_temporaries_or_locks_left "left: $left"

# --- item 6: write errors are errors ---------------------------------------------------------
# Outputs of 38 bytes and of several MB (past any buffer): the error names the cause.
timeout 20 "$DESCENT" train --device cpu --quiet --json >/dev/full 2>err.txt
RC=$?; : >out.txt
refused json_to_dev_full "standard output" "No space left on device"
timeout 20 "$DESCENT" train --device cpu --quiet --epochs 200000 --json >/dev/full 2>err.txt
RC=$?; : >out.txt
refused long_json_to_dev_full "standard output" "No space left on device"
timeout 20 "$DESCENT" --help >/dev/full 2>err.txt
RC=$?; : >out.txt
refused help_to_dev_full "standard output" "No space left on device"
# A reader that stops early, after descent has filled the pipe: no error line, whether
# SIGPIPE ends descent or (ignored) the write fails with EPIPE.
timeout 20 "$DESCENT" train --device cpu --quiet --epochs 200000 --json 2>err.txt | (sleep 0.3; head -c 10 >/dev/null)
[ ! -s err.txt ] && pass closed_pipe_quiet || fail closed_pipe_quiet "stderr: $(head -c 300 err.txt)"
(trap '' PIPE; timeout 20 "$DESCENT" train --device cpu --quiet --epochs 200000 --json 2>err.txt | (sleep 0.3; head -c 10 >/dev/null); echo "${PIPESTATUS[0]}" >rc.txt)
if [ -s err.txt ]; then fail closed_pipe_quiet_sigpipe_ignored "stderr: $(head -c 300 err.txt)"
elif [ "$(cat rc.txt)" != 141 ]; then fail closed_pipe_quiet_sigpipe_ignored "exit $(cat rc.txt); expected 141 (128 + SIGPIPE)"
else pass closed_pipe_quiet_sigpipe_ignored; fi

# --- item 8: resume refuses what it would silently change ------------------------------------
run train --device cpu --quiet --data data.csv --epochs 5 --resume good.ckpt --init 1,2,3
refused resume_changed_init "--resume good.ckpt" "--init"
"$DESCENT" train --device cpu --quiet --epochs 3 --data synthetic:n=200,d=3 --checkpoint syn.ckpt \
    --checkpoint-every 1 >/dev/null 2>&1
run train --device cpu --quiet --epochs 6 --data synthetic:n=200,d=3 --resume syn.ckpt --stream-chunk 64
refused resume_added_stream_chunk "--resume syn.ckpt" "--stream-chunk"

# --- item 9: one clean line ----------------------------------------------------------------------
run train --device cpu --quiet --data "$(printf 'bad\nname.csv')"
refused newline_in_path_escaped 'bad\nname.csv'
run train --device cpu --quiet --optimizer "$(printf 'x%.0s' $(seq 1 300))"
refused long_field_cut "unknown optimizer" "..."
if grep -q 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' err.txt; then
    fail long_field_cut_to_60 "the field is not cut: $(head -c 300 err.txt)"
else pass long_field_cut_to_60; fi
run train --device cpu --quiet --lr 1e-320
refused lr_subnormal "--lr" "subnormal"
run train --device cpu --quiet --epochs 1000000000000000
refused out_of_memory_named "out of memory while" "bytes"
# An allocation outside descent's tensor memory (here the trace's rows growing under a 300 MB
# data limit) is sized too: the executable's operator new (src/cli/sized_new.cpp). ulimit -d
# (private writable memory), not -v: a CUDA build maps ~1 GB of CUDA libraries' code, which
# an address-space limit would refuse before main. AddressSanitizer's shadow memory is
# private too, so the limit cannot apply there.
if [ "${DESCENT_TEST_SANITIZED:-0}" = 1 ]; then
    echo "skip  out_of_memory_sized_outside_tensors (ulimit -d and AddressSanitizer exclude each other)"
else
    (ulimit -d 300000 && exec "$DESCENT" train --device cpu --quiet --epochs 10000000 \
        --trace big_trace.csv) >out.txt 2>err.txt </dev/null
    RC=$?
    refused out_of_memory_sized_outside_tensors "out of memory while training (" " bytes)"
    if [ -e big_trace.csv ]; then fail no_trace_after_out_of_memory "a partial trace was left"
    else pass no_trace_after_out_of_memory; fi
fi

# A value inside a checkpoint (initial weights "abc", under a valid checksum) is the
# checkpoint's, not the user's --init: the error says what the checkpoint holds.
PYTHONPATH="$CLI_DIR" /usr/bin/python3 - good.ckpt bad_meta.ckpt <<'PY' || fail crafted_checkpoint "could not craft it"
import struct, sys
from crc32c import crc32c
raw = open(sys.argv[1], 'rb').read()
payload = raw[24:-4]
n = struct.unpack_from('<Q', payload, 0)[0]
pos, meta = 8, []
for _ in range(n):
    entry = []
    for _ in range(2):
        k = struct.unpack_from('<Q', payload, pos)[0]
        entry.append(payload[pos + 8:pos + 8 + k]); pos += 8 + k
    meta.append(entry)
out = struct.pack('<Q', n)
for k, v in meta:
    if k == b'initial_weights': v = b'abc'
    out += struct.pack('<Q', len(k)) + k + struct.pack('<Q', len(v)) + v
payload = out + payload[pos:]
body = raw[:16] + struct.pack('<Q', len(payload)) + payload
open(sys.argv[2], 'wb').write(body + struct.pack('<I', crc32c(body)))
PY
run train --device cpu --quiet --data data.csv --epochs 5 --resume bad_meta.ckpt
refused checkpoint_value_not_blamed_on_init "--resume bad_meta.ckpt" "the checkpoint was written with --init" "'abc'"
grep -q "is not a finite number" err.txt && fail checkpoint_value_not_blamed_on_init_wording "$(cat err.txt)" || pass checkpoint_value_not_blamed_on_init_wording

# --- item 11: the default checkpoint costs next to nothing ----------------------------------
# 20000 epochs of the blog problem take well under a second; a checkpoint at every epoch (the
# old default) takes 10 s or more here (one fsync'd replace each).
t0=$(date +%s%N)
run train --device cpu --quiet --epochs 20000 --lr 0.01 --checkpoint cost.ckpt
t1=$(date +%s%N)
if [ $RC -ne 0 ]; then fail checkpoint_default_cost "exit $RC: $(cat err.txt)"
elif [ $(( (t1 - t0) / 1000000 )) -gt 5000 ]; then
    fail checkpoint_default_cost "took $(( (t1 - t0) / 1000000 )) ms: checkpointing every epoch?"
else pass "checkpoint_default_cost ($(( (t1 - t0) / 1000000 )) ms)"; fi
[ -f cost.ckpt ] && pass checkpoint_written_at_the_end || fail checkpoint_written_at_the_end "no cost.ckpt"

# --- item 10: two runs on one checkpoint -------------------------------------------------------
"$DESCENT" train --device cpu --quiet --data synthetic:n=2000,d=4 --epochs 2000000000 \
    --checkpoint busy.ckpt >/dev/null 2>&1 &
BG=$!
for _ in $(seq 1 500); do [ -e .busy.ckpt.lock ] && break; sleep 0.01; done
run train --device cpu --quiet --epochs 3 --checkpoint busy.ckpt
refused second_run_refused "--checkpoint busy.ckpt" "in use by another descent run (pid $BG)"
kill -KILL $BG; wait $BG 2>/dev/null; BG=""
[ -e .busy.ckpt.lock ] && pass killed_run_leaves_stale_lock || fail killed_run_leaves_stale_lock "no lock file after SIGKILL (test assumption)"
run train --device cpu --quiet --epochs 3 --checkpoint busy.ckpt
succeeded stale_lock_taken_over
[ ! -e .busy.ckpt.lock ] && pass lock_removed_at_end || fail lock_removed_at_end ".busy.ckpt.lock left"

cli_summary
