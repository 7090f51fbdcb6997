#!/usr/bin/env bash
# SIGINT and SIGTERM during `descent train` (issue 11 item 7): the run finishes the epoch in
# progress, writes its checkpoint, prints one line ("interrupted at epoch E; checkpoint saved
# to FILE; resume with --resume FILE") and exits 130 / 143; resumed, it ends with --json
# output byte for byte that of the run never interrupted. A second signal ends it at once and
# leaves no temporary or lock file behind.
#
#   bash tests/cli/signals.sh /path/to/descent
#
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup signals "$@"

# interrupt SIGNAL COUNT ARGS...: starts descent (progress on, so its first progress line
# shows training has begun), sends SIGNAL COUNT times back to back once it has, waits.
# Sets RC; stderr in err.txt. Returns 1 when the run ended before the signal landed.
interrupt() {
    local sig=$1 count=$2; shift 2
    rm -f err.txt
    "$DESCENT" "$@" >out.txt 2>err.txt </dev/null &
    local pid=$! waited=0 k
    while ! grep -q ' epoch ' err.txt 2>/dev/null && kill -0 $pid 2>/dev/null && [ $waited -lt 2000 ]; do
        sleep 0.01; waited=$((waited + 1))
    done
    # Signals of one kind do not queue: a gap lets the handler see each of them.
    for ((k = 0; k < count; ++k)); do
        [ $k -gt 0 ] && sleep 0.1
        kill -s "$sig" $pid 2>/dev/null
    done
    wait $pid
    RC=$?
    grep -q 'interrupted' err.txt
}

# check_resume NAME SIGNAL STATUS ARGS...: interrupted with SIGNAL, exit STATUS, one line,
# resumed to the end: --json equal to the uninterrupted run's.
check_resume() {
    local name=$1 sig=$2 status=$3; shift 3
    local args=("$@" --json --device cpu)
    if ! "$DESCENT" "${args[@]}" --quiet >expected.json 2>/dev/null; then
        fail "$name" "the uninterrupted run failed"; return
    fi
    local attempt landed=0
    for attempt in 1 2 3 4 5; do
        rm -f ck.bin
        if interrupt "$sig" 1 "${args[@]}" --checkpoint ck.bin; then landed=1; break; fi
    done
    if [ $landed -eq 0 ]; then fail "$name" "the signal never landed before the run ended"; return; fi
    local problems=() last
    last=$(tail -n 1 err.txt)
    [ $RC -eq "$status" ] || problems+=("exit status $RC; expected $status")
    [ -s out.txt ] && problems+=("stdout is not empty after an interrupt")
    [[ $last =~ ^descent:\ interrupted\ at\ epoch\ [0-9]+\;\ checkpoint\ saved\ to\ ck\.bin\;\ resume\ with\ --resume\ ck\.bin$ ]] ||
        problems+=("last stderr line: $last")
    [ "$(grep -vc ' epoch [0-9]*/' err.txt)" -eq 1 ] || problems+=("more than one line besides progress: $(cat err.txt)")
    local epoch=${last#descent: interrupted at epoch }; epoch=${epoch%%;*}
    if ! "$DESCENT" "${args[@]}" --quiet --checkpoint ck.bin --resume ck.bin >resumed.json 2>resumed.err; then
        problems+=("the resumed run failed: $(cat resumed.err)")
    elif ! cmp -s expected.json resumed.json; then
        problems+=("the resumed run's --json differs from the uninterrupted run's")
    fi
    local left; left=$(find . -name '.*.tmp' -o -name '.*.lock' | head -3)
    [ -z "$left" ] || problems+=("left behind: $left")
    if [ ${#problems[@]} -eq 0 ]; then pass "$name (stopped after epoch $epoch, resumed bitwise)"
    else fail "$name" "${problems[@]}"; fi
}

check_resume sigint_adam_full_batch INT 130 train --data synthetic:n=100000,d=8,seed=3 \
    --optimizer adam --lr 0.01 --epochs 600
check_resume sigterm_shuffled_minibatch TERM 143 train --data synthetic:n=20000,d=4,seed=4 \
    --optimizer momentum --lr 0.01 --batch-size 256 --shuffle --seed 9 --epochs 300

# Without --checkpoint: the same line says nothing was saved.
if interrupt INT 1 train --device cpu --data synthetic:n=100000,d=8 --epochs 3000; then
    last=$(tail -n 1 err.txt)
    if [ $RC -eq 130 ] && [[ $last == "descent: interrupted at epoch "*"; nothing saved (no --checkpoint given)" ]]; then
        pass sigint_without_checkpoint
    else fail sigint_without_checkpoint "exit $RC, last line: $last"; fi
else fail sigint_without_checkpoint "the signal did not land (exit $RC)"; fi

# Two signals: the second ends the run at once, with no temporary or lock file left; the
# checkpoint on disk, if any, is a whole one. An epoch of 3,000,000 single-row steps takes
# about a second (0.4 us a step), so the first signal is still waiting for its epoch to end.
rm -f ck2.bin
interrupt INT 2 train --device cpu --data synthetic:n=3000000,d=4 --batch-size 1 --lr 0.001 \
    --epochs 10 --checkpoint ck2.bin --checkpoint-every 1
left=$(find . -name '.*.tmp' -o -name '.*.lock' | head -3)
if [ $RC -ne 130 ]; then fail second_signal_at_once "exit $RC; expected 130. stderr: $(tail -n 2 err.txt)"
elif [ "$(tail -n 1 err.txt)" != "descent: interrupted again; stopped at once (the last checkpoint, if any, is intact)" ]; then
    fail second_signal_at_once "last line: $(tail -n 1 err.txt)"
elif [ -n "$left" ]; then fail second_signal_at_once "left behind: $left"
elif [ -e ck2.bin ] && { "$DESCENT" train --device cpu --quiet --data synthetic:n=3000000,d=4 \
        --batch-size 1 --lr 0.001 --epochs 1 --resume ck2.bin >/dev/null 2>resume.err; grep -q 'corrupt\|truncated\|checksum' resume.err; }; then
    fail second_signal_at_once "the checkpoint left is not whole: $(cat resume.err)"
else pass second_signal_at_once; fi

# Outside training a signal ends the run at once and takes descent's scratch files with it:
# `blog --plot` is killed while its plotting script runs. The script is stopped first, so
# nothing appears in the directory after descent has exited.
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    mkdir -p figs
    "$DESCENT" blog --plot figs >/dev/null 2>err.txt </dev/null &
    pid=$!
    for _ in $(seq 1 1000); do compgen -G 'figs/.descent-plot-*' >/dev/null && break; sleep 0.01; done
    sleep 0.2  # the script is running
    kill -TERM $pid 2>/dev/null
    wait $pid
    RC=$?
    before=$(ls -A figs)
    sleep 2
    after=$(ls -A figs)
    left=$(find figs -name '.descent-plot-*' -o -name '*.tmp' -o -name 'tmp*' | head -3)
    if [ $RC -ne 143 ]; then fail sigterm_during_plot "exit $RC; expected 143 (did the signal land?)"
    elif [ -n "$left" ]; then fail sigterm_during_plot "left behind: $left"
    elif [ "$before" != "$after" ]; then
        fail sigterm_during_plot "files appeared after descent exited: '$before' -> '$after'"
    else pass sigterm_during_plot; fi
else
    echo "skip  sigterm_during_plot (no matplotlib)"
fi

cli_summary
