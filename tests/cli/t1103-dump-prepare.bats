#!/usr/bin/env bats
# heapsnap dump prepares each snapshot it wrote for analysis: the derived
# tables a first command would store (graph_cache, retained) are in the
# file when dump returns, so that no command writes to it afterwards; a
# failure to store them leaves the snapshot complete (exit 4).  And
# `dump --prepare FILE...` for what heapsnap.dump() wrote.

load lib

setup() {
    PY=$(default_python)
    KEY=$(pythons | tail -1 | cut -d' ' -f1)
    cd "$BATS_TEST_TMPDIR"
    cat > app.py <<'PY'
import sys
class Leaky:
    pass
HOARD = [Leaky() for _ in range(123)]
CYCLE = []
CYCLE.append(CYCLE)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
PY
}

# The derived tables and their meta rows, one word each, sorted.
derived() { # FILE
    sqlite3 "$1" "select name from sqlite_master where type = 'table' and name in ('graph_cache', 'retained') union all select key from meta where key like 'derived_%' order by 1" | tr '\n' ' '
}

# What a write would change: size, modification and change times, bytes.
fingerprint() { # FILE
    stat -c '%s %y %z' "$1"
    sha256sum < "$1"
}

# Runs why, top and cycles on FILE; fails unless FILE stays as it was.
commands_leave_alone() { # FILE
    local before
    before=$(fingerprint "$1")
    run "$HEAPSNAP" why -f "$1" Leaky
    [ "$status" -eq 0 ] || { echo "why: $output"; return 1; }
    [[ "$output" == *"123 Leaky objects"* ]]
    [[ "$output" != *"read-only"* ]]
    run "$HEAPSNAP" top -f "$1" --by retained
    [ "$status" -eq 0 ] || { echo "top: $output"; return 1; }
    run "$HEAPSNAP" cycles -f "$1"
    [ "$status" -eq 0 ] || { echo "cycles: $output"; return 1; }
    [ "$(fingerprint "$1")" = "$before" ] || {
        echo "'$1' changed: $before -> $(fingerprint "$1")"
        return 1
    }
    [ ! -e "$1-journal" ]
}

ALL="derived_graph_cache derived_retained graph_cache retained "

# A program that sends itself SIGUSR2 (a snapshot while it runs), then
# exits (one at exit).
signalling_program() {
    cat > "$1" <<'PY'
import os, signal, time
class Leaky:
    pass
HOARD = [Leaky() for _ in range(123)]
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.2)
PY
}

@test "dump: the snapshot holds its analysis caches; why, top and cycles never write to it" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" app.py
    [ "$status" -eq 0 ]
    [[ "$output" == *"heapsnap: prepared '$BATS_TEST_TMPDIR/out.db' for analysis in "*" s: its graph cache and retained sizes are stored in it"* ]]
    [ "$(derived out.db)" = "$ALL" ]
    # Current for this snapshot: the counts the commands check.
    [ "$(sqlite3 out.db "select json_extract(value, '\$.objects') from meta where key = 'derived_graph_cache'")" = \
      "$(sqlite3 out.db "select count(*) from objects")" ]
    [ "$(sqlite3 out.db "select count(*) from retained")" = \
      "$(sqlite3 out.db "select count(*) from objects")" ]
    [ "$(sqlite3 out.db "pragma integrity_check")" = ok ]
    [ "$(stat -c %a out.db)" = 600 ]
    commands_leave_alone out.db
}

@test "dump: SIGUSR2 snapshots are prepared too, after the program ends" {
    signalling_program sig.py
    run "$HEAPSNAP" dump -o snap.db -- "$PY" sig.py
    [ "$status" -eq 0 ]
    [ "$(derived snap.1.db)" = "$ALL" ]
    [ "$(derived snap.db)" = "$ALL" ]
    commands_leave_alone snap.1.db
}

@test "dump --fork: the forked child's snapshot is prepared" {
    signalling_program forky.py
    run "$HEAPSNAP" dump --fork -o f.db -- "$PY" forky.py
    [ "$status" -eq 0 ]
    [ "$(derived f.1.db)" = "$ALL" ]
    commands_leave_alone f.1.db
}

@test "dump: what the program wrote with heapsnap.dump() itself is left alone" {
    run "$HEAPSNAP" dump -o out.db -- "$PY" -c 'import heapsnap; heapsnap.dump("mine.db")'
    [ "$status" -eq 0 ]
    [ "$(derived out.db)" = "$ALL" ]
    [ -z "$(derived mine.db)" ]
}

@test "dump --pid: the snapshot holds its analysis caches" {
    [ -f "$ROOT/$BUILD/inject/libheapsnap_inject.so" ] ||
        skip "no loader library in $BUILD/inject"
    cat > target.py <<'PY'
import time
class Leaky:
    pass
HOARD = [Leaky() for _ in range(123)]
open("ready", "w").close()
time.sleep(60)
PY
    env "${SAN_ENV[@]}" "$PY" target.py &
    tpid=$!
    for _ in $(seq 200); do [ -e ready ] && break; sleep 0.05; done
    run "$HEAPSNAP" dump --pid "$tpid" -o att.db --timeout 20
    kill "$tpid"
    wait "$tpid" || true
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [[ "$output" == *"heapsnap: prepared '$BATS_TEST_TMPDIR/att.db' for analysis"* ]]
    [ "$(derived att.db)" = "$ALL" ]
    commands_leave_alone att.db
}

@test "dump: caches that cannot be stored (a full disk) leave the snapshot complete (4)" {
    # The limit lets the agent write the snapshot but not the caches
    # (about 2 MB more here): the size of one without them plus 256 KiB.
    run "$HEAPSNAP" dump -o probe.db -- "$PY" app.py
    [ "$status" -eq 0 ]
    sqlite3 probe.db "drop table graph_cache; drop table retained; delete from meta where key like 'derived_%'; vacuum"
    limit=$(( $(stat -c %s probe.db) / 1024 + 256 ))
    run bash -c "trap '' XFSZ; ulimit -f $limit; exec '$HEAPSNAP' dump -o out.db -- '$PY' app.py"
    [ "$status" -eq 4 ]
    [[ "$output" == *"heapsnap: error: cannot store the graph cache in '$BATS_TEST_TMPDIR/out.db' ("*"); the snapshot is complete, and its first command will try again"* ]]
    [ "$(sqlite3 out.db "pragma integrity_check")" = ok ]
    [ -z "$(derived out.db)" ]
    [ ! -e out.db-journal ]
    [ "$(sqlite3 out.db "select count(*) from objects o join types t on t.id = o.type_id where t.name = 'Leaky'")" -eq 123 ]
    # The program's own failure still wins.
    run bash -c "trap '' XFSZ; ulimit -f $limit; exec '$HEAPSNAP' dump -o out3.db -- '$PY' app.py 3"
    [ "$status" -eq 3 ]
    # Without the limit the first command stores them.
    run "$HEAPSNAP" why -f out.db Leaky
    [ "$status" -eq 0 ]
    [ "$(derived out.db)" = "$ALL" ]
}

@test "dump --prepare: a snapshot heapsnap.dump() wrote, then no command writes to it" {
    run env "${SAN_ENV[@]}" PYTHONPATH="$ROOT/$BUILD/py$KEY" "$PY" -c '
import heapsnap
class Leaky:
    pass
HOARD = [Leaky() for _ in range(123)]
heapsnap.dump("api.db")'
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [ -z "$(derived api.db)" ]
    cp api.db api2.db
    run "$HEAPSNAP" dump --prepare api.db api2.db
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "heapsnap: prepared 'api.db' for analysis in "* ]]
    [[ "${lines[1]}" == "heapsnap: prepared 'api2.db' for analysis in "* ]]
    [ "$(derived api.db)" = "$ALL" ]
    [ "$(derived api2.db)" = "$ALL" ]
    commands_leave_alone api.db
    # Prepared already: kept as it is.
    before=$(fingerprint api.db)
    run "$HEAPSNAP" dump --prepare api.db
    [ "$status" -eq 0 ]
    [ "$(fingerprint api.db)" = "$before" ]
}

@test "dump --prepare: refusals" {
    run "$HEAPSNAP" dump --prepare
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: --prepare needs the snapshot files to prepare" ]
    run "$HEAPSNAP" dump --prepare -o x.db app.db
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: --prepare takes snapshot files and no other option" ]
    run "$HEAPSNAP" dump --prepare missing.db
    [ "$status" -eq 4 ]
    run "$HEAPSNAP" dump --prepare app.py
    [ "$status" -eq 3 ]
    # A read-only file (no write bits: refused even to root) is not
    # written; every file is tried.
    run "$HEAPSNAP" dump -o ro.db -- "$PY" app.py
    [ "$status" -eq 0 ]
    sqlite3 ro.db "drop table graph_cache; drop table retained; delete from meta where key like 'derived_%'"
    cp ro.db rw.db
    chmod 0400 ro.db
    before=$(fingerprint ro.db)
    run "$HEAPSNAP" dump --prepare ro.db rw.db
    [ "$status" -eq 4 ]
    [[ "$output" == *"heapsnap: error: cannot store the analysis caches in 'ro.db': it is read-only"* ]]
    [ "$(fingerprint ro.db)" = "$before" ]
    [ "$(derived rw.db)" = "$ALL" ]
}

@test "dump --prepare: commands opening the snapshot meanwhile wait for it, and it for them" {
    "$HEAPSNAP" dump -o big.db -- "$PY" -c '
keep = [{"n": i, "s": str(i)} for i in range(200000)]' 2>/dev/null
    sqlite3 big.db "drop table graph_cache; drop table retained; delete from meta where key like 'derived_%'"
    # Whoever runs first stores each table once (two commits); the
    # others read it back.  Which one does is not the test's business.
    od_counter() { od -An -tu1 -j24 -N4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
    for round in 1 2; do
        cp big.db new.db
        before=$(od_counter new.db)
        "$HEAPSNAP" dump --prepare new.db 2> prep.err &
        prep=$!
        pids=()
        for i in 1 2 3; do
            "$HEAPSNAP" top --by retained -f new.db > "top$i.out" 2> "top$i.err" &
            pids+=($!)
        done
        wait "$prep" || { cat prep.err; false; }
        for i in 0 1 2; do
            wait "${pids[$i]}" || { cat top*.err; false; }
        done
        ! grep -i 'locked\|error\|warning' prep.err top*.err
        for i in 2 3; do cmp top1.out "top$i.out"; done
        [ "$(derived new.db)" = "$ALL" ]
        [ $(($(od_counter new.db) - before)) -eq 2 ] ||
            { echo "commits: $(($(od_counter new.db) - before))"; false; }
    done
}
