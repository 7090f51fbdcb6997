#!/usr/bin/env bash
# `descent train --model logistic|softmax`: training runs, --json reports accuracy and
# log-loss, labels are checked before training (the error names the row), a checkpointed
# run stopped and resumed equals the uninterrupted one byte for byte, and misuse is refused
# with one line and a non-zero exit.
#   bash tests/cli/classification.sh /path/to/descent
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup classification "$@"

# json_field FILE KEY: one top-level number or string of a --json output.
json_field() { python3 -c "import json,sys; print(json.load(open('$1'))['$2'])"; }

# Logistic regression: Newton (IRLS by autodiff) reaches accuracy well above chance.
if "$DESCENT" train --model logistic --data synthetic-logistic:n=3000,d=4,seed=3 --optimizer newton \
        --epochs 8 --quiet --json --device cpu > logistic.json 2> err.txt &&
   python3 - logistic.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"] == "logistic" and d["classes"] == 2, d
assert d["accuracy"] > 0.75, d["accuracy"]
assert abs(d["log_loss"] - d["final_loss"]) == 0 and d["log_loss"] < d["losses"][0], d
PY
then pass "logistic newton: accuracy and log-loss in --json"
else fail "logistic newton: accuracy and log-loss in --json" "$(cat err.txt logistic.json)"; fi

# Softmax regression in shuffled mini-batches with adam.
if "$DESCENT" train --model softmax --data synthetic-softmax:n=2000,d=3,k=4,seed=5 --optimizer adam \
        --lr 0.05 --batch-size 128 --shuffle --epochs 30 --quiet --json --device cpu > softmax.json 2> err.txt &&
   [ "$(json_field softmax.json classes)" = 4 ] &&
   python3 -c "import json; d=json.load(open('softmax.json')); assert d['accuracy'] > 0.4 and d['losses'][-1] < d['losses'][0], d"
then pass "softmax adam mini-batches"
else fail "softmax adam mini-batches" "$(cat err.txt softmax.json)"; fi

# Labels are checked before training: a CSV label outside 0..1 for logistic names its row.
printf 'x1,x2,label\n0.5,1,0\n1.5,-1,1\n2.5,0.25,2\n' > three.csv
if ! "$DESCENT" train --model logistic --data three.csv --quiet --device cpu > out.txt 2> err.txt &&
   grep -q "row 3: label 2 is not a class index in 0..1" err.txt && [ "$(wc -l < err.txt)" -eq 1 ]
then pass "logistic: a label 2 is refused, naming row 3"
else fail "logistic: a label 2 is refused, naming row 3" "$(cat err.txt)"; fi
if "$DESCENT" train --model softmax --data three.csv --epochs 3 --quiet --json --device cpu > ok.json 2> err.txt &&
   [ "$(json_field ok.json classes)" = 3 ]
then pass "softmax: three classes from the labels"
else fail "softmax: three classes from the labels" "$(cat err.txt)"; fi
if ! "$DESCENT" train --model softmax --classes 2 --data three.csv --quiet --device cpu 2> err.txt > /dev/null &&
   grep -q "row 3: label 2 is not a class index in 0..1" err.txt
then pass "softmax --classes 2 refuses label 2"
else fail "softmax --classes 2 refuses label 2" "$(cat err.txt)"; fi

# Misuse: one line, non-zero exit.
for bad in "--model tree" "--model softmax --optimizer newton" "--model logistic --stream-chunk 10" \
           "--model linear --classes 3"; do
    # shellcheck disable=SC2086
    if ! "$DESCENT" train $bad --data synthetic-softmax:n=50,d=2,k=3 --quiet --device cpu > /dev/null 2> err.txt &&
       [ "$(wc -l < err.txt)" -eq 1 ]
    then pass "refused: $bad"
    else fail "refused: $bad" "$(cat err.txt)"; fi
done

# Checkpoint and resume: stopped after 7 of 20 epochs (--epochs 7 writes the checkpoint),
# resumed to 20, equals the uninterrupted run byte for byte.
args=(train --model softmax --data synthetic-softmax:n=600,d=3,k=3,seed=8 --optimizer momentum
      --lr 0.1 --batch-size 64 --shuffle --seed 4 --quiet --json --device cpu)
"$DESCENT" "${args[@]}" --epochs 20 > whole.json 2> err.txt
"$DESCENT" "${args[@]}" --epochs 7 --checkpoint run.ckpt > /dev/null 2>> err.txt
"$DESCENT" "${args[@]}" --epochs 20 --checkpoint run.ckpt --resume run.ckpt > resumed.json 2>> err.txt
if [ -s whole.json ] && cmp -s whole.json resumed.json
then pass "softmax checkpoint/resume is bitwise the uninterrupted run"
else fail "softmax checkpoint/resume is bitwise the uninterrupted run" "$(cat err.txt)" "$(diff whole.json resumed.json | head -5)"; fi
# The checkpoint knows its model: a logistic run's checkpoint is not resumed as linear.
"$DESCENT" train --model logistic --data synthetic-logistic:n=300,d=2,seed=1 --epochs 3 \
    --checkpoint logit.ckpt --quiet --device cpu > /dev/null 2> err.txt
if ! "$DESCENT" train --data synthetic-logistic:n=300,d=2,seed=1 --resume logit.ckpt --epochs 6 \
        --quiet --device cpu > /dev/null 2> err.txt &&
   grep -q "written with --model logistic; this run is --model linear" err.txt &&
   [ "$(wc -l < err.txt)" -eq 1 ]
then pass "a logistic checkpoint is not resumed as linear"
else fail "a logistic checkpoint is not resumed as linear" "$(cat err.txt)"; fi

cli_summary
