#!/usr/bin/env bats
# heapsnap dump --pid refuses clearly, with the documented exit code and
# without touching the process: not Python, no such process, unsupported
# Python, no agent, ptrace not permitted (not dumpable, another user,
# already traced), stopped, and command-line misuse.

load ../attach/helpers

setup_file() {
    # Read once per file (config.mk and the build folder).
    export ATTACH_PYTHONS="$(pythons_with_agent)"
}

setup() {
    [ -x "$HEAPSNAP" ] || skip "no $HEAPSNAP (make first)"
    PYTHONS=$ATTACH_PYTHONS
    read -r VER EXE <<<"$(head -n1 <<<"$PYTHONS")"
}

teardown() {
    cleanup_targets
}

# A sleeping target with strace attached to it (TPID; strace is reaped with
# the targets).  Waits, bounded, until the kernel shows the tracer.
start_traced_target() {
    start_target "$EXE" sleep 5
    strace -p "$TPID" -o /dev/null 3>&- 2>/dev/null &
    TARGET_PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(awk '/^TracerPid/ {print $2}' "/proc/$TPID/status")" != 0 ] && return 0
        sleep 0.05
    done
}

@test "refuse: a process that is not Python" {
    sleep 100 3>&- &
    TARGET_PIDS+=($!)
    # The forked shell becomes 'sleep' only once it has exec'd: wait for
    # that (bounded), or the message names the shell.
    for _ in $(seq 200); do
        [ "$(cat /proc/$!/comm 2>/dev/null)" = sleep ] && break
        sleep 0.01
    done
    run "$HEAPSNAP" dump --pid $! -o "$BATS_TEST_TMPDIR/x.db"
    [ "$status" -eq 2 ]
    [[ "$output" == *"process $! ('sleep') is not a CPython process"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/x.db" ]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "refuse: no such process" {
    pid=4000000
    while kill -0 $pid 2>/dev/null; do pid=$((pid + 1)); done
    run "$HEAPSNAP" dump --pid $pid
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: no process with pid $pid" ]
}

@test "refuse: Python older than 3.8 (pyenv 3.7)" {
    py37=$(ls /root/.pyenv/versions/3.7*/bin/python3.7 2>/dev/null | head -n1)
    [ -n "$py37" ] || skip "no Python 3.7 here"
    "$py37" -c 'import time; time.sleep(100)' 3>&- &
    TARGET_PIDS+=($!)
    sleep 0.3
    run "$HEAPSNAP" dump --pid $! -o "$BATS_TEST_TMPDIR/x.db"
    [ "$status" -eq 2 ]
    [[ "$output" == *"process $! runs Python 3.7 ("*"); heapsnap needs CPython 3.8 or newer"* ]]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "refuse: no agent built for the target's version" {
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    # A copy of heapsnap with its loader but no agents beside it.
    mkdir -p "$BATS_TEST_TMPDIR/bin/inject"
    cp "$HEAPSNAP" "$BATS_TEST_TMPDIR/bin/"
    cp "$ROOT/$BUILD/inject/libheapsnap_inject.so" "$BATS_TEST_TMPDIR/bin/inject/"
    start_target "$EXE" sleep 5
    run env -u HEAPSNAP_AGENT_DIR "$BATS_TEST_TMPDIR/bin/heapsnap" dump --pid "$TPID" -o "$TDIR/x.db"
    [ "$status" -eq 2 ]
    [[ "$output" == *"no heapsnap agent for Python ${VER%.*}"* ]]
    [ ! -e "$TDIR/x.db" ]
    # Nothing was loaded into it.
    ! grep -q heapsnap "/proc/$TPID/maps"
}

@test "refuse: ptrace not permitted, the target is not dumpable" {
    [ "$(id -u)" = 0 ] || skip "needs root to switch users"
    command -v setpriv >/dev/null || skip "no setpriv"
    sys_py=$(ls /usr/bin/python3.[0-9]* 2>/dev/null | grep -E 'python3\.[0-9]+$' | head -n1)
    [ -n "$sys_py" ] || skip "no /usr/bin/python3.X"
    nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    TDIR_BASE=/tmp TARGET_NONDUMPABLE=1 start_target "$sys_py" busy 10 "${nobody[@]}"
    run "${nobody[@]}" "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/x.db"
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot attach to process $TPID: it is not dumpable (setuid, or prctl(PR_SET_DUMPABLE, 0))"* ]]
    [ ! -e "$TDIR/x.db" ]
}

@test "refuse: ptrace not permitted, the target is another user's" {
    [ "$(id -u)" = 0 ] || skip "needs root to switch users"
    command -v setpriv >/dev/null || skip "no setpriv"
    sys_py=$(ls /usr/bin/python3.[0-9]* 2>/dev/null | grep -E 'python3\.[0-9]+$' | head -n1)
    [ -n "$sys_py" ] || skip "no /usr/bin/python3.X"
    TDIR_BASE=/tmp start_target "$sys_py" sleep 10 \
        setpriv --reuid=65534 --regid=65534 --clear-groups
    run setpriv --reuid=65533 --regid=65533 --clear-groups \
        "$HEAPSNAP" dump --pid "$TPID" -o /tmp/never.db
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"it runs as uid 65534 and heapsnap as uid 65533"* ]]
}

@test "refuse: ptrace not permitted, heapsnap lacks CAP_SYS_PTRACE" {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v capsh >/dev/null || skip "no capsh"
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    start_target "$EXE" sleep 5
    run capsh --drop=cap_sys_ptrace -- -c "'$HEAPSNAP' dump --pid $TPID -o '$TDIR/x.db'"
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot attach to process $TPID: "*"CAP_SYS_PTRACE"* ]]
    ! grep -q heapsnap "/proc/$TPID/maps"
}

@test "refuse: the target is already traced" {
    command -v strace >/dev/null || skip "no strace"
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    start_traced_target
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/x.db"
    [ "$status" -eq 4 ]
    [[ "$output" == *"it is already traced by process"* ]]
}

@test "refuse: a traced target that its tracer holds stopped is 'traced', not 'stopped'" {
    command -v strace >/dev/null || skip "no strace"
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    start_traced_target
    kill -STOP "$TPID"
    for _ in $(seq 100); do
        grep -q '^State:.*t (tracing stop)' "/proc/$TPID/status" && break
        sleep 0.05
    done
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/x.db"
    kill -CONT "$TPID"
    [ "$status" -eq 4 ]
    [[ "$output" == *"it is already traced by process"* ]]
}

@test "refuse: the target is stopped (SIGSTOP)" {
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    start_target "$EXE" busy 5
    kill -STOP "$TPID"
    sleep 0.1
    run "$HEAPSNAP" dump --pid "$TPID" -o "$TDIR/x.db"
    kill -CONT "$TPID"
    [ "$status" -eq 4 ]
    [[ "$output" == *"process $TPID is stopped (SIGSTOP or job control); continue it first"* ]]
    before=$(progress)
    wait_progress "$before" 0
}

@test "refuse: command-line misuse" {
    run "$HEAPSNAP" dump --pid 1 -- python3 x.py
    [ "$status" -eq 2 ]
    [[ "$output" == *"--pid snapshots a running process; it takes no program"* ]]
    run "$HEAPSNAP" dump --timeout 3 -- python3 x.py
    [ "$status" -eq 2 ]
    [[ "$output" == *"--timeout needs --pid"* ]]
    run "$HEAPSNAP" dump --pid 1 --timeout soon
    [ "$status" -eq 2 ]
    [[ "$output" == *"--timeout expects seconds, not 'soon'"* ]]
    run "$HEAPSNAP" dump --pid -5
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" dump --pid 1 -o /
    [ "$status" -eq 2 ]
    [[ "$output" == *"is a folder"* ]]
    run "$HEAPSNAP" dump --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--pid PID"* ]]
    [[ "$output" == *"ptrace_scope"* ]]
}

@test "refuse: an output folder the target cannot write" {
    [ -n "${EXE:-}" ] || skip "no Python with an agent"
    start_target "$EXE" sleep 5
    run "$HEAPSNAP" dump --pid "$TPID" -o /nonexistent/dir/x.db
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot write to '/nonexistent/dir'"* ]]
    ! grep -q heapsnap "/proc/$TPID/maps"
}
