#!/usr/bin/env bats
# heapsnap dump --pid on CPython 3.14+: the remote-debugging path (PEP 768)
# and its fallback to ptrace, each forced in turn.  A busy main thread; a
# main thread asleep with a busy worker (the worker must be the one asked);
# remote debugging disabled by PYTHON_DISABLE_REMOTE_DEBUG or
# -X disable-remote-debug (auto falls back with one line naming the
# setting, --attach remote refuses with exit 2); no thread running Python
# (auto falls back after 2 s).  Each dump is checked against the target's
# AttachMarker count, its meta (attach_method), `heapsnap info`, and the
# target's own report (sys.modules, sys.path, threads) before and after.
#
# Needs a CPython 3.14+ with an agent in $BUILD (config.mk); the tests
# skip, saying so, when none is configured, and fail when one is configured
# without its agent.

load ../attach/helpers

setup_file() {
    export ATTACH_PYTHONS="$(pythons_with_agent)"
}

setup() {
    [ -x "$HEAPSNAP" ] || skip "no $HEAPSNAP (make first)"
    PYTHONS=$ATTACH_PYTHONS
    PY314=$(awk '{ split($1, v, "."); if (v[1] == 3 && v[2] >= 14) { print $2; exit } }' <<<"$PYTHONS")
    OLD_PY=$(awk '{ split($1, v, "."); if (v[1] == 3 && v[2] < 14) { print $2; exit } }' <<<"$PYTHONS")
}

teardown() {
    cleanup_targets
}

# Skips without a CPython 3.14+ in the build's configuration; fails when
# one is configured (tools/newest_pythons.sh installed it) but has no agent.
need_py314() {
    [ -n "$PY314" ] && return 0
    if grep -q '^PY_3\.1[4-9][^_]*_EXE' "$ROOT/$BUILD/config.mk"; then
        echo "CPython 3.14+ is configured in $BUILD but has no agent" >&2
        return 1
    fi
    skip "no CPython 3.14+ configured in $BUILD (tools/newest_pythons.sh installs it)"
}

meta() {
    sqlite3 "$1" "SELECT value FROM meta WHERE key = '$2'"
}

# dump_checked COUNT METHOD ARGS...: dumps $TPID with ARGS; checks the
# markers, the meta, info's line, the report and no leftovers.  The dump's
# stderr is left in DUMP_OUT.
dump_checked() {
    local count=$1 method=$2 report_before tasks_before
    shift 2
    report_before=$(target_report)
    tasks_before=$(task_count)
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --timeout 20 "$@"
    echo "$output"
    [ "$status" -eq 0 ]
    DUMP_OUT=$output
    echo "# ${output##*snap.db\' }" >&3
    [ "$(markers_in "$TDIR/snap.db")" = "$count" ]
    [ "$(meta "$TDIR/snap.db" trigger)" = attach ]
    [ "$(meta "$TDIR/snap.db" attach_method)" = "$method" ]
    run "$HEAPSNAP" info -f "$TDIR/snap.db"
    [ "$status" -eq 0 ]
    if [ "$method" = pep768 ]; then
        # The payload's thread went back to the program after the walk;
        # the agent's thread finished the file and reported it.
        [[ "$DUMP_OUT" == *"after the request and was back in the program after "*" s, no thread stopped)"* ]]
        [[ "$output" == *"attached via remote debugging (PEP 768)"* ]]
    else
        [[ "$output" == *"attached via ptrace"* ]]
    fi
    [ "$(target_report)" = "$report_before" ]
    [ "$(task_count)" = "$tasks_before" ]
    [ "$(ls -A "$TDIR" | grep -vc '^\(busy_tid\|out\|progress\|ready\|report\|snap.db\)$')" = 0 ]
}

@test "remote: busy main thread, by remote debugging (auto) and by ptrace (forced)" {
    need_py314
    start_target "$PY314" busy 2345
    before=$(progress)
    dump_checked 2345 pep768
    [[ "$DUMP_OUT" != *ptrace* ]]
    wait_progress "$before" 0
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --attach remote
    [ "$status" -eq 0 ]
    [[ "$output" == *"via remote debugging (PEP 768)"*"no thread stopped"* ]]
    rm "$TDIR/snap.db"
    dump_checked 2345 ptrace --attach ptrace
    [[ "$DUMP_OUT" == *"with ptrace"*"one thread stopped"* ]]
    rm "$TDIR/snap.db"
    HEAPSNAP_ATTACH=ptrace dump_checked 2345 ptrace
    before=$(progress)
    wait_progress "$before" 0
}

@test "remote: main thread asleep, a worker busy: the worker runs the payload" {
    need_py314
    start_target "$PY314" sleepbusy 1234
    busy_tid=$(cat "$TDIR/busy_tid")
    [ "$busy_tid" != "$TPID" ]
    dump_checked 1234 pep768 --attach remote
    [[ "$DUMP_OUT" == *"thread $busy_tid ran it"* ]]
    # The main thread is still in the same time.sleep(600).
    [ "$(sed -n 's/^State:\t\(.\).*/\1/p' "/proc/$TPID/status")" = S ]
}

@test "remote: PYTHON_DISABLE_REMOTE_DEBUG: auto falls back to ptrace, remote refuses" {
    need_py314
    start_target "$PY314" busy 777 env PYTHON_DISABLE_REMOTE_DEBUG=1
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --attach remote
    echo "$output"
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: remote debugging is disabled in process $TPID: PYTHON_DISABLE_REMOTE_DEBUG is set in its environment" ]
    [ ! -e "$TDIR/snap.db" ]
    dump_checked 777 ptrace
    [ "$(grep -c 'remote debugging is disabled' <<<"$DUMP_OUT")" = 1 ]
    [[ "$DUMP_OUT" == *"heapsnap: remote debugging is disabled in process $TPID: PYTHON_DISABLE_REMOTE_DEBUG is set in its environment; attaching with ptrace instead"* ]]
}

@test "remote: -X disable-remote-debug: --attach remote names the option" {
    need_py314
    # start_target runs PREFIX... PYTHON target.py: a wrapper adds -X.
    local wrap="$BATS_TEST_TMPDIR/py-x"
    printf '#!/bin/sh\nexec "%s" -X disable-remote-debug "$@"\n' "$PY314" >"$wrap"
    chmod +x "$wrap"
    start_target "$wrap" busy 10
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --attach remote
    echo "$output"
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: remote debugging is disabled in process $TPID: it was started with -X disable-remote-debug" ]
    [ ! -e "$TDIR/snap.db" ]
}

@test "remote: no thread runs Python: auto takes the request back and uses ptrace" {
    need_py314
    start_target "$PY314" longsleep 99
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --timeout 20
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"did not take the remote-debugging request"*"attaching with ptrace instead"* ]]
    [ "$(markers_in "$TDIR/snap.db")" = 99 ]
    [ "$(meta "$TDIR/snap.db" attach_method)" = ptrace ]
    # Forced remote: a timeout, and the request is taken back.
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/r.db" --attach remote --timeout 1
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"timed out: thread $TPID of process $TPID did not take the remote-debugging request"* ]]
    [ ! -e "$TDIR/r.db" ]
    [ "$(ls -A "$TDIR" | grep -c '^\.heapsnap')" = 0 ]
}

@test "remote: --attach remote on Python before 3.14 is refused (exit 2)" {
    [ -n "$OLD_PY" ] || skip "no CPython before 3.14 with an agent in $BUILD"
    start_target "$OLD_PY" busy 10
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db" --attach remote
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == "heapsnap: error: cannot attach to process $TPID by remote debugging: Python "*" has no remote debugging (it came in 3.14)" ]]
    [ ! -e "$TDIR/snap.db" ]
    # auto on an older Python: ptrace, without a word about remote debugging.
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/snap.db"
    [ "$status" -eq 0 ]
    [[ "$output" != *remote* ]]
    [ "$(meta "$TDIR/snap.db" attach_method)" = ptrace ]
}

@test "remote: --attach and HEAPSNAP_ATTACH misuse" {
    run "$HEAPSNAP" dump --pid 1 --attach sideways
    [ "$status" -eq 2 ]
    [[ "$output" == *"--attach"* ]]
    run "$HEAPSNAP" dump --attach remote -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"--attach needs --pid"* ]]
    HEAPSNAP_ATTACH=sideways run "$HEAPSNAP" dump --pid 1
    [ "$status" -eq 2 ]
    [[ "$output" == *"HEAPSNAP_ATTACH is 'sideways'; use auto, remote or ptrace"* ]]
    run "$HEAPSNAP" dump --help
    [[ "$output" == *"--attach HOW"* ]]
}
