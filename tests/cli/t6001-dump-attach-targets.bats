#!/usr/bin/env bats
# heapsnap dump --pid: attach to running targets on every CPython that has
# an agent (config.mk), main thread busy in pure Python, sleeping,
# blocked reading a pipe, or running several threads.  Each time: the
# snapshot holds the target's AttachMarker objects (a random count), the
# target keeps making progress, and sys.path, sys.modules, the importer
# cache and the thread count are as before.  Run: bats tests/cli/<file>
# (BUILD=build-x to use another build folder).

load ../attach/helpers

setup_file() {
    # Read once per file (config.mk and the build folder).
    export ATTACH_PYTHONS="$(pythons_with_agent)"
}

setup() {
    [ -x "$HEAPSNAP" ] || skip "no $HEAPSNAP (make first)"
    [ -f "$ROOT/$BUILD/inject/libheapsnap_inject.so" ] ||
        skip "no loader library in $BUILD/inject"
    PYTHONS=$ATTACH_PYTHONS
    [ -n "$PYTHONS" ] || skip "no Python with an agent in $BUILD"
}

teardown() {
    cleanup_targets
}

# attach_one VERSION EXE MODE SLOTS...: one full check; prints one line.
attach_one() {
    local ver=$1 exe=$2 mode=$3 count before report_before report_after
    shift 3
    count=$((1000 + RANDOM % 5000))
    start_target "$exe" "$mode" "$count" || return 1
    report_before=$(target_report)
    tasks_before=$(task_count)
    before=$(progress)
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --timeout 20
    if [ "$status" -ne 0 ]; then
        echo "python $ver $mode: exit $status: $output" >&2
        return 1
    fi
    [[ "$output" == *"wrote '$TDIR/snap.db'"* ]] || {
        echo "python $ver $mode: unexpected output: $output" >&2
        return 1
    }
    # The closing line, for the record: counts, dump time, attach latency.
    echo "# python $ver $mode: ${output#*snap.db\' }" >&3
    [ "$(markers_in "$TDIR/snap.db")" = "$count" ] || {
        echo "python $ver $mode: $(markers_in "$TDIR/snap.db") markers, expected $count" >&2
        return 1
    }
    [ "$(sqlite3 "$TDIR/snap.db" "SELECT value FROM meta WHERE key = 'trigger'")" = attach ]
    [ "$(sqlite3 "$TDIR/snap.db" "SELECT value FROM meta WHERE key = 'pid'")" = "$TPID" ]
    [ "$(stat -c %a "$TDIR/snap.db")" = 600 ]
    [ "$mode" = pipe ] && printf 'xyz' >&"$FIFO_FD"
    wait_progress "$before" "$@" || { echo "python $ver $mode" >&2; return 1; }
    report_after=$(target_report)
    [ "$report_before" = "$report_after" ] || {
        echo "python $ver $mode: target changed:" >&2
        echo "  before $report_before" >&2
        echo "  after  $report_after" >&2
        return 1
    }
    [ "$(task_count)" = "$tasks_before" ]
    [ ! -e "$TDIR/corrupt" ] || { cat "$TDIR/corrupt" >&2; return 1; }
    # No leftovers: only the target's files and the snapshot.
    [ "$(ls -A "$TDIR" | grep -vc '^\(fifo\|out\|progress\|ready\|report\|snap.db\)$')" = 0 ]
    stop_targets
}

# Runs attach_one for every Python; reports every failing version.
each_python() {
    local failed=0 ver exe
    while read -r ver exe; do
        attach_one "$ver" "$exe" "$@" || failed=1
    done <<<"$PYTHONS"
    return $failed
}

@test "attach: main thread busy in a pure-Python loop (no syscalls)" {
    each_python busy 0
}

@test "attach: main thread sleeping in time.sleep" {
    each_python sleep 0
}

@test "attach: main thread blocked reading a pipe" {
    each_python pipe 0
}

@test "attach: several threads (busy, sleeping, waiting on a lock)" {
    each_python threads 0 1 2 3 4
}

@test "attach: twice in a row to the same busy process" {
    local ver exe
    # The loader is what this checks: ptrace on 3.14+ too.
    export HEAPSNAP_ATTACH=ptrace
    read -r ver exe <<<"$(tail -n1 <<<"$PYTHONS")"
    start_target "$exe" busy 777
    report_before=$(target_report)
    for i in 1 2 3; do
        run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/s$i.db"
        [ "$status" -eq 0 ]
        [ "$(markers_in "$TDIR/s$i.db")" = 777 ]
    done
    # The dump options reach the agent.
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/r.db" --redact --collect
    [ "$status" -eq 0 ]
    [ "$(sqlite3 "$TDIR/r.db" "SELECT value FROM meta WHERE key = 'redacted'")" = 1 ]
    [ "$(sqlite3 "$TDIR/r.db" "SELECT value FROM meta WHERE key = 'gc_collected'")" = 1 ]
    # The loader is loaded once and reused.
    [ "$(grep -c 'libheapsnap_inject.so' "/proc/$TPID/maps" | tr -d ' ')" -ge 1 ]
    [ "$(grep 'libheapsnap_inject.so' "/proc/$TPID/maps" | awk '{print $6}' | sort -u | wc -l)" = 1 ]
    [ "$(target_report)" = "$report_before" ]
}

@test "attach --fork: a forked child of the target writes it; no zombie left" {
    local ver exe
    while read -r ver exe; do
        start_target "$exe" threads 321
        report_before=$(target_report)
        before=$(progress)
        run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/f.db" --fork
        echo "$ver: $output"
        [ "$status" -eq 0 ]
        [ "$(markers_in "$TDIR/f.db")" = 321 ]
        [ "$(sqlite3 "$TDIR/f.db" "SELECT value FROM meta WHERE key = 'forked'")" = 1 ]
        [ "$(sqlite3 "$TDIR/f.db" "SELECT value FROM meta WHERE key = 'pid'")" = "$TPID" ]
        wait_progress "$before" 0 1 2 3 4
        [ "$(target_report)" = "$report_before" ]
        # The child was reaped by the loader: no zombie under the target.
        ! grep -l "^PPid:[[:space:]]*$TPID\$" /proc/[0-9]*/status 2>/dev/null | grep -q .
        stop_targets
    done <<<"$(sed -n '1p;$p' <<<"$PYTHONS" | sort -u)"
}

@test "attach: a long time.sleep resumes (select before 3.11, clock_nanosleep after)" {
    local ver exe
    # The oldest and the newest Python: the two ways time.sleep blocks.
    for line in "$(head -n1 <<<"$PYTHONS")" "$(tail -n1 <<<"$PYTHONS")"; do
        read -r ver exe <<<"$line"
        start_target "$exe" longsleep 50
        sc_before=$(cut -d' ' -f1 "/proc/$TPID/syscall")
        run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/s.db"
        [ "$status" -eq 0 ]
        sleep 0.3
        # Still asleep in the same call (or its restart): the script ends,
        # and the process exits, as soon as time.sleep(600) returns.
        kill -0 "$TPID"
        sc_after=$(cut -d' ' -f1 "/proc/$TPID/syscall")
        echo "python $ver: syscall $sc_before before, $sc_after after"
        [ "$sc_after" = "$sc_before" ] || [ "$sc_after" = 219 ]  # restart_syscall
        stop_targets
    done
}

@test "attach: the default file name is heapsnap-<pid>-<time>.db here" {
    local ver exe
    read -r ver exe <<<"$(head -n1 <<<"$PYTHONS")"
    start_target "$exe" sleep 10
    cd "$TDIR"
    run "$HEAPSNAP" dump --pid "$TPID"
    [ "$status" -eq 0 ]
    ls heapsnap-"$TPID"-*.db
    [ "$(markers_in heapsnap-"$TPID"-*.db)" = 10 ]
    # The inspector reads it like any snapshot.
    run "$HEAPSNAP" info -f heapsnap-"$TPID"-*.db
    [ "$status" -eq 0 ]
}

@test "attach: a process of another user (staged through its /tmp)" {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v setpriv >/dev/null || skip "no setpriv"
    local sys_py
    sys_py=$(awk '$2 ~ /^\/usr\/bin\// { print $2; exit }' <<<"$PYTHONS")
    [ -n "$sys_py" ] || skip "no /usr/bin/python3.X with an agent (pyenv is not readable by nobody)"
    TDIR_BASE=/tmp start_target "$sys_py" busy 321 \
        setpriv --reuid=65534 --regid=65534 --clear-groups
    [ "$(stat -c %U "/proc/$TPID")" = nobody ]
    before=$(progress)
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/s.db"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(markers_in "$TDIR/s.db")" = 321 ]
    [ "$(stat -c %U "$TDIR/s.db")" = root ]
    wait_progress "$before" 0
    # The staging folder is gone.
    ! ls -d /tmp/heapsnap-attach-* 2>/dev/null | grep -q .
}

@test "attach: a process in another mount namespace (a container's view)" {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v unshare >/dev/null || skip "no unshare"
    local ver exe
    read -r ver exe <<<"$(head -n1 <<<"$PYTHONS")"
    # The target sees its own empty /tmp and no heapsnap build folder.
    # Its script is copied out of the checkout, which may itself be under
    # /tmp; the build folder is hidden first for the same reason.
    TARGET_PY=$(mktemp /dev/shm/target.XXXXXX.py)
    OUTSIDE_DIRS+=("$TARGET_PY")
    cp "$ROOT/tests/attach/target.py" "$TARGET_PY"
    TDIR_BASE=/dev/shm start_target "$exe" threads 55 \
        unshare --mount --propagation private sh -c \
        'mount -t tmpfs none "$0" && mount -t tmpfs none /tmp && exec "$@"' \
        "$ROOT/$BUILD"
    [ ! -e "/proc/$TPID/root$ROOT/$BUILD/heapsnap" ]
    before=$(progress)
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/s.db"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(markers_in "$TDIR/s.db")" = 55 ]
    wait_progress "$before" 0 1 2 3 4
    [ -z "$(ls -A "/proc/$TPID/root/tmp")" ]
}

@test "attach: --timeout while a C call holds the GIL; the loader leaves" {
    local ver exe
    export HEAPSNAP_ATTACH=ptrace  # the loader's wait for the GIL
    read -r ver exe <<<"$(tail -n1 <<<"$PYTHONS")"
    TDIR=$(mktemp -d "$BATS_TEST_TMPDIR/t.XXXXXX")
    # A catastrophic regex: seconds in C without releasing the GIL.
    env "${SAN_ENV[@]}" "$exe" -c "
import re, os, time
open('$TDIR/ready', 'w').write(str(os.getpid()))
time.sleep(0.2)
re.match(r'(a+)+\$', 'a' * 26 + 'b')
open('$TDIR/regex-done', 'w').close()
time.sleep(60)" </dev/null >/dev/null 2>&1 3>&- &
    TARGET_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$TDIR/ready" ] && break; sleep 0.05; done
    TPID=$(cat "$TDIR/ready")
    sleep 0.4
    [ ! -e "$TDIR/regex-done" ] || skip "the regex was too fast here"
    start=$(date +%s.%N)
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/s.db" --timeout 0.5
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"timed out after 0.5 s waiting for the GIL"* ]]
    awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { exit !(e - s < 3) }'
    # Once the regex ends, the loader takes the GIL, sees it was given
    # up, and leaves without a snapshot.
    for _ in $(seq 300); do [ -e "$TDIR/regex-done" ] && break; sleep 0.05; done
    for _ in $(seq 100); do [ "$(task_count)" = 1 ] && break; sleep 0.05; done
    [ "$(task_count)" = 1 ]
    [ ! -e "$TDIR/s.db" ]
    [ ! -e "$TDIR/s.db.tmp" ]
    [ -z "$(ls -A "$TDIR" | grep -v '^\(ready\|regex-done\)$')" ]
}

@test "attach: the main thread is flagged main, also in a target that never imported threading" {
    local ver exe no dumper failed=0
    while read -r ver exe; do
        for no in 1 0; do
            start_target "$exe" sleep 55 env TARGET_NO_THREADING=$no
            report_before=$(target_report)
            run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/m.db"
            [ "$status" -eq 0 ] || { echo "$ver: $output" >&2; return 1; }
            # One main thread: not the thread heapsnap's loader ran the
            # dump in, but the process's first (its native id, recorded
            # from 3.11 on, is the pid).
            main=$(sqlite3 "$TDIR/m.db" "SELECT count(*) || ' ' || sum(is_dumper) || ' ' || ifnull(max(native_id), 'unknown') FROM threads WHERE is_main")
            # Through remote debugging (3.14+) no loader thread exists:
            # the thread that ran the payload dumped, the main one maybe.
            dumper=0
            [[ "$output" == *"via remote debugging"*"thread $TPID ran it"* ]] && dumper=1
            expect="1 $dumper $TPID"
            case $ver in 3.[89] | 3.[89].* | 3.10 | 3.10.*) expect="1 0 unknown" ;; esac
            [ "$main" = "$expect" ] || {
                echo "python $ver, no threading $no: main thread '$main', pid $TPID" >&2
                failed=1
            }
            # The attach imported nothing (threading stays unimported).
            [ "$(target_report)" = "$report_before" ]
            stop_targets
        done
    done <<<"$PYTHONS"
    return $failed
}
