#!/usr/bin/env bats
# heapsnap dump -- PROGRAM: running a Python program with the agent, the
# snapshots it writes, its exit status, and every refusal.

load lib

setup() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    cat > app.py <<'PY'
import sys
class Leaky:
    pass
HOARD = [Leaky() for _ in range(123)]
print("app says hi", len(HOARD))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
PY
}

count_type() { # FILE TYPE
    sqlite3 "$1" "select count(*) from objects o join types t on t.id = o.type_id where t.name = '$2'"
}

@test "dump: snapshots at exit; the program runs as usual" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" app.py
    [ "$status" -eq 0 ]
    [[ "$output" == *"app says hi 123"* ]]
    [[ "$output" == *"heapsnap: wrote '$BATS_TEST_TMPDIR/out.db' ("*" objects, "*" references, "*" s)"* ]]
    [ "$(count_type out.db Leaky)" -eq 123 ]
    [ "$(stat -c %a out.db)" = "600" ]
    [ ! -e out.db.tmp ]
    run "$HEAPSNAP" info -f out.db
    [ "$status" -eq 0 ]
    [[ "$output" == *"trigger exit"* ]]
}

@test "dump: the program's exit status is passed through" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" app.py 3
    [ "$status" -eq 3 ]
    [ "$(count_type out.db Leaky)" -eq 123 ]
}

@test "dump: a program killed by a signal exits 128+N" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c 'import os, signal; os.kill(os.getpid(), signal.SIGTERM)'
    [ "$status" -eq 143 ]
}

@test "dump: default name heapsnap-<pid>-<time>.db in the current folder" {
    run "$HEAPSNAP" dump -- "$PY" app.py
    [ "$status" -eq 0 ]
    f=$(ls heapsnap-*.db)
    [[ "$f" =~ ^heapsnap-[0-9]+-[0-9]{8}-[0-9]{6}\.db$ ]]
    pid=$(sqlite3 "$f" "select value from meta where key = 'pid'")
    [[ "$f" == "heapsnap-$pid-"* ]]
}

@test "dump: SIGUSR2 writes numbered snapshots while the program runs" {
    cat > sig.py <<'PY'
import os, signal, time
DATA = [bytearray(10) for _ in range(50)]
for n in range(2):
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0.3)
PY
    run "$HEAPSNAP" dump -o snap.db -- "$PY" sig.py
    [ "$status" -eq 0 ]
    [ -f snap.1.db ]
    [ -f snap.2.db ]
    [ -f snap.db ]
    [ "$(sqlite3 snap.1.db "select value from meta where key='trigger'")" = signal ]
    [ "$(sqlite3 snap.db "select value from meta where key='trigger'")" = exit ]
}

@test "dump --fork: a forked child writes the SIGUSR2 snapshot as of the signal" {
    cat > forky.py <<'PY'
import os, signal, time
class Blob:
    pass
keep = [Blob() for _ in range(500)]
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.1)
del keep[:400]      # the child still sees all 500
print("parent carried on")
PY
    run "$HEAPSNAP" dump --fork -o f.db -- "$PY" forky.py
    [ "$status" -eq 0 ]
    [[ "$output" == *"parent carried on"* ]]
    [[ "$output" == *"heapsnap: wrote '$BATS_TEST_TMPDIR/f.1.db' ("*", forked)"* ]]
    [ "$(count_type f.1.db Blob)" -eq 500 ]
    [ "$(count_type f.db Blob)" -eq 100 ]
    [ "$(sqlite3 f.1.db "select value from meta where key = 'forked'")" = 1 ]
    [ "$(stat -c %a f.1.db)" = "600" ]
}

@test "dump: SIGUSR2 sent to heapsnap itself is forwarded to the program" {
    cat > wait.py <<'PY'
import os, time
open("ready", "w").close()
for _ in range(100):
    if os.path.exists("snap.1.db"):
        break
    time.sleep(0.05)
PY
    "$HEAPSNAP" dump -o snap.db -- "$PY" wait.py &
    pid=$!
    for _ in $(seq 100); do [ -e ready ] && break; sleep 0.05; done
    kill -USR2 $pid
    wait $pid
    [ -f snap.1.db ]
}

@test "dump: 'import heapsnap' works in the program" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c 'import heapsnap; p = heapsnap.dump("mine.db"); print("wrote", p)'
    [ "$status" -eq 0 ]
    [[ "$output" == *"wrote mine.db"* ]]
    [ -f mine.db ]
    [ -f out.db ]
}

@test "dump: stdin, stdout and arguments reach the program untouched" {
    run bash -c "echo 'from stdin' | '$HEAPSNAP' dump -o out.db -- '$PY' -c 'import sys; print(input(), sys.argv[1:])' a 'b c'"
    [ "$status" -eq 0 ]
    [[ "$output" == *"from stdin ['a', 'b c']"* ]]
}

@test "dump: the program's own sitecustomize still runs" {
    mkdir site && echo 'import builtins; builtins.SITE_RAN = True' > site/sitecustomize.py
    run env PYTHONPATH=site "$HEAPSNAP" dump -o out.db -- "$PY" -c 'print("site ran:", SITE_RAN)'
    [ "$status" -eq 0 ]
    [[ "$output" == *"site ran: True"* ]]
}

@test "dump: a script with a python #! line runs through its interpreter" {
    printf '#!/usr/bin/env python3\nX = [1, 2]\nprint("shebang ok")\n' > tool.py
    chmod +x tool.py
    run "$HEAPSNAP" dump -o out.db -- ./tool.py
    [ "$status" -eq 0 ]
    [[ "$output" == *"shebang ok"* ]]
    [ -f out.db ]
}

@test "dump: --collect drops cyclic garbage, by default it is kept and flagged" {
    cat > cyc.py <<'PY'
import gc
gc.disable()
class Node: pass
for _ in range(10):
    a, b = Node(), Node(); a.peer, b.peer = b, a
del a, b
PY
    "$HEAPSNAP" dump -o keep.db -- "$PY" cyc.py
    "$HEAPSNAP" dump -o clean.db --collect -- "$PY" cyc.py
    [ "$(sqlite3 keep.db "select count(*) from objects o join types t on t.id=o.type_id where t.name='Node' and o.flags & 16")" -eq 20 ]
    [ "$(count_type clean.db Node)" -eq 0 ]
    [ "$(sqlite3 clean.db "select value from meta where key='gc_collected'")" -eq 1 ]
}

@test "dump: --redact stores no str contents" {
    run "$HEAPSNAP" dump -o red.db --redact -- "$PY" -c 'SECRET = "hunter2-" + "x" * 3'
    [ "$status" -eq 0 ]
    [ "$(sqlite3 red.db "select count(*) from objects where value like 'hunter2%'")" -eq 0 ]
    [ "$(sqlite3 red.db "select value from meta where key='redacted'")" -eq 1 ]
}

@test "dump: no program is a usage error" {
    run "$HEAPSNAP" dump -o out.db
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: no program to run (heapsnap dump -- python3 app.py)" ]
}

@test "dump: a program that does not exist (2)" {
    run "$HEAPSNAP" dump -- no-such-python app.py
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: cannot run 'no-such-python': command not found" ]
}

@test "dump: a program that is not Python is refused before it runs (2)" {
    run "$HEAPSNAP" dump -- touch should-not-exist
    [ "$status" -eq 2 ]
    [[ "$output" == "heapsnap: error: 'touch' is not a Python interpreter or a Python script"* ]]
    [ ! -e should-not-exist ]
}

@test "dump: Python older than 3.8 is refused (2)" {
    old=$(ls -d /root/.pyenv/versions/3.7*/bin/python3.7 /root/.pyenv/versions/3.6*/bin/python3.6 2>/dev/null | head -1)
    [ -n "$old" ] || skip "no Python older than 3.8 here"
    run "$HEAPSNAP" dump -- "$old" app.py
    [ "$status" -eq 2 ]
    [[ "$output" == "heapsnap: error: '$old' is Python 3."*"; heapsnap needs CPython 3.8 or newer" ]]
}

@test "dump: Python 2 is refused (2)" {
    old=$(ls -d /root/.pyenv/versions/2.7*/bin/python2.7 2>/dev/null | head -1)
    [ -n "$old" ] || skip "no Python 2 here"
    run "$HEAPSNAP" dump -- "$old" app.py
    [ "$status" -eq 2 ]
    [[ "$output" == *"is Python 2.7"*"heapsnap needs CPython 3.8 or newer" ]]
}

@test "dump: -I, -E and -S would hide the agent and are refused (2)" {
    for flag in -I -E -S -IS; do
        run "$HEAPSNAP" dump -- "$PY" $flag app.py
        [ "$status" -eq 2 ]
        [[ "$output" == "heapsnap: error: python option -"?" keeps heapsnap from loading its agent"* ]]
    done
}

@test "dump: no agent built for that Python says how to build one (2)" {
    mkdir bin && cp "$HEAPSNAP" bin/heapsnap
    run env -u HEAPSNAP_AGENT_DIR bin/heapsnap dump -- "$PY" app.py
    [ "$status" -eq 2 ]
    [[ "$output" == "heapsnap: error: no heapsnap agent for Python 3."*"build it with 'make'"* ]]
}

@test "dump: an output folder that does not exist: the program still runs (4)" {
    run "$HEAPSNAP" dump -o missing/out.db -- "$PY" app.py
    [ "$status" -eq 4 ]
    [[ "$output" == *"heapsnap: error: cannot write snapshots to '$BATS_TEST_TMPDIR/missing': No such file or directory (the program runs without them)"* ]]
    [[ "$output" == *"app says hi 123"* ]]
}

@test "dump: a read-only output folder: the program still runs (4)" {
    mkdir ro
    unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
    run unshare -m bash -c "mount -t tmpfs -o ro,size=1m tmpfs ro || exit 99; '$HEAPSNAP' dump -o ro/out.db -- '$PY' app.py"
    [ "$status" -ne 99 ] || skip "cannot mount a read-only folder here"
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot write snapshots to '$BATS_TEST_TMPDIR/ro': Read-only file system (the program runs without them)"* ]]
    [[ "$output" == *"app says hi 123"* ]]
}

@test "dump: -o naming a folder is a usage error" {
    mkdir adir
    run "$HEAPSNAP" dump -o adir -- "$PY" app.py
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: -o 'adir' is a folder; give a file name" ]
}

@test "dump: a program that skips its exit handlers gets a warning" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c 'import os; os._exit(7)'
    [ "$status" -eq 7 ]
    [[ "$output" == *"heapsnap: warning: the program ended without running its exit handlers"* ]]
    [ ! -e out.db ]
}

@test "dump: works with every Python the build made an agent for" {
    while read -r ver exe; do
        run "$HEAPSNAP" dump -o "v$ver.db" -- "$exe" app.py
        [ "$status" -eq 0 ]
        [ "$(count_type "v$ver.db" Leaky)" -eq 123 ]
        # The key is the full version (and ABI flags, e.g. "d").
        [ "$(sqlite3 "v$ver.db" "select value from meta where key='python_version'")" = "${ver%%[a-z]*}" ]
    done < <(pythons)
}

@test "i18.3 dump: a program killed during its exit dump leaves no FILE.tmp" {
    # Its __sizeof__ runs inside the dump, with out.db.tmp open.
    cat > killed.py <<'PY'
import os, signal
class Dies:
    def __sizeof__(self):
        os.kill(os.getpid(), signal.SIGKILL)
        return 0
KEEP = Dies()
PY
    run "$HEAPSNAP" dump -o out.db -- "$PY" killed.py
    [ "$status" -eq 137 ]
    [[ "$output" == *"removed '$BATS_TEST_TMPDIR/out.db.tmp': the program ended while writing it"* ]]
    [ ! -e out.db.tmp ]
    [ ! -e out.db ]
    # Signal snapshots too, with the default names.
    cat > killed2.py <<'PY'
import os, signal
class Dies:
    def __sizeof__(self):
        os.kill(os.getpid(), signal.SIGKILL)
        return 0
os.kill(os.getpid(), signal.SIGUSR2)
KEEP = Dies()
os.kill(os.getpid(), signal.SIGUSR2)
PY
    run "$HEAPSNAP" dump -- "$PY" killed2.py
    [ "$status" -eq 137 ]
    [ -z "$(ls | grep '\.tmp$')" ]
    [ "$(ls heapsnap-*.1.db | wc -l)" -eq 1 ]
}

@test "i18.5 dump: -o naming a device, FIFO or symlink is never replaced" {
    ln -s app.py link.db
    mkfifo fifo.db
    for out in link.db fifo.db; do
        run "$HEAPSNAP" dump -o "$out" -- "$PY" app.py
        [ "$status" -eq 4 ] || { echo "$out: $status $output"; false; }
        [[ "$output" == *"a snapshot replaces only a regular file"* ]]
        [ ! -e "$out.tmp" ]
    done
    [ -L link.db ]
    [ -p fifo.db ]
    grep -q HOARD app.py
}

@test "i18.1 dump --redact: no planted secret is anywhere in the file's bytes" {
    mkdir -p "pw_SECRETpath0"
    cat > "pw_SECRETpath0/SECRETscript1.py" <<'PY'
import os, sys, threading
LITERAL = "sk_live_SECRETlit2"            # an identifier-like literal: interned
SPACED = "the SECRETspace3 phrase"
RAW = b"SECRETbytes4"
BUF = bytearray(b"SECRETbuf5")
TABLE = {"SECRETkey6": 1, ("SECRETtuplekey7", 1): 2, b"SECRETbkey8": 3}
RUNTIME = {"".join(["SECRET", "rtkey9"]): "".join(["SECRET", "rtval10"])}
ITEMS = {"SECRETset11", "SECRETset12"}
ENV = os.environ["HS_SECRET_VALUE"]
class ConfigHolder:
    def __init__(self):
        self.db_password = "SECRETattr13"
HOLDER = ConfigHolder()
stop = threading.Event()
worker = threading.Thread(target=stop.wait, name="SECRETthread14")
worker.start()
def main(argument_value):
    local_token = "SECRETlocal15"
    import heapsnap
    heapsnap.dump(sys.argv[2], redact=True)
    stop.set()
main(sys.argv[1])
PY
    # Through the API (argv, the script's path, a thread, locals of a
    # running frame) and through the command (exit dump).
    key=$(pythons | tail -1 | cut -d' ' -f1)
    run env "${SAN_ENV[@]}" HS_SECRET_VALUE=SECRETenv16 SECRETenvname17=x \
        PYTHONPATH="$ROOT/$BUILD/py$key" "$(python_for "$key")" \
        "pw_SECRETpath0/SECRETscript1.py" SECRETarg18 api.db
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    run env HS_SECRET_VALUE=SECRETenv16 SECRETenvname17=x \
        "$HEAPSNAP" dump --redact -o exit.db -- "$(python_for "$key")" \
        "pw_SECRETpath0/SECRETscript1.py" SECRETarg18 api2.db
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    for f in api.db exit.db api2.db; do
        [ "$(sqlite3 "$f" "select value from meta where key='redacted'")" -eq 1 ]
        if grep -a -o 'SECRET[a-z]*[0-9]*' "$f" | sort -u | grep .; then
            echo "$f keeps the secrets above"
            false
        fi
        # Identifiers from code stay: class, attribute, function, local
        # and module-level names.
        [ "$(sqlite3 "$f" "select count(*) from types where name = 'ConfigHolder'")" -eq 1 ]
        sqlite3 "$f" "select text from names" > names.txt
        grep -qx "db_password" names.txt
        grep -qx "LITERAL" names.txt || grep -q "'LITERAL'" names.txt
        [ "$(sqlite3 "$f" "select count(*) from objects where value = 'main'")" -ge 1 ]
        # ...and a data dict's keys are only their types.
        grep -qx "<str>" names.txt
    done
    # A running frame's locals keep their names (and its function's).
    [ "$(sqlite3 api.db "select count(*) from roots where label = 'local local_token'")" -eq 1 ]
    [ "$(sqlite3 api.db "select count(*) from frames where function = 'main' and file is null")" -eq 1 ]
}
