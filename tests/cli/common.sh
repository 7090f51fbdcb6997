# Shared by the scripts in tests/cli: the descent binary from the first argument, a scratch
# directory removed at exit (the script runs inside it), and the ok/FAIL report whose closing
# line is "N passed, M failed".
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"; cli_setup NAME "$@"; ...; cli_summary

# This directory (the scripts' shared files, e.g. crc32c.py for Python snippets).
CLI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Sets DESCENT (absolute) and WORK, and enters WORK; exits 2 on a bad command line.
cli_setup() {
    local name=$1; shift
    if [ $# -lt 1 ] || [ ! -x "$1" ]; then
        echo "usage: $0 /path/to/descent" >&2
        exit 2
    fi
    DESCENT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/descent-$name.XXXXXX")" || exit 2
    trap 'rm -rf "$WORK"' EXIT
    cd "$WORK" || exit 2
}

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() {  # fail NAME MESSAGE...: each message indented under the case's name
    local name=$1; shift
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL  %s\n' "$name"
    local m
    for m in "$@"; do printf '%s\n' "$m" | sed 's/^/        /'; done
}
# The closing lines; returns non-zero when a case failed.
cli_summary() {
    echo
    if [ $failed -gt 0 ]; then echo "failed: ${failures[*]}"; fi
    echo "$passed passed, $failed failed"
    [ $failed -eq 0 ]
}
