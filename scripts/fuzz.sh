#!/usr/bin/env bash
# Fuzzes descent's readers of untrusted input with libFuzzer (clang, ASan + UBSan): the CSV
# and NPY readers, the checkpoint and model file readers and the CLI's data-spec parser
# (fuzz/README.md).
# Each fuzzer runs for DESCENT_FUZZ_SECONDS (default 60) from a scratch copy of its seed
# corpus and past findings (fuzz/corpus/<name>, fuzz/regressions/<name>): nothing is written
# into the source tree. Fails, naming the input that triggered it, on any crash, sanitizer
# report, leak, timeout (-timeout=10) or out-of-memory (-rss_limit_mb=2048).
# Usage: scripts/fuzz.sh [csv|npy|checkpoint|data_spec|model ...]   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

# clang and its libFuzzer and sanitizer runtimes, from Debian (the runtimes are only
# recommended by clang-14, so they are named explicitly).
cxx=${DESCENT_FUZZ_CXX:-clang++-14}
missing=()
for pkg in clang-14 libclang-rt-14-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ] && [ -z "${DESCENT_FUZZ_CXX:-}" ]; then
  echo "fuzz.sh: installing ${missing[*]} (apt-get)"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(csv npy checkpoint data_spec model); fi
seconds=${DESCENT_FUZZ_SECONDS:-60}
build_dir=${DESCENT_FUZZ_BUILD_DIR:-build-fuzz}

# Warnings are not errors here (clang's differ from GCC's; the normal build enforces them).
DESCENT_CUDA=OFF DESCENT_MPI=OFF descent_configure "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O2 -g" -DDESCENT_FUZZ=ON \
    -DDESCENT_BUILD_TESTS=OFF -DDESCENT_BUILD_EXAMPLES=OFF -DDESCENT_OPENMP=OFF \
    -DDESCENT_WERROR=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

work="$build_dir/fuzz-run"
failed=()
for name in "${targets[@]}"; do
  dir="$work/$name"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # The scratch corpus: seeds and past findings (dot files skipped).
  find "fuzz/corpus/$name" "fuzz/regressions/$name" -maxdepth 1 -type f ! -name '.*' \
      -exec cp {} "$dir/corpus/" \;
  echo "fuzz.sh: fuzz_$name for ${seconds}s from $(ls "$dir/corpus" | wc -l) inputs"
  status=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build_dir/fuzz/fuzz_$name" "$dir/corpus" -dict="fuzz/dicts/$name.dict" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -artifact_prefix="$dir/artifacts/" -print_final_stats=1 >"$dir/log" 2>&1 || status=$?
  # One summary line: executions, speed, coverage, corpus size.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 || true)
  echo "fuzz.sh: fuzz_$name: exit $status, ${runs:-?} runs, ${speed:-?} exec/s; last: ${last:-none}"
  artifacts=$(find "$dir/artifacts" -type f | sort)
  if [ "$status" -ne 0 ] || [ -n "$artifacts" ]; then
    tail -n 60 "$dir/log"
    echo "fuzz.sh: fuzz_$name FAILED (full log: $dir/log)"
    for a in $artifacts; do
      echo "fuzz.sh: input: $a"
      echo "  reproduce: $build_dir/fuzz/fuzz_$name $a; once fixed, keep it in fuzz/regressions/$name/"
    done
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: no findings (${targets[*]}; ${seconds}s each)"
