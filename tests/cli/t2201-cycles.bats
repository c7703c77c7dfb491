#!/usr/bin/env bats
# heapsnap cycles: reference cycles, biggest first, garbage flagged, and the
# interpreter's machinery summarised rather than listed.

load lib

@test "cycles: the fixture's garbage cycle, with a loop through it" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" cycles -f "$snap"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "1 reference cycle (96 B); 1 unreachable (96 B) awaiting the cyclic gc" ]
    [ "${lines[1]}" = "  #1  2 objects, 96 B, unreachable: CycleNode ×2" ]
    [ "${lines[2]}" = "      CycleNode @0x16000 .peer → CycleNode .peer → back" ]
}

@test "cycles: --json" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" cycles -f "$snap" --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["cycles"][0]
assert c["members"] == 2 and c["bytes"] == 96 and c["unreachable"] is True
assert c["types"] == {"__main__.CycleNode": 2}
assert [s["label"] for s in c["loop"]] == [".peer", ".peer"]
assert d["unreachable"] == 1
'
}

@test "cycles: a member with __del__ is flagged" {
    snap=$(make_snapshot leak)
    sqlite3 "$snap" "update objects set flags = flags | 8 where id = 22"
    run "$HEAPSNAP" cycles -f "$snap"
    [[ "${lines[1]}" == *"unreachable, a member has __del__: CycleNode ×2" ]]
}

@test "cycles e2e: program cycles are listed, interpreter machinery is not" {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    cat > p.py <<'PY'
import gc
class Tree:
    def __init__(self, parent=None):
        self.parent = parent
        self.children = []
        if parent:
            parent.children.append(self)
ROOT = Tree()
for _ in range(3):
    Tree(ROOT)
class Handler:
    def __init__(self):
        self.callback = self.handle
    def handle(self):
        pass
KEEP = Handler()
gc.disable()
class Garbage:
    pass
g = Garbage(); g.me = g; del g
PY
    "$HEAPSNAP" dump -o s.db -- "$PY" p.py 2>/dev/null
    run "$HEAPSNAP" cycles -f s.db -n 0
    [ "$status" -eq 0 ]
    [[ "$output" == *"Tree ×4"* ]]
    [[ "$output" == *".children → list [*"* ]] || [[ "$output" == *".parent → "* ]]
    [[ "$output" == *"Handler ×1, method ×1"* ]] || [[ "$output" == *"Handler ×1, "*"method ×1"* ]]
    [[ "$output" == *"unreachable: Garbage"* ]]
    [[ "$output" == *"not listed: "*"cycles of interpreter machinery"* ]]
    run "$HEAPSNAP" cycles -f s.db --garbage -n 0
    [[ "$output" == *"Garbage"* ]]
    [[ "$output" != *"Tree ×4"* ]]
}

@test "cycles: usage errors" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" cycles -f "$snap" extra
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" cycles -f "$snap" -n -1
    [ "$status" -eq 2 ]
}
