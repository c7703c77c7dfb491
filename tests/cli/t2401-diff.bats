#!/usr/bin/env bats
# heapsnap diff OLD NEW: what grew between two snapshots of a process, the
# objects that are new, and where the biggest grower's new ones are held.

load lib

setup() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    cat > grow.py <<'PY'
import os, signal, time
class Request:
    def __init__(self, i):
        self.i = i
LOG = {}
def serve(n, start):
    for i in range(start, start + n):
        LOG[i] = Request(i)
serve(1000, 0)
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.2)
serve(5000, 1000)
PY
}

grown() {
    [ -f s.1.db ] || "$HEAPSNAP" dump -o s.db -- "$PY" grow.py 2>/dev/null
}

@test "diff: the growing type first, the new objects, and where they are held" {
    grown
    run "$HEAPSNAP" diff s.1.db s.db
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "from s.1.db (pid "*"): "*" objects, "* ]]
    [[ "${lines[2]}" == "change: +"*" objects, +"* ]]
    [[ "${lines[3]}" =~ ^\+count\ +\+size\ +count\ +size\ +type$ ]]
    [[ "$output" == *"+5,000 "*"6,000 "*"__main__.Request"* ]]
    [[ "$output" == *"new objects (in s.db, not in s.1.db, by address and type): "* ]]
    [[ "$output" == *"The 5,000 new __main__.Request objects are alive because:"* ]]
    [[ "$output" == *"5,000 objects, "*", via:"* ]]
    [[ "$output" == *"module __main__ .LOG → dict [*] → Request"* ]]
}

@test "diff: --json carries the same, per type" {
    grown
    run "$HEAPSNAP" diff s.1.db s.db --json -n 0
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["same_process"] is True
top = [t for t in d["types"] if t["type"] == "__main__.Request"][0]
assert top["new_count"] - top["old_count"] == 5000, top
assert top["new_objects"] == 5000, top
assert d["new_objects"] >= 5000
g = d["growth_paths"][0]
assert g["count"] == 5000 and g["shape"].endswith(".LOG → dict [*] → Request"), g
assert d["new"]["objects"] - d["old"]["objects"] == sum(
    t["new_count"] - t["old_count"] for t in d["types"])
'
}

@test "diff: the other way round, the type shrank and nothing grew from it" {
    grown
    run "$HEAPSNAP" diff s.db s.1.db --by count -n 0
    [ "$status" -eq 0 ]
    [[ "$output" == *"-5,000 "*"1,000 "*"__main__.Request"* ]]
    [[ "$output" != *"new __main__.Request"* ]]
}

@test "diff: snapshots of two processes are compared by type only" {
    printf 'class Blob:\n    pass\nB = [Blob() for _ in range(10)]\n' > a.py
    printf 'class Blob:\n    pass\nB = [Blob() for _ in range(30)]\n' > b.py
    "$HEAPSNAP" dump -o a.db -- "$PY" a.py 2>/dev/null
    "$HEAPSNAP" dump -o b.db -- "$PY" b.py 2>/dev/null
    run "$HEAPSNAP" diff a.db b.db -n 0
    [ "$status" -eq 0 ]
    [[ "$output" == *"(two different processes: compared by type only)"* ]]
    [[ "$output" == *"+20 "*"30 "*"__main__.Blob"* ]]
    [[ "$output" != *"new objects"* ]]
}

@test "diff: the same snapshot twice changes nothing" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" diff "$snap" "$snap"
    [ "$status" -eq 0 ]
    [[ "$output" == *"change: 0 objects, 0 B"* ]]
    [[ "$output" == *"  no type changed"* ]]
    [[ "$output" == *"new objects ("*"): 0, 0 B"* ]]
}

@test "diff: errors" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" diff "$snap"
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: two snapshots, please: heapsnap diff OLD NEW" ]
    run "$HEAPSNAP" diff "$snap" nope.db
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot open 'nope.db'"* ]]
    echo "not sqlite" > junk.db
    run "$HEAPSNAP" diff junk.db "$snap"
    [ "$status" -eq 3 ]
}

@test "diff: the growth frontier, not what hangs off it; --type picks another" {
    cat > nested.py <<'PY'
import os, signal, time
class Order:
    def __init__(self, i):
        self.lines = [{"sku": i, "qty": 1}, {"sku": i + 1, "qty": 2}]
ORDERS = []
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.2)
ORDERS.extend(Order(i) for i in range(3000))
PY
    "$HEAPSNAP" dump -o n.db -- "$PY" nested.py 2>/dev/null
    # More new dicts than Orders, but the Orders are what ORDERS gains.
    run "$HEAPSNAP" diff n.1.db n.db --by count
    [ "$status" -eq 0 ]
    [[ "$output" == *"The 3,000 new __main__.Order objects are alive because:"* ]]
    [[ "$output" == *"module __main__ .ORDERS → list [*] → Order"* ]]
    run "$HEAPSNAP" diff n.1.db n.db --type dict --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["growth_type"] == "dict", d["growth_type"]
# (a few new dicts reuse addresses of freed old dicts: counted as old)
assert 5900 <= d["growth_paths"][0]["count"] <= 6000, d["growth_paths"]
assert d["growth_paths"][0]["shape"].endswith("→ Order .lines → list [*] → dict")
'
    run "$HEAPSNAP" diff n.1.db n.db --type Nope
    [ "$status" -eq 1 ]
    [[ "$output" == *"heapsnap: error: no new objects of type 'Nope' in 'n.db'"* ]]
}
