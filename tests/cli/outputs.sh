#!/usr/bin/env bash
# Happy paths of the descent CLI: --json, --trace, the blog table, Newton reaching the optimum,
# CSV and NPY files, and --help.
#
#   bash tests/cli/outputs.sh /path/to/descent
#
# JSON is validated with /usr/bin/python3 when it exists, else with grep/awk-level checks
# (DESCENT_TEST_NO_PYTHON=1 forces those).
# NPY files are written with numpy when /usr/bin/python3 has it, else the committed fixtures
# (tests/reference/fixtures/npy_f64.npy, npy_f32.npy) are used.
# Prints "N passed, M failed" and exits non-zero when M > 0.

set -u

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIX="$SCRIPT_DIR/../reference/fixtures"
source "$SCRIPT_DIR/common.sh"
cli_setup outputs "$@"

PY=""
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import json' 2>/dev/null; then PY=/usr/bin/python3; fi
# DESCENT_TEST_NO_PYTHON=1 exercises the checks used where python3 is missing.
if [ "${DESCENT_TEST_NO_PYTHON:-0}" = 1 ]; then PY=""; fi
HAVE_NUMPY=0
if [ -n "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then HAVE_NUMPY=1; fi

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout 120); fi

# run ARGS...: runs descent with stdout to out.txt, stderr to err.txt; sets RC.
run() {
    "${TIMEOUT[@]}" "$DESCENT" "$@" >out.txt 2>err.txt </dev/null
    RC=$?
    LAST_CMD="descent"
    [ $# -gt 0 ] && LAST_CMD+="$(printf ' %q' "$@")"
}
context() {  # what to print on a failure
    printf 'command: %s (exit %s)\n' "$LAST_CMD" "$RC"
    printf 'stdout:\n'; sed -n '1,12p' out.txt | sed 's/^/  | /'
    printf 'stderr:\n'; sed -n '1,12p' err.txt | sed 's/^/  | /'
}

# check_json FILE EPOCHS: one line, valid JSON, with the required keys and `epochs` losses.
check_json() {
    local file=$1 epochs=$2
    if [ "$(wc -l <"$file")" -ne 1 ]; then
        echo "stdout has $(wc -l <"$file") lines; expected exactly one (the JSON object)"
        return 1
    fi
    if [ -n "$PY" ]; then
        "$PY" - "$file" "$epochs" 2>&1 <<'EOF'
import json, math, sys
path, epochs = sys.argv[1], int(sys.argv[2])
try:
    doc = json.loads(open(path).read())
except ValueError as e:
    sys.exit("stdout is not valid JSON: %s" % e)
if not isinstance(doc, dict):
    sys.exit("the JSON is not an object")
need = ["optimizer", "preset", "device", "dtype", "epochs", "hyperparameters",
        "initial_weights", "final_weights", "final_loss", "losses"]
missing = [k for k in need if k not in doc]
if missing:
    sys.exit("missing keys: %s" % ", ".join(missing))
problems = []
for k in ["optimizer", "preset", "device", "dtype"]:
    if not isinstance(doc[k], str) or not doc[k]:
        problems.append("%s is not a non-empty string: %r" % (k, doc[k]))
if doc["epochs"] != epochs:
    problems.append("epochs is %r, expected %d" % (doc["epochs"], epochs))
if not isinstance(doc["hyperparameters"], dict) or "lr" not in doc["hyperparameters"]:
    problems.append("hyperparameters is not an object with lr: %r" % (doc["hyperparameters"],))
for k in ["initial_weights", "final_weights", "losses"]:
    v = doc[k]
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
        problems.append("%s is not a list of finite numbers: %r" % (k, v))
if isinstance(doc["losses"], list) and len(doc["losses"]) != epochs:
    problems.append("losses has %d entries, expected %d" % (len(doc["losses"]), epochs))
if len(doc.get("initial_weights", [])) != len(doc.get("final_weights", [])):
    problems.append("initial_weights and final_weights differ in length")
if not isinstance(doc["final_loss"], (int, float)) or not math.isfinite(doc["final_loss"]):
    problems.append("final_loss is not a finite number: %r" % (doc["final_loss"],))
if problems:
    sys.exit("\n".join(problems))
EOF
        return $?
    fi
    # No python: grep-level checks.
    local line k
    line=$(cat "$file")
    case $line in "{"*"}") ;; *) echo "stdout is not a JSON object: $line"; return 1 ;; esac
    for k in optimizer preset device dtype epochs hyperparameters initial_weights final_weights \
             final_loss losses; do
        grep -q "\"$k\": *" "$file" || { echo "missing key \"$k\""; return 1; }
    done
    grep -q "\"epochs\": *${epochs}[,}]" "$file" || { echo "epochs is not $epochs"; return 1; }
    local n
    n=$(sed -n 's/.*"losses": *\[\([^]]*\)\].*/\1/p' "$file" | tr ',' '\n' | grep -c '[0-9]')
    [ "$n" -eq "$epochs" ] || { echo "losses has $n entries, expected $epochs"; return 1; }
    if grep -q 'null\|nan\|inf' "$file"; then echo "non-finite values in the JSON"; return 1; fi
    if grep -qE ',[[:space:]]*[]}]|[[{:][[:space:]]*,' "$file"; then echo "stdout is not valid JSON: $line"; return 1; fi
    return 0
}

# json_array FILE KEY: the numbers of the array KEY, one a line.
json_array() {
    if [ -n "$PY" ]; then
        "$PY" -c 'import json,sys; [print(repr(float(x))) for x in json.load(open(sys.argv[1]))[sys.argv[2]]]' "$1" "$2" 2>/dev/null
    else
        sed -n "s/.*\"$2\": *\[\([^]]*\)\].*/\1/p" "$1" | tr ',' '\n' | tr -d ' '
    fi
}

# close_to "A B C" "X Y Z" TOL: every |a - x| <= tol.
close_to() {
    awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN {
        n = split(a, u, " "); m = split(b, v, " ");
        if (n != m) exit 1;
        for (i = 1; i <= n; ++i) { d = u[i] - v[i]; if (d < 0) d = -d; if (!(d <= tol)) exit 1 }
        exit 0 }'
}

# ---------------------------------------------------------------------------------------------
# --json

run train --json --quiet
if [ $RC -eq 0 ] && msg=$(check_json out.txt 50); then pass "json_default"
else fail "json_default" "${msg:-}" "$(context)"; fi

run train --json --quiet --device cpu --optimizer adam --epochs 7
if [ $RC -eq 0 ] && msg=$(check_json out.txt 7) && grep -q '"optimizer": *"adam"' out.txt; then
    pass "json_adam_7_epochs"
else fail "json_adam_7_epochs" "${msg:-}" "$(context)"; fi

# Without --quiet, progress goes to stderr; stdout is still only the JSON line.
run train --json --device cpu --epochs 20
if [ $RC -eq 0 ] && msg=$(check_json out.txt 20) && [ -s err.txt ]; then pass "json_with_progress"
else fail "json_with_progress" "${msg:-expected progress on stderr}" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# --trace

rm -f t.csv
run train --quiet --device cpu --epochs 5 --trace t.csv
msg=""
if [ $RC -ne 0 ]; then msg="exit status $RC"
elif [ ! -f t.csv ]; then msg="t.csv was not written"
elif [ "$(head -n 1 t.csv)" != "epoch,loss,w0,w1" ]; then msg="header is '$(head -n 1 t.csv)'"
elif [ "$(tail -n +2 t.csv | wc -l)" -ne 6 ]; then msg="$(tail -n +2 t.csv | wc -l) data rows; expected 6 (epochs + 1)"
elif [ "$(tail -n +2 t.csv | cut -d, -f1 | tr '\n' ' ')" != "0 1 2 3 4 5 " ]; then msg="epoch column is $(tail -n +2 t.csv | cut -d, -f1 | tr '\n' ' ')"
elif awk -F, 'NR > 1 && NF != 4 { bad = 1 } END { exit !bad }' t.csv; then msg="a data row does not have 4 fields"
elif compgen -G '.t.csv.*.tmp' >/dev/null; then msg="temporary files left behind"
fi
if [ -z "$msg" ]; then pass "trace_csv"; else fail "trace_csv" "$msg" "$(context)" "t.csv:" "$(cat t.csv 2>/dev/null)"; fi

# The trace's first weights are the initial weights and its last the final weights (JSON).
rm -f t.csv
run train --quiet --device cpu --epochs 5 --trace t.csv --json
msg=""
if [ $RC -ne 0 ]; then msg="exit status $RC"
else
    first=$(sed -n 2p t.csv | cut -d, -f3-4 | tr ',' ' ')
    last=$(tail -n 1 t.csv | cut -d, -f3-4 | tr ',' ' ')
    init=$(json_array out.txt initial_weights | tr '\n' ' ')
    final=$(json_array out.txt final_weights | tr '\n' ' ')
    close_to "$first" "$init" 0 || msg="first trace row $first != initial weights $init"
    close_to "$last" "$final" 0 || msg="last trace row $last != final weights $final"
fi
if [ -z "$msg" ]; then pass "trace_matches_json"; else fail "trace_matches_json" "$msg" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# The blog table

check_blog_table() {
    local file=$1 row
    for row in "gd " "newton lr=0.1 " "newton lr=1 " "momentum " "adagrad " "rmsprop " "adam "; do
        [ "$(grep -c "^$row" "$file")" -eq 1 ] || { echo "no single row starting with '$row'"; return 1; }
    done
    local rows
    rows=$(grep -cE '^(gd|newton|momentum|adagrad|rmsprop|adam) ' "$file")
    [ "$rows" -eq 7 ] || { echo "$rows optimizer rows; expected 7"; return 1; }
    grep -qE '^gd .*\[5\.00396765, 1\.77940355\]' "$file" ||
        { echo "the gd row does not show [5.00396765, 1.77940355]"; return 1; }
    grep -qE '^newton lr=1 .*\[5\.00396765, 2\.27463993\]' "$file" ||
        { echo "the newton lr=1 row does not show [5.00396765, 2.27463993]"; return 1; }
}

run
if [ $RC -eq 0 ] && msg=$(check_blog_table out.txt) && [ ! -s err.txt ]; then pass "blog_table_no_arguments"
else fail "blog_table_no_arguments" "${msg:-stderr not empty}" "$(context)"; fi
cp out.txt blog_noargs.txt

run blog
if [ $RC -eq 0 ] && msg=$(check_blog_table out.txt) && cmp -s out.txt blog_noargs.txt; then
    pass "blog_command_same_table"
else fail "blog_command_same_table" "${msg:-'descent blog' differs from 'descent'}" "$(context)"; fi

run blog --dtype f32
if [ $RC -eq 0 ] && [ "$(grep -cE '^(gd|newton|momentum|adagrad|rmsprop|adam) ' out.txt)" -eq 7 ]; then
    pass "blog_f32"
else fail "blog_f32" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# Newton reaches the least-squares optimum in one full step.

run train --optimizer newton --lr 1 --epochs 2 --json
msg=""
if [ $RC -ne 0 ]; then msg="exit status $RC"
elif ! msg=$(check_json out.txt 2); then :
else
    w=$(json_array out.txt final_weights | tr '\n' ' ')
    close_to "$w" "5.00396765 2.27463993" 5e-9 || msg="final weights $w; expected [5.00396765, 2.27463993] to 8 digits"
fi
if [ -z "$msg" ]; then pass "newton_reaches_optimum"; else fail "newton_reaches_optimum" "$msg" "$(context)"; fi

# Synthetic data: Newton lands near the true weights (noise 0.1).
run train --quiet --json --device cpu --data synthetic:n=500,d=3,seed=7 --optimizer newton --lr 1 --epochs 2
msg=""
if [ $RC -ne 0 ]; then msg="exit status $RC"
elif ! grep -q '"true_weights"' out.txt; then msg="no true_weights in the JSON"
else
    w=$(json_array out.txt final_weights | tr '\n' ' ')
    t=$(json_array out.txt true_weights | tr '\n' ' ')
    close_to "$w" "$t" 0.05 || msg="final weights $w are not within 0.05 of the true weights $t"
fi
if [ -z "$msg" ]; then pass "synthetic_newton"; else fail "synthetic_newton" "$msg" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# CSV: y = 3 a - 2 b + 1 exactly, with a header, spaces around fields and a blank last line.

printf 'a,b,y\n0,0,1\n1,0,4\n0,1,-1\n1,1,2\n 2 , 3 , 1\n-1,2,-6\n\n' >linear.csv
for dtype in f64 f32; do
    tol=1e-9; [ $dtype = f32 ] && tol=1e-4
    run train --quiet --json --device cpu --dtype $dtype --data linear.csv --optimizer newton --lr 1 --epochs 2
    msg=""
    if [ $RC -ne 0 ]; then msg="exit status $RC"
    elif ! msg=$(check_json out.txt 2); then :
    else
        w=$(json_array out.txt final_weights | tr '\n' ' ')
        close_to "$w" "3 -2 1" $tol || msg="final weights $w; expected [3, -2, 1]"
        grep -q '"rows": *6[,}]' out.txt || msg="rows is not 6: $(cat out.txt)"
    fi
    if [ -z "$msg" ]; then pass "csv_newton_$dtype"; else fail "csv_newton_$dtype" "$msg" "$(context)"; fi
done

run train --quiet --device cpu --data linear.csv --optimizer adam --epochs 30
if [ $RC -eq 0 ] && grep -q 'final weights:' out.txt && [ ! -s err.txt ]; then pass "csv_adam_summary"
else fail "csv_adam_summary" "$(context)"; fi

run train --quiet --json --device cpu --data linear.csv --no-intercept --epochs 10
if [ $RC -eq 0 ] && [ "$(json_array out.txt final_weights | wc -l)" -eq 2 ]; then pass "csv_no_intercept"
else fail "csv_no_intercept" "expected 2 weights without the intercept" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# --stream-chunk with file data: the rows are held in host memory and used ROWS at a time (read
# in place on the cpu; copied to the device with --device cuda). The run equals the in-memory
# run to rounding, not bitwise: the sums are grouped by chunk. Chunks of 7 rows (a short last
# one), of all rows but one, and of more than all rows; adam (loss and gradient) and newton
# (the Hessian too).

# json_close A B RTOL: the same keys, strings and array lengths; numbers within RTOL relative.
json_close() {
    if [ -n "$PY" ]; then
        "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
tol = float(sys.argv[3])
def close(x, y, path):
    if isinstance(x, dict):
        if not isinstance(y, dict) or sorted(x) != sorted(y): sys.exit(f"{path}: keys differ")
        for k in x: close(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        if not isinstance(y, list) or len(x) != len(y): sys.exit(f"{path}: lengths differ")
        for i, (u, v) in enumerate(zip(x, y)): close(u, v, f"{path}[{i}]")
    elif isinstance(x, (bool, str)) or x is None or isinstance(y, (bool, str)) or y is None:
        if x != y: sys.exit(f"{path}: {x!r} != {y!r}")
    elif not abs(x - y) <= tol * max(abs(x), abs(y), 1e-12):
        sys.exit(f"{path}: {x!r} and {y!r} differ by more than {tol} relative")
close(a, b, "$")
EOF
    else
        local key u v
        for key in final_weights losses; do
            u=$(json_array "$1" $key | tr '\n' ' '); v=$(json_array "$2" $key | tr '\n' ' ')
            close_to "$u" "$v" 1e-9 || { echo "$key: $u and $v differ"; return 1; }
        done
        [ "$(sed 's/"final_loss": [^,]*//; s/\[[^]]*\]//g' "$1")" = \
          "$(sed 's/"final_loss": [^,]*//; s/\[[^]]*\]//g' "$2")" ] || { echo "the documents differ"; return 1; }
    fi
}

awk 'BEGIN { print "a,b,c,y";
    for (i = 0; i < 500; i++) { a = sin(i * 1.3); b = 2 * cos(i * 0.7); c = (i % 17) / 17;
        printf "%.17g,%.17g,%.17g,%.17g\n", a, b, c, 3 * a - 2 * b + 0.5 * c + 1 + 0.1 * sin(i * 12.9898) } }' >stream.csv
for opt in adam newton; do
    epochs=30; [ $opt = newton ] && epochs=3
    run train --quiet --json --device cpu --data stream.csv --optimizer $opt --epochs $epochs
    cp out.txt in_memory.json
    for chunk in 7 499 100000; do
        run train --quiet --json --device cpu --data stream.csv --optimizer $opt --epochs $epochs --stream-chunk $chunk
        msg=""
        if [ $RC -ne 0 ]; then msg="exit status $RC"
        elif ! msg=$(check_json out.txt $epochs); then :
        else msg=$(json_close out.txt in_memory.json 1e-12 2>&1); fi
        if [ -z "$msg" ]; then pass "stream_chunk_file_${opt}_$chunk"
        else fail "stream_chunk_file_${opt}_$chunk" "$msg" "$(context)"; fi
    done
    # The same file streamed from host memory to a GPU, where there is one: the device's
    # results equal the CPU's to rounding.
    if "$DESCENT" train --device cuda --quiet --epochs 1 >/dev/null 2>&1; then
        run train --quiet --json --device cuda --data stream.csv --optimizer $opt --epochs $epochs --stream-chunk 64
        msg=""
        if [ $RC -ne 0 ]; then msg="exit status $RC"
        elif ! msg=$(check_json out.txt $epochs); then :
        else
            sed 's/"device": "cuda:0"/"device": "cpu"/' out.txt >cuda.json
            msg=$(json_close cuda.json in_memory.json 1e-10 2>&1)
        fi
        if [ -z "$msg" ]; then pass "stream_chunk_file_${opt}_cuda"
        else fail "stream_chunk_file_${opt}_cuda" "$msg" "$(context)"; fi
    fi
done

# ---------------------------------------------------------------------------------------------
# NPY

if [ $HAVE_NUMPY -eq 1 ]; then
    "$PY" - <<'EOF'
import numpy as np
a = np.array([[0, 0, 1], [1, 0, 4], [0, 1, -1], [1, 1, 2], [2, 3, 1], [-1, 2, -6]], dtype=np.float64)
np.save("linear_f64.npy", a)
np.save("linear_f32.npy", a.astype(np.float32))
EOF
    for t in f64 f32; do
        tol=1e-9; [ $t = f32 ] && tol=1e-4
        run train --quiet --json --device cpu --dtype $t --data linear_$t.npy --optimizer newton --lr 1 --epochs 2
        msg=""
        if [ $RC -ne 0 ]; then msg="exit status $RC"
        elif ! msg=$(check_json out.txt 2); then :
        else
            w=$(json_array out.txt final_weights | tr '\n' ' ')
            close_to "$w" "3 -2 1" $tol || msg="final weights $w; expected [3, -2, 1]"
        fi
        if [ -z "$msg" ]; then pass "npy_newton_$t (numpy)"; else fail "npy_newton_$t" "$msg" "$(context)"; fi
    done
else
    for t in f64 f32; do
        run train --quiet --json --device cpu --data "$FIX/npy_$t.npy" --epochs 5
        msg=""
        if [ $RC -ne 0 ]; then msg="exit status $RC"
        elif ! msg=$(check_json out.txt 5); then :
        elif ! grep -q '"rows": *4[,}]' out.txt; then msg="rows is not 4"
        elif [ "$(json_array out.txt final_weights | wc -l)" -ne 3 ]; then msg="expected 3 weights"
        fi
        if [ -z "$msg" ]; then pass "npy_fixture_$t"; else fail "npy_fixture_$t" "$msg" "$(context)"; fi
    done
fi

# ---------------------------------------------------------------------------------------------
# --help

for args in "--help" "-h" "help" "train --help" "blog --help"; do
    # shellcheck disable=SC2086
    run $args
    if [ $RC -eq 0 ] && head -n 1 out.txt | grep -q '^usage: descent' && [ ! -s err.txt ]; then
        pass "help: descent $args"
    else fail "help: descent $args" "expected exit 0, 'usage: descent ...' on stdout, nothing on stderr" "$(context)"; fi
done

run train --help
if grep -q -- '--optimizer' out.txt && grep -q -- '--trace' out.txt && grep -q -- '--data' out.txt; then
    pass "help: train lists its flags"
else fail "help: train lists its flags" "$(context)"; fi

# --version: "descent X.Y.Z", the project's version (CMakeLists.txt), also in --json.
WANT_VERSION="$(sed -n 's/^project(descent VERSION \([0-9.]*\).*/\1/p' "$SCRIPT_DIR/../../CMakeLists.txt")"
for args in "--version" "version"; do
    # shellcheck disable=SC2086
    run $args
    if [ $RC -eq 0 ] && [ "$(cat out.txt)" = "descent $WANT_VERSION" ] && [ ! -s err.txt ] && [ -n "$WANT_VERSION" ]; then
        pass "version: descent $args"
    else fail "version: descent $args" "expected exit 0 and 'descent $WANT_VERSION' alone" "$(context)"; fi
done
run --version extra
if [ $RC -eq 2 ] && [ ! -s out.txt ] && [ "$(wc -l < err.txt)" -eq 1 ]; then
    pass "version: an extra argument is a usage error"
else fail "version: an extra argument is a usage error" "$(context)"; fi
# Without --device nothing is said of where the run went; with --device auto, when it fell
# back to the cpu, one line says why.
run train --data blog --epochs 1 --json
if [ $RC -eq 0 ] && ! grep -q "trained on the cpu" err.txt; then
    pass "device: no notice when no device was asked for"
else fail "device: no notice when no device was asked for" "$(context)"; fi
run train --data blog --epochs 1 --json --device auto
if [ $RC -eq 0 ] && { grep -q "trained on the cpu" err.txt || grep -q '"device": "cuda' out.txt; }; then
    pass "device: --device auto says where the run went when it fell back"
else fail "device: --device auto says where the run went when it fell back" "$(context)"; fi
run train --data blog --epochs 1 --quiet --json
if grep -q "\"descent_version\": \"$WANT_VERSION\"" out.txt; then
    pass "version: --json names the version"
else fail "version: --json names the version" "$(context)"; fi

# ---------------------------------------------------------------------------------------------
# Output that reads well (issue 16 item 7).

# The final loss is named: the loss at the final weights, and where the last epoch started.
run train --data blog --epochs 5
if [ $RC -eq 0 ] && grep -q "final loss: .* (at the final weights; the last epoch started at " out.txt &&
   grep -q "epoch 5/5 loss .* (before its update)" err.txt; then
    pass "final loss named apart from the last epoch's"
else fail "final loss named apart from the last epoch's" "$(context)"; fi
# Progress: elapsed time, rows per second, and the time left.
run train --data synthetic:n=2000,d=3 --epochs 10
if [ $RC -eq 0 ] && grep -q "epoch 5/10 .*elapsed [0-9.]*s, .* rows/s, ETA " err.txt &&
   grep -q "epoch 10/10 .*elapsed" err.txt; then
    pass "progress shows elapsed, rows/s and ETA"
else fail "progress shows elapsed, rows/s and ETA" "$(context)"; fi
# Long weight vectors are cut in the summary, whole in --json.
run train --data synthetic:n=200,d=40 --epochs 2 --quiet
if [ $RC -eq 0 ] && grep -q "final weights: *\[.*, \.\.\., .*\] (41 values)" out.txt; then
    pass "summary cuts 41 weights"
else fail "summary cuts 41 weights" "$(context)"; fi
run train --data synthetic:n=200,d=40 --epochs 2 --quiet --json
if [ $RC -eq 0 ] && [ "$(json_array out.txt final_weights | wc -l)" -eq 41 ]; then
    pass "--json keeps all 41 weights"
else fail "--json keeps all 41 weights" "$(context)"; fi
# JSON booleans are booleans; a diverged run (warned) prints no -nan anywhere.
if [ -n "$PY" ]; then
    run train --data blog --epochs 2 --optimizer adam --amsgrad --json --quiet
    if [ $RC -eq 0 ] && "$PY" -c '
import json, sys
h = json.load(open("out.txt"))["hyperparameters"]
sys.exit(0 if h["amsgrad"] is True and h["bias_correction"] is True else 1)'; then
        pass "json: flags are JSON booleans"
    else fail "json: flags are JSON booleans" "$(context)"; fi
    run blog --json --epochs 3
    if [ $RC -eq 0 ] && [ ! -s err.txt ] && "$PY" -c '
import json, sys
d = json.load(open("out.txt"))
runs = d["runs"]
ok = len(runs) == 9 and [r["in_post"] for r in runs].count(True) == 7
ok = ok and all(len(r["losses"]) == 3 and len(r["final_weights"]) == 2 for r in runs)
ok = ok and runs[-1]["optimizer"] == "lbfgs" and runs[0]["hyperparameters"] == {"lr": 0.01, "weight_decay": 0}
sys.exit(0 if ok else 1)'; then
        pass "blog --json: the nine runs"
    else fail "blog --json: the nine runs" "$(context)"; fi
fi
run train --data blog --optimizer gd --lr 1 --epochs 400 --on-divergence warn
if [ $RC -eq 0 ] && ! grep -q -- "-nan" out.txt err.txt && grep -q "final loss: *\(nan\|inf\)" out.txt; then
    pass "a diverged run prints no -nan"
else fail "a diverged run prints no -nan" "$(context)"; fi
# Exit status: 2 for every bad flag value, 1 for a run that fails.
ok=1
for args in "--lr -0.1" "--optimizer adam --beta1 2" "--dtype f16" "--device tpu" "--epochs 0" \
            "--data synthetic:n=0,d=1" "--init 1,2,3" "--optimizer newton --damping -1" "--bogus" \
            "--optimizer lbfgs --batch-size 10" "--optimizer newton-cg --batch-size 10"; do
    # shellcheck disable=SC2086
    run train --quiet $args
    [ $RC -eq 2 ] || { ok=0; echo "  exit $RC for: $args"; }
done
run train --quiet --data no_such_file.csv
[ $RC -eq 1 ] || { ok=0; echo "  exit $RC for a missing file"; }
run train --quiet --data blog --optimizer gd --lr 1 --epochs 400
[ $RC -eq 1 ] || { ok=0; echo "  exit $RC for a diverged run"; }
run --help
grep -q "exit status: 0 success, 1 the run failed" out.txt || { ok=0; echo "  --help does not document the exit status"; }
if [ $ok = 1 ]; then pass "exit status: 2 usage, 1 run failure"
else fail "exit status: 2 usage, 1 run failure" "$(context)"; fi

cli_summary
