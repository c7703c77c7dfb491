#!/bin/bash
# Runs every test suite and prints one closing line "N passed, N failed".
#   unit   C unit tests (cmocka, TAP output)       build/tests/test_*
#   cli    CLI tests (bats)                         tests/cli/*.bats
#   agent  agent tests (stdlib unittest), once per CPython   tests/agent/
#   pip    `pip install .` into fresh venvs (bats)  tests/pip/*.bats
#   realpkgs  real packages (mypy, pandas, Django, ...) under Debian's
#          /usr/bin/python3 with the agent built for it    tests/realpkgs/
#   web    browser tests of the viewer (if chromium is present) tests/web/
#   fuzz   libFuzzer targets, FUZZ_RUNS inputs each (a count, not a time),
#          if FUZZ_BUILD (default BUILD-fuzz) has them   tests/fuzz/
# First it prints the interpreter matrix: every CPython the build made an
# agent for (config.mk), by key (tools/pythons.sh), with its path and the
# full version it reports.
# Environment: BUILD (default build), SAN=1 for sanitizer builds,
# SUITES="unit cli pip agent realpkgs web fuzz" to pick suites, PYTHONS="3.11 3.12.1" to pick
# Pythons (a key, or a minor version for all its keys).  Exits 1 if
# anything failed or a suite crashed.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
export BUILD ROOT
export HEAPSNAP="$ROOT/$BUILD/heapsnap"
SUITES=${SUITES:-unit cli pip agent realpkgs web fuzz}
LOGDIR="$ROOT/$BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0 failed=0 skipped=0

# Reads TAP on stdin, echoes it, and adds to the counters via a temp file.
count_tap() {
    local name=$1 status=$2 log=$3
    local p f s
    # cmocka writes a skipped test as "not ok N # SKIP": a skip either way.
    p=$(grep -E '^ok ' "$log" | grep -cvE '# (skip|SKIP)' | tr -d ' ')
    f=$(grep -E '^not ok ' "$log" | grep -cvE '# (skip|SKIP)' | tr -d ' ')
    s=$(grep -cE '^(not )?ok .*# (skip|SKIP)' "$log" | tr -d ' ')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name: suite exited with status $status (see $log)"
        f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    printf '# %-28s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

run_suite() {
    local name=$1; shift
    local log="$LOGDIR/$(echo "$name" | tr ' /' '__').log"
    echo "# ---- $name"
    "$@" > "$log" 2>&1
    local status=$?
    # Each failure with the first lines of its diagnostics (TAP "# ..."
    # lines), so that a CI log that keeps only this output says why.
    awk '/^not ok / && !/# (skip|SKIP)/ { n = 12; print "    " $0; next }
         /^(not )?ok / { n = 0; next }
         n > 0 && /^#/ { n--; print "      " $0 }' "$log"
    count_tap "$name" "$status" "$log"
}

# "KEY EXE" of every Python with an agent, from config.mk.
matrix() {
    sed -n 's/^PY_\([0-9.]*[a-z]*\)_EXE := \(.*\)$/\1 \2/p' "$BUILD/config.mk" |
        while read -r key exe; do
            [ -d "$BUILD/py$key/heapsnap" ] && echo "$key $exe"
        done
}

# 0 if key $1 is picked by $PYTHONS (all when unset).
picked() {
    local p
    [ -z "${PYTHONS:-}" ] && return 0
    for p in $PYTHONS; do
        case "$1" in "$p" | "$p".*) return 0 ;; esac
    done
    return 1
}

echo "# interpreter matrix (key, full version, path):"
while read -r key exe; do
    [ -n "$key" ] && picked "$key" || continue
    printf '#   %-10s %-10s %s\n' "$key" \
        "$("$exe" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo '?')" "$exe"
done < <(matrix)

# The unit tests of attach through PEP 768 need a live 3.14: the one
# tools/newest_pythons.sh installed, if any.
if [ -z "${HEAPSNAP_TEST_PY314:-}" ] && [ -f "$BUILD/pythons/list" ]; then
    HEAPSNAP_TEST_PY314=$(grep -m1 '/python3\.14$' "$BUILD/pythons/list")
    export HEAPSNAP_TEST_PY314
fi

# A SAN=1 agent needs the sanitizer runtimes preloaded in its Python.
source tests/sanitizers.bash
san_env=(env "${SAN_ENV[@]}")

for suite in $SUITES; do
    case $suite in
    unit)
        # One binary per tests/unit/test_*.c: a missing one is a failure
        # (plain `make` does not build them; `make test` does).
        for src in tests/unit/test_*.c; do
            t="$BUILD/tests/$(basename "$src" .c)"
            if [ ! -x "$t" ]; then
                echo "not ok - unit/$(basename "$t"): not built (make unit-tests)"
                failed=$((failed + 1))
                continue
            fi
            run_suite "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
        done ;;
    cli)
        if ls tests/cli/*.bats >/dev/null 2>&1; then
            run_suite "cli" bats --tap tests/cli
        fi ;;
    pip)
        run_suite "pip" bats --tap tests/pip ;;
    agent)
        while read -r key exe; do
            picked "$key" || continue
            run_suite "agent/python$key" "${san_env[@]}" env \
                PYTHONPATH="$ROOT/$BUILD/py$key" HEAPSNAP_TEST_PYTHON="$exe" \
                "$exe" tests/agent/run.py
        done < <(matrix)
        ;;
    realpkgs)
        # The agent built for Debian's own python3: the config key whose
        # interpreter is /usr/bin/python3 (or resolves to it).
        key=$(while read -r k exe; do
                  [ "$(readlink -f "$exe")" = "$(readlink -f /usr/bin/python3)" ] &&
                      echo "$k" && break
              done < <(matrix))
        if [ -z "$key" ] || [ ! -d "$BUILD/py$key/heapsnap" ]; then
            echo "# ---- realpkgs"
            echo "# realpkgs: skipped, no agent for /usr/bin/python3 in $BUILD"
            skipped=$((skipped + 1))
            continue
        fi
        run_suite "realpkgs" "${san_env[@]}" env \
            PYTHONPATH="$ROOT/$BUILD/py$key" \
            /usr/bin/python3 tests/agent/run.py --dir tests/realpkgs ;;
    web)
        if [ -f tests/web/run.sh ]; then
            run_suite "web" tests/web/run.sh
        fi ;;
    fuzz)
        run_suite "fuzz" tests/fuzz/run.sh "${FUZZ_BUILD:-$BUILD-fuzz}" \
            "${FUZZ_RUNS:-3000}" ;;
    esac
done

echo "# $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
