#!/usr/bin/env bash
# `descent train --model mlp:...`: a net fits a nonlinear target a linear model cannot, --json
# names the model, loss and parameters (and accuracy for classifiers), L-BFGS trains one, a
# checkpointed net stopped and resumed equals the uninterrupted run byte for byte, and misuse
# is refused with one line and a non-zero exit.
#   bash tests/cli/nets.sh /path/to/descent
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cli_setup nets "$@"

# y = sin(2a) + a b on [-2, 2]^2: no linear fit comes close.
awk 'BEGIN { srand(3); print "a,b,y";
             for (i = 0; i < 800; i++) { a = 4 * rand() - 2; b = 4 * rand() - 2;
                                        printf "%.6f,%.6f,%.6f\n", a, b, sin(2 * a) + a * b } }' > wave.csv
awk -F, 'NR == 1 { print "a,b,label"; next } { print $1 "," $2 "," ($3 > 0.5 ? 2 : $3 > -0.5 ? 1 : 0) }' wave.csv > wave3.csv

if "$DESCENT" train --data wave.csv --model mlp:32,32:tanh --optimizer adam --lr 0.01 --epochs 400 \
        --quiet --json --device cpu > net.json 2> err.txt &&
   "$DESCENT" train --data wave.csv --optimizer adam --lr 0.05 --epochs 400 --quiet --json \
        --device cpu > linear.json 2>> err.txt &&
   python3 - net.json linear.json <<'PY'
import json, sys
net, linear = (json.load(open(p)) for p in sys.argv[1:3])
assert net["model"] == "mlp:32,32:tanh" and net["loss"] == "mse", net["model"]
assert list(net["parameters"]) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], net["parameters"]
assert list(net["parameters"].values()) == [64, 32, 1024, 32, 32, 1], net["parameters"]
assert len(net["final_weights"]) == 1185 and len(net["initial_weights"]) == 1185
assert net["final_loss"] < 0.1 * linear["final_loss"], (net["final_loss"], linear["final_loss"])
PY
then pass "a tanh net fits what linear regression cannot (--json: model, loss, parameters)"
else fail "a tanh net fits what linear regression cannot" "$(cat err.txt)"; fi

# Classification: cross-entropy over 3 classes, and binary with BCE; accuracy in --json.
if "$DESCENT" train --data wave3.csv --model mlp:16 --loss ce --optimizer adam --lr 0.02 \
        --epochs 300 --quiet --json --device cpu > ce.json 2> err.txt &&
   python3 -c "import json; d=json.load(open('ce.json')); assert d['loss'] == 'cross_entropy' and d['classes'] == 3 and d['accuracy'] > 0.85, d['accuracy']"
then pass "mlp with --loss ce: accuracy"
else fail "mlp with --loss ce: accuracy" "$(cat err.txt ce.json)"; fi
if "$DESCENT" train --data synthetic-logistic:n=500,d=3,seed=2 --model mlp:8:relu --loss bce \
        --optimizer lbfgs --epochs 5 --quiet --json --device cpu > bce.json 2> err.txt &&
   python3 -c "import json; d=json.load(open('bce.json')); assert d['accuracy'] > 0.7 and d['losses'][-1] < 0.8 * d['losses'][0], d"
then pass "mlp with --loss bce trained by lbfgs"
else fail "mlp with --loss bce trained by lbfgs" "$(cat err.txt bce.json)"; fi

# Checkpoint and resume: stopped after 6 of 15 epochs, resumed to 15, byte for byte.
for opt in "adam --lr 0.01 --batch-size 100 --shuffle" "lbfgs"; do
    # shellcheck disable=SC2206
    args=(train --data wave.csv --model mlp:8,8:sigmoid --optimizer $opt --seed 4 --quiet --json --device cpu)
    rm -f run.ckpt
    "$DESCENT" "${args[@]}" --epochs 15 > whole.json 2> err.txt
    "$DESCENT" "${args[@]}" --epochs 6 --checkpoint run.ckpt > /dev/null 2>> err.txt
    "$DESCENT" "${args[@]}" --epochs 15 --checkpoint run.ckpt --resume run.ckpt > resumed.json 2>> err.txt
    if [ -s whole.json ] && cmp -s whole.json resumed.json
    then pass "net checkpoint/resume is bitwise the uninterrupted run ($opt)"
    else fail "net checkpoint/resume is bitwise the uninterrupted run ($opt)" "$(cat err.txt)" "$(diff whole.json resumed.json | head -5)"; fi
done
# A net's checkpoint is not resumed as another net or a linear model.
if ! "$DESCENT" train --data wave.csv --model mlp:8,8:tanh --optimizer lbfgs --seed 4 --epochs 15 \
        --checkpoint run.ckpt --resume run.ckpt --quiet --device cpu > /dev/null 2> err.txt &&
   grep -q "model" err.txt && [ "$(wc -l < err.txt)" -eq 1 ]
then pass "a net's checkpoint is not resumed as another net"
else fail "a net's checkpoint is not resumed as another net" "$(cat err.txt)"; fi

for bad in "--model mlp:" "--model mlp:0" "--model mlp:8,x" "--model mlp:8:gelu" "--model mlp:8 --loss hinge" \
           "--model linear --loss mse" "--model mlp:8 --optimizer newton" "--model mlp:8 --optimizer newton-cg" \
           "--model mlp:8 --init zeros" "--model mlp:8 --no-intercept" "--model mlp:8 --stream-chunk 10" \
           "--model mlp:8 --classes 3"; do
    # shellcheck disable=SC2086
    if ! "$DESCENT" train $bad --data wave.csv --epochs 2 --quiet --device cpu > /dev/null 2> err.txt &&
       [ "$(wc -l < err.txt)" -eq 1 ]
    then pass "refused: $bad"
    else fail "refused: $bad" "$(cat err.txt)"; fi
done

cli_summary
