#!/usr/bin/env bats
# heapsnap advise: the memory-saving techniques found in a heap, biggest
# saving first, as text and JSON; usage errors.  The savings themselves are
# checked against measurements on every Python by tests/agent/test_advise.py.

load lib

# A heap with one finding of each landed kind, dumped by the newest Python.
advise_snapshot() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    cat > work.py <<'PY'
class Point:
    def __init__(self, i):
        self.x = i
        self.y = i
        self.z = None
points = [Point(i) for i in range(20000)]
floats = [i + 0.5 for i in range(100000)]
names = ["".join(["status", "-", "ok"]) for i in range(20000)]
PY
    "$HEAPSNAP" dump -o work.db -- "$PY" work.py >/dev/null 2>&1
    echo "$BATS_TEST_TMPDIR/work.db"
}

@test "advise: listed by help" {
    run "$HEAPSNAP" --help
    [[ "$output" == *"advise "* ]]
    run "$HEAPSNAP" advise --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: heapsnap advise [-f FILE] [-n N] [--min-bytes B] [--json]"* ]]
}

@test "advise: usage errors exit 2 with one line" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" advise -f "$snap" --min-bytes lots
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: --min-bytes takes a number of bytes, not 'lots'" ]
    [ "${lines[1]}" = "try 'heapsnap advise --help'" ]
    run "$HEAPSNAP" advise -f "$snap" -n -1
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" advise -f "$snap" extra
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == *"unexpected argument 'extra'"* ]]
    run "$HEAPSNAP" advise -f "$BATS_TEST_TMPDIR/missing.db"
    [ "$status" -eq 4 ]
    [[ "${lines[0]}" == "heapsnap: error: cannot open '"*"missing.db': No such file or directory" ]]
}

@test "advise: on the hand-built heap only its garbage cycle applies; above its saving, nothing does" {
    snap=$(make_snapshot leak)
    # Every finder runs on every byte: the one unreachable CycleNode pair
    # (96 B) is the only finding, whatever the floor below it.
    run "$HEAPSNAP" advise -f "$snap" --min-bytes 1 --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
kinds = [(f["kind"], f["bytes_saved"], f["count"]) for f in d["findings"]]
assert kinds == [("garbage_cycles", 96, 2)], kinds
'
    run "$HEAPSNAP" advise -f "$snap" --min-bytes 97
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "no findings saving 97 B or more (of "*" in the heap)" ]]
    run "$HEAPSNAP" advise -f "$snap" --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["findings"] == [] and d["total_bytes_saved"] == 0, d
'
}

@test "advise e2e: slots, array and duplicate strings, biggest saving first" {
    snap=$(advise_snapshot)
    run "$HEAPSNAP" advise -f "$snap"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "3 findings would save "* ]]
    [[ "$output" == *"fix:   add __slots__ = ('x', 'y', 'z') to class Point"* ]]
    [[ "$output" == *"fix:   store them in array.array('d', ...)"* ]]
    [[ "$output" == *"20,000 duplicate str held by module __main__ .names → list (its items): 1 distinct value ('status-ok' x20,000)"* ]]
    [[ "$output" == *"where: module __main__ .points → list ["* ]]
    run "$HEAPSNAP" advise -f "$snap" --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d["findings"]
assert sorted(x["kind"] for x in f) == ["array", "duplicate_strings", "slots"], f
saved = [x["bytes_saved"] for x in f]
assert saved == sorted(saved, reverse=True), saved
assert d["total_bytes_saved"] == sum(saved)
for x in f:
    for k in ("kind", "title", "bytes_saved", "count", "type", "where", "fix"):
        assert k in x, (k, x)
slots = [x for x in f if x["kind"] == "slots"][0]
assert slots["type"] == "__main__.Point" and slots["count"] == 20000, slots
'
    run "$HEAPSNAP" advise -f "$snap" -n 1
    [[ "$output" == *"and 2 more (-n 0 lists all)"* ]]
    run "$HEAPSNAP" advise -f "$snap" --min-bytes 100000000
    [[ "${lines[0]}" == "no findings saving "* ]]
}

@test "advise e2e: a snapshot of an older agent (no type_layouts) skips slots and says so" {
    snap=$(advise_snapshot)
    sqlite3 "$snap" "DROP TABLE type_layouts"
    run "$HEAPSNAP" advise -f "$snap"
    [ "$status" -eq 0 ]
    [[ "$output" != *"slots:"* ]]
    [[ "$output" == *"array:"* ]]
    [[ "$output" == *"note: this snapshot has no type_layouts table"* ]]
}
