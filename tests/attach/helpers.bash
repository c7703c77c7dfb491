# Helpers for tests/cli/t600*-dump-attach-*.bats: start target.py under a
# given Python, read its progress counters and reports, and clean up.
# Environment: ROOT (repository), BUILD (default build), HEAPSNAP (the CLI),
# SAN=1 when the agents are sanitizer builds.

ROOT=${ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD=${BUILD:-build}
HEAPSNAP=${HEAPSNAP:-$ROOT/$BUILD/heapsnap}
TARGET_PY=$ROOT/tests/attach/target.py
TARGET_PIDS=()
OUTSIDE_DIRS=() # folders made outside $BATS_TEST_TMPDIR, removed by teardown

# Pythons with an agent in $BUILD, as "KEY EXECUTABLE" lines (config.mk;
# KEY as tools/pythons.sh makes it: 3.11.2), oldest first.
pythons_with_agent() {
    sed -n 's/^PY_\([0-9.]*[a-z]*\)_EXE := \(.*\)$/\1 \2/p' "$ROOT/$BUILD/config.mk" |
        while read -r key exe; do
            [ -d "$ROOT/$BUILD/py$key/heapsnap" ] && echo "$key $exe"
        done
}

# Agents built with SAN=1 need the sanitizer runtimes in the target:
# SAN_ENV holds the NAME=VALUE words for env(1).
source "$ROOT/tests/sanitizers.bash"

# start_target PYTHON MODE [COUNT] [PREFIX...]: runs target.py in a fresh
# folder; sets TDIR and TPID (the Python process, also when PREFIX wraps
# it, e.g. setpriv or unshare).  Fails after 20 s without DIR/ready.
start_target() {
    local py=$1 mode=$2 count=${3:-4321}
    shift 3 2>/dev/null || shift $#
    TDIR=$(mktemp -d "${TDIR_BASE:-$BATS_TEST_TMPDIR}/t.XXXXXX")
    [ -z "${TDIR_BASE:-}" ] || OUTSIDE_DIRS+=("$TDIR")
    chmod 777 "$TDIR"
    if [ "$mode" = pipe ]; then
        mkfifo "$TDIR/fifo"
        chmod 666 "$TDIR/fifo"
        # Held open read-write so that the target's open() returns.
        exec {FIFO_FD}<>"$TDIR/fifo"
    fi
    # fd 3 closed: bats waits for every holder of it before finishing.
    env "${SAN_ENV[@]}" "$@" "$py" "$TARGET_PY" "$mode" "$TDIR" "$count" \
        </dev/null >"$TDIR/out" 2>&1 3>&- &
    TARGET_PIDS+=($!)
    for _ in $(seq 400); do
        [ -s "$TDIR/ready" ] && break
        sleep 0.05
    done
    [ -s "$TDIR/ready" ] || { cat "$TDIR/out" >&2; return 1; }
    TPID=$(cat "$TDIR/ready")
    TARGET_PIDS+=("$TPID")
}

# teardown: kills the targets and removes folders made outside the
# test's own temporary folder, also after a failure.
cleanup_targets() {
    stop_targets
    [ ${#OUTSIDE_DIRS[@]} -eq 0 ] || rm -rf "${OUTSIDE_DIRS[@]}"
    OUTSIDE_DIRS=()
}

# Kills every target this test started.
stop_targets() {
    local p
    for p in "${TARGET_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${TARGET_PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.02
        done
        kill -9 "$p" 2>/dev/null || true
    done
    TARGET_PIDS=()
    if [ -n "${FIFO_FD:-}" ]; then
        exec {FIFO_FD}>&-
        FIFO_FD=
    fi
    return 0
}

# The target's eight progress counters, space-separated.
progress() {
    od -An -tu8 -w64 -v "$TDIR/progress" | tr -s ' ' | sed 's/^ //'
}

# wait_progress "BEFORE" SLOTS...: waits (up to 10 s) until every listed
# counter is above its value in BEFORE; fails saying which did not move.
wait_progress() {
    local before=($1) now slot ok
    shift
    for _ in $(seq 200); do
        now=($(progress))
        ok=1
        for slot in "$@"; do
            [ "${now[$slot]}" -gt "${before[$slot]}" ] || ok=0
        done
        [ $ok = 1 ] && return 0
        sleep 0.05
    done
    echo "no progress in slots $* of $TPID: before ${before[*]}, now ${now[*]}" >&2
    return 1
}

# The target's own report (SIGUSR1): sys.path, heapsnap modules, importer
# cache entries, thread counts.
target_report() {
    rm -f "$TDIR/report"
    kill -USR1 "$TPID"
    for _ in $(seq 200); do
        [ -s "$TDIR/report" ] && break
        sleep 0.05
    done
    cat "$TDIR/report"
}

# Objects of class AttachMarker in snapshot $1.
markers_in() {
    sqlite3 "$1" "SELECT count(*) FROM objects o JOIN types t
                  ON t.id = o.type_id WHERE t.name = 'AttachMarker'"
}

# Threads of the target now.
task_count() {
    ls "/proc/$TPID/task" | wc -l
}
