#!/usr/bin/env bats
# Allocation sites: `heapsnap dump --trace` records where each object was
# allocated, and show, why, top --by site and diff --by site name the
# lines.  The program's line numbers are fixed below; the tests check them
# exactly.

load lib

setup() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    # Line numbers matter: Request() is on line 12, the bytearray on 9,
    # the closure's Request on 19.
    cat > app.py <<'PY'
import os, signal, sys, time


class Request:
    pass


def payload(n):
    return bytearray(n)

def handle(log):
    r = Request()
    r.body = payload(64)
    log.append(r)

def make_handler():
    seen = []
    def on_event(e):
        seen.append(Request())
    return on_event

LOG = []
HANDLER = make_handler()
for i in range(300):
    handle(LOG)
HANDLER(1)
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.2)
for i in range(700):
    handle(LOG)
PY
}

traced() {
    [ -f s.db ] || "$HEAPSNAP" dump --trace -o s.db -- "$PY" app.py 2>/dev/null
}

@test "sites: dump --trace records them; untraced snapshots say they have none" {
    traced
    [ "$(sqlite3 s.db "SELECT value FROM meta WHERE key = 'alloc_sites'")" = 1 ]
    [ "$(sqlite3 s.db "SELECT value FROM meta WHERE key = 'alloc_max_frames'")" -le 10 ]
    "$HEAPSNAP" dump --trace=1 -o one.db -- "$PY" app.py 2>/dev/null
    [ "$(sqlite3 one.db "SELECT max(depth) FROM alloc_tracebacks")" = 0 ]
    "$HEAPSNAP" dump -o plain.db -- "$PY" app.py 2>/dev/null
    [ "$(sqlite3 plain.db "SELECT value FROM meta WHERE key = 'alloc_sites'")" = 0 ]
    run "$HEAPSNAP" top -f plain.db --by site
    [ "$status" -eq 1 ]
    [[ "$output" == *"'plain.db' has no allocation sites: not recorded: tracemalloc was not tracing"* ]]
    run "$HEAPSNAP" dump --trace=0 -- "$PY" app.py
    [ "$status" -eq 2 ]
    [[ "$output" == *"--trace expects a positive integer, not '0'"* ]]
    run "$HEAPSNAP" dump --pid $$ --trace
    [ "$status" -eq 2 ]
    [[ "$output" == *"--trace starts tracemalloc with the program"* ]]
}

@test "sites: show prints the traceback innermost first, and --json has allocated_at" {
    traced
    addr=$(sqlite3 s.db "SELECT printf('0x%x', o.address) FROM objects o JOIN types t ON t.id = o.type_id WHERE t.name = 'bytearray' AND o.size > 64 LIMIT 1")
    run "$HEAPSNAP" show -f s.db "$addr"
    [ "$status" -eq 0 ]
    [[ "$output" == *"allocated at (innermost first):"*"app.py:9 in payload"*"app.py:13 in handle"*"app.py:"* ]]
    run "$HEAPSNAP" show -f s.db "$addr" --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["allocated_at"]
assert [(f["line"], f["function"]) for f in a[:2]] == [(9, "payload"), (13, "handle")], a
assert a[0]["file"].endswith("/app.py"), a
'
    run "$HEAPSNAP" show -f s.db dict --json
    echo "$output" | python3 -c '
import json, sys
assert json.load(sys.stdin)["allocated_at"] == []   # the type dict: static
'
}

@test "sites: why names the allocation line of the example and each group's sites" {
    traced
    run "$HEAPSNAP" why -f s.db Request --paths 3
    [ "$status" -eq 0 ]
    [[ "$output" == *"module __main__ .LOG → list [*] → Request"*"allocated at "*"app.py:12 in handle"*"sites: "*"app.py:12 in handle ×1,000"* ]]
    # The closure's Request: its path through the cell, and its line.
    [[ "$output" == *"1 object, "*"closure seen"*"allocated at "*"app.py:19 in "*"on_event"* ]]
    run "$HEAPSNAP" why -f s.db Request --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
g = d["groups"][0]
assert g["count"] == 1000 and g["sites"][0]["line"] == 12, g["sites"]
assert g["sites"][0]["function"] == "handle" and g["sites"][0]["count"] == 1000
assert g["example"]["allocated_at"][0]["line"] == 12
'
    addr=$(sqlite3 s.db "SELECT printf('0x%x', address) FROM objects WHERE id = (SELECT ot.object_id FROM object_tracebacks ot JOIN alloc_tracebacks t ON t.id = ot.traceback_id AND t.depth = 0 JOIN alloc_frames f ON f.id = t.frame_id WHERE f.line = 19 AND f.file LIKE '%app.py' LIMIT 1)")
    run "$HEAPSNAP" why -f s.db "$addr"
    [ "$status" -eq 0 ]
    [[ "$output" == *"closure seen"*"allocated at "*"app.py:19 in "*"on_event"* ]]
}

@test "sites: top --by site lists lines with counts, bytes, retained and types" {
    traced
    run "$HEAPSNAP" top -f s.db --by site -n 0
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^\ *count\ +size\ +retained\ +site\ +types$ ]]
    line12=$(echo "$output" | grep "app.py:12 in handle")
    [[ "$line12" =~ ^\ *1,000\  ]]
    [[ "$line12" == *"__main__.Request ×1,000"* ]]
    [[ "$(echo "$output" | grep "app.py:9 in payload")" =~ ^\ *1,000\  ]]
    [[ "$output" == *"have no allocation site: allocated before tracemalloc started."* ]]
    run "$HEAPSNAP" top -f s.db --by site --json -n 0
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys, sqlite3
d = json.load(sys.stdin)
s = [x for x in d["sites"] if x["line"] == 12 and x["file"].endswith("app.py")][0]
assert s["count"] == 1000 and s["types"] == [{"type": "__main__.Request", "count": 1000}], s
# Each Request holds its bytearray (line 9): retained counts both.
b = [x for x in d["sites"] if x["line"] == 9 and x["file"].endswith("app.py")][0]
assert s["retained_size"] >= s["bytes"] + b["bytes"], (s, b)
db = sqlite3.connect("s.db")
assert d["traced_objects"] == db.execute("SELECT count(*) FROM object_tracebacks").fetchone()[0]
assert d["traced_objects"] + d["untraced_objects"] == db.execute("SELECT count(*) FROM objects").fetchone()[0]
assert sum(x["count"] for x in d["sites"]) == d["traced_objects"]
'
}

@test "sites: diff --by site names the line the new objects came from" {
    traced
    run "$HEAPSNAP" diff s.1.db s.db --by site -n 3
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^new\ +new\ size\ +count\ +size\ +site\ +types$ ]]
    [[ "${lines[3]}" == *"app.py:9 in payload"*"bytearray ×"* ]]
    [[ "$output" == *"700 "*"1,000 "*"app.py:12 in handle"*"__main__.Request ×700"* ]]
    run "$HEAPSNAP" diff s.1.db s.db --by site --json -n 0
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["same_process"] is True
s = [x for x in d["sites"] if x["site"].endswith("app.py:12")][0]
assert (s["old_count"], s["new_count"], s["new_objects"]) == (300, 1000, 700), s
assert s["function"] == "handle"
'
    "$HEAPSNAP" dump -o plain.db -- "$PY" app.py 2>/dev/null
    run "$HEAPSNAP" diff plain.db s.db --by site
    [ "$status" -eq 1 ]
    [[ "$output" == *"'plain.db' has no allocation sites"* ]]
}

@test "sites: picture tooltips name the site; serve answers /api/sites and allocated_at" {
    traced
    addr=$(sqlite3 s.db "SELECT printf('0x%x', o.address) FROM objects o JOIN types t ON t.id = o.type_id WHERE t.name = 'Request' AND t.module = '__main__' LIMIT 1")
    run "$HEAPSNAP" why -f s.db "$addr" --svg why.svg
    [ "$status" -eq 0 ]
    grep -q 'allocated at [^"<]*app.py:1[29] in ' why.svg
    : > serve.err
    "$HEAPSNAP" serve -f s.db --port 0 --no-token > /dev/null 2> serve.err 3>&- &
    server=$!
    for _ in $(seq 600); do
        port=$(sed -n 's|^heapsnap: serving .* at http://127\.0\.0\.1:\([0-9]*\)/ (Ctrl-C stops)$|\1|p' serve.err)
        [ -n "$port" ] && break
        sleep 0.1
    done
    id=$(sqlite3 s.db "SELECT o.id FROM objects o JOIN types t ON t.id = o.type_id WHERE t.name = 'Request' AND t.module = '__main__' LIMIT 1")
    curl -s "http://127.0.0.1:$port/api/sites?n=0" > sites.json
    curl -s "http://127.0.0.1:$port/api/object/$id" > object.json
    curl -s "http://127.0.0.1:$port/api/why?type=Request" > why.json
    kill -TERM "$server"
    wait "$server"
    python3 - <<'PY'
import json
s = json.load(open("sites.json"))
assert s["recorded"] and any(x["line"] == 12 and x["count"] == 1000 for x in s["sites"]), s["sites"][:3]
o = json.load(open("object.json"))
assert o["allocated_at"][0]["line"] in (12, 19), o["allocated_at"]
w = json.load(open("why.json"))
assert w["groups"][0]["sites"][0]["line"] == 12, w["groups"][0]
PY
}
