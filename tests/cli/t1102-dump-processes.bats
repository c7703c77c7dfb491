#!/usr/bin/env bats
# heapsnap dump -- PROGRAM and the moments and processes it snapshots: the
# exit snapshot comes before every other atexit handler (and after the
# program's threads are joined); every Python descendant (subprocess,
# multiprocessing fork, spawn and forkserver, a forking server's worker,
# os.fork) carries the agent, snapshots itself on SIGUSR2 into
# FILE-<pid>.1.db and lives on; only the program itself snapshots at exit.

load lib

setup() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
}

count_type() { # FILE TYPE
    sqlite3 "$1" "select count(*) from objects o join types t on t.id = o.type_id where t.name = '$2'"
}

meta() { # FILE KEY
    sqlite3 "$1" "select value from meta where key = '$2'"
}

@test "dump: the exit snapshot comes before the program's atexit handlers and weakref finalizers" {
    cat > teardown.py <<'PY'
import atexit, threading, time, weakref

class Kept: pass
class Finalized: pass

STATE = {"kept": [Kept() for _ in range(50)]}
atexit.register(STATE.clear)              # registered after the agent's
objs = [Finalized() for _ in range(30)]
FINALIZERS = [weakref.finalize(o, len, "x") for o in objs]

@atexit.register
def drop():
    objs.clear()

def late():                               # a non-daemon thread outliving main
    time.sleep(0.3)
    global LATE
    LATE = [Kept() for _ in range(7)]

threading.Thread(target=late).start()
PY
    run "$HEAPSNAP" dump -o out.db -- "$PY" teardown.py
    [ "$status" -eq 0 ]
    # All 50 + 7: the thread was joined, no handler had run yet.
    [ "$(count_type out.db Kept)" -eq 57 ]
    [ "$(count_type out.db Finalized)" -eq 30 ]
    # The finalizers were still alive (their callback not yet called).
    [ "$(sqlite3 out.db "select count(*) from objects o join types t on t.id = o.type_id where t.name = 'finalize'")" -eq 30 ]
    [ "$(meta out.db trigger)" = exit ]
}

@test "dump: atexit.register keeps its behaviour for the program" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c '
import atexit, sys
def log(what):
    with open("order", "a") as f:
        f.write(what + "\n")
f = atexit.register(log, "unregistered")
@atexit.register
def first(): log("first")
atexit.unregister(log)
atexit.register(log, "second")
print(atexit.register.__name__, f is log)'
    [ "$status" -eq 0 ]
    # register returns its argument, unregister works, and the program's
    # handlers run last-in first-out.
    [ "${lines[0]}" = "register True" ]
    [ "$(cat order)" = "$(printf 'second\nfirst')" ]
}

# The program for the descendants test: starts one descendant of each kind,
# waits for it to say its pid, sends it SIGUSR2, and checks that it wrote
# its own snapshot and ended normally.
descendants_program() {
    cat > family.py <<'PY'
import multiprocessing, os, signal, socket, socketserver, subprocess, sys
import threading, time

DIR = os.getcwd()


def wait_for(path, seconds=60):
    for _ in range(int(seconds / 0.02)):
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def child_main(kind):
    """In the descendant: keep some marked objects, say the pid, wait to
    be snapshotted by SIGUSR2, then say so and end normally."""
    marker = type("Child_" + kind.replace("-", "_"), (), {})
    keep = [marker() for _ in range(17)]
    pid = os.getpid()
    with open(os.path.join(DIR, "ready-%s.tmp" % kind), "w") as f:
        f.write(str(pid))
    os.rename(os.path.join(DIR, "ready-%s.tmp" % kind),
              os.path.join(DIR, "ready-%s" % kind))
    ok = wait_for(os.path.join(DIR, "out-%d.1.db" % pid))
    with open(os.path.join(DIR, "done-%s" % kind), "w") as f:
        f.write("%d %s %d\n" % (pid, "snapshotted" if ok else "no-snapshot",
                                len(keep)))


def signal_child(kind):
    assert wait_for(os.path.join(DIR, "ready-" + kind)), kind
    pid = int(open(os.path.join(DIR, "ready-" + kind)).read())
    assert pid != os.getpid()
    os.kill(pid, signal.SIGUSR2)
    return pid


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        child_main("server")
        self.request.sendall(b"served")


def main():
    results = {}
    # subprocess of the same interpreter (a reloader's server, a tool)
    p = subprocess.Popen([sys.executable, __file__, "child", "subprocess"])
    signal_child("subprocess")
    results["subprocess"] = p.wait()
    # multiprocessing with every start method
    for method in ("fork", "spawn", "forkserver"):
        ctx = multiprocessing.get_context(method)
        proc = ctx.Process(target=child_main, args=("mp-" + method,))
        proc.start()
        signal_child("mp-" + method)
        proc.join()
        results["mp-" + method] = proc.exitcode
    # a forking server's worker
    server = socketserver.ForkingTCPServer(("127.0.0.1", 0), Handler)
    reply = []

    def client():
        with socket.create_connection(server.server_address) as s:
            reply.append(s.recv(100))

    t = threading.Thread(target=client)
    t.start()
    server.handle_request()
    worker = signal_child("server")
    t.join()
    results["server"] = os.waitpid(worker, 0)[1] if reply == [b"served"] \
        else "no reply"
    server.server_close()
    # os.fork
    pid = os.fork()
    if pid == 0:
        child_main("os-fork")
        os._exit(0)
    signal_child("os-fork")
    results["os-fork"] = os.waitpid(pid, 0)[1]
    for kind in sorted(results):
        print(kind, results[kind], open(os.path.join(DIR, "done-" + kind)).read().strip())


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child_main(sys.argv[2])
    else:
        main()
PY
}

@test "dump: every Python descendant carries the agent; SIGUSR2 snapshots it and it lives on" {
    descendants_program
    run "$HEAPSNAP" dump -o out.db -- "$PY" family.py
    echo "$output"
    [ "$status" -eq 0 ]
    for kind in mp-fork mp-forkserver mp-spawn os-fork server subprocess; do
        # exit status 0, snapshotted, its objects intact
        line=$(grep "^$kind " <<<"$output")
        [[ "$line" =~ ^$kind\ 0\ ([0-9]+)\ snapshotted\ 17$ ]]
        pid=${BASH_REMATCH[1]}
        snap="out-$pid.1.db"
        [ -f "$snap" ]
        [ "$(meta "$snap" pid)" = "$pid" ]
        [ "$(meta "$snap" trigger)" = signal ]
        [ "$(count_type "$snap" "Child_${kind//-/_}")" -eq 17 ]
        [ "$(stat -c %a "$snap")" = 600 ]
    done
    # Only the program snapshots at exit; no descendant left a .tmp.
    [ "$(meta out.db trigger)" = exit ]
    [ "$(meta out.db pid)" != "" ]
    [ "$(ls *.db | grep -vc -- '-[0-9]*\.1\.db$')" = 1 ]
    [ -z "$(ls | grep '\.tmp$')" ]
}

@test "dump: without -o a descendant's snapshot is heapsnap-<its pid>-<time>.1.db" {
    run "$HEAPSNAP" dump -- "$PY" -c '
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", """
import glob, os, time
open("ready", "w").close()
for _ in range(3000):
    if glob.glob("heapsnap-%d-*.1.db" % os.getpid()):
        break
    time.sleep(0.02)
"""])
while not os.path.exists("ready"):
    time.sleep(0.02)
time.sleep(0.2)
os.kill(child.pid, signal.SIGUSR2)
print("child", child.pid, child.wait())'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ child\ ([0-9]+)\ 0 ]]
    pid=${BASH_REMATCH[1]}
    f=$(ls heapsnap-"$pid"-*.1.db)
    [[ "$f" =~ ^heapsnap-$pid-[0-9]{8}-[0-9]{6}\.1\.db$ ]]
    [ "$(meta "$f" pid)" = "$pid" ]
}

@test "dump: a child of another Python version takes the agent built for it" {
    local minor okey other
    minor=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    read -r okey other <<<"$(pythons | awk -v v="$minor." 'index($1, v) != 1' | head -1)"
    [ -n "$other" ] || skip "only one Python with an agent"
    # Its agent is found for its own version (both are in this build).
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c "
import subprocess
print(subprocess.run(['$other', '-c', 'import sys, heapsnap; print(sys.version_info[:2], heapsnap.__file__)'], capture_output=True, text=True).stdout)"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"/py$okey/heapsnap/__init__.py"* ]]
}

@test "dump: a child of the same minor version, another micro, takes its own agent" {
    local pair pkey parent ckey child
    # Two keys of one minor (pyenv 3.11.7 and Debian's 3.11.2, say).
    pair=$(pythons | awk '{ split($1, v, "."); m = v[1] "." v[2]
                            if (m in seen) { print seen[m]; print $0; exit }
                            seen[m] = $0 }')
    [ -n "$pair" ] || skip "no two Pythons of one minor version with an agent"
    read -r pkey parent <<<"$(head -n1 <<<"$pair")"
    read -r ckey child <<<"$(tail -n1 <<<"$pair")"
    for way in "$parent $child $ckey" "$child $parent $pkey"; do
        set -- $way
        run "$HEAPSNAP" dump -o out.db -- "$1" -c "
import subprocess
print(subprocess.run(['$2', '-c', 'import heapsnap; print(heapsnap.__file__)'], capture_output=True, text=True).stdout)"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"/py$3/heapsnap/__init__.py"* ]]
    done
}
