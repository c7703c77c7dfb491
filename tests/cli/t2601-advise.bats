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

# A heap with one finding of each kind added since the first three, dumped
# with allocation sites by the newest Python: open files, back-pointers, a
# big list a running function only walks, lists grown by append(), an
# lru_cache on a method, duplicate strings in one attribute.
advise_more_snapshot() {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    printf 'line\n' > data.txt
    cat > more.py <<'PY'
import functools, heapsnap
class Node:
    def __init__(self, parent):
        self.parent = parent
        self.kids = []
class Row:
    def __init__(self, i):
        self.country = "".join(["country-", ("US", "FR", "DE")[i % 3]])
        self.tags = []
        self.tags.append(i)
class Blob:
    def __init__(self, i):
        self.payload = bytes(2000)
    @functools.lru_cache(maxsize=None)
    def render(self, k):
        return k
files = [open("data.txt") for i in range(100)]
trees = []
for i in range(2000):
    r = Node(None)
    r.kids.append(Node(r))
    trees.append(r)
rows = [Row(i) for i in range(20000)]
for i in range(300):
    Blob(i).render(1)
def walk():
    data = [str(i) * 3 for i in range(30000)]
    for k, x in enumerate(data):
        if k == 100:
            heapsnap.dump("more.db")
walk()
PY
    "$HEAPSNAP" dump --trace -o exit.db -- "$PY" more.py >/dev/null 2>&1
    echo "$BATS_TEST_TMPDIR/more.db"
}

@test "advise e2e: every kind's finding is a block of kind, saving, fix, where and how" {
    snap=$(advise_more_snapshot)
    [ -f "$snap" ]
    run "$HEAPSNAP" advise -f "$snap" -n 0
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *" findings would save "*" (of "*" in the heap)" ]]
    # Every finding: "#N  KIND: saves SIZE", its title, then fix, where
    # (and opened at, for open resources) and how, in that order.
    echo "$output" | python3 -c '
import re, sys
text = sys.stdin.read()
blocks = re.split(r"\n\n  #\d+  ", text)[1:]
assert blocks, text
kinds = set()
for b in blocks:
    lines = b.rstrip("\n").split("\n")
    m = re.match(r"([a-z_]+): saves \d[\d.]* (B|KiB|MiB|GiB)$", lines[0])
    assert m, lines[0]
    kinds.add(m.group(1))
    tags = [l.split(":")[0].strip() if l.startswith("      ") else None
            for l in lines[2:]]
    want = ["fix", "where"] + (["opened at FILE"] if m.group(1) ==
                               "open_resources" else []) + ["how"]
    got = [l.strip()[:len("opened at")] == "opened at" and "opened at FILE"
           or l.strip().split(":")[0] for l in lines[2:]]
    assert got == want, (got, want, b)
for k in ("open_resources", "back_reference", "materialized_sequence",
          "sparse_containers", "weak_cache", "duplicate_strings"):
    assert k in kinds, (k, kinds)
'
    [[ "$output" == *"100 open files (_io.TextIOWrapper)"* ]]
    [[ "$output" == *"opened at $BATS_TEST_TMPDIR/more.py:17 in <module>"* ]]
    [[ "$output" == *"back_reference: saves 0 B"* ]]
    [[ "$output" == *".parent"* ]]
    [[ "$output" == *"materialized_sequence: saves "* ]]
    [[ "$output" == *"where: local data of walk (more.py:30) in thread 'MainThread' → list (a root)"* ]]
    [[ "$output" == *"20,000 over-allocated lists in .tags of __main__.Row instances"* ]]
    [[ "$output" == *"module __main__ .Blob → type .render (a functools.lru_cache) alone keeps 300 Blob objects alive"* ]]
    [[ "$output" == *"fix:   module __main__ .Blob → type .render is a method"* ]]
    [[ "$output" == *"20,000 duplicate str held by Row.country: 3 distinct values ("* ]]
    [[ "$output" == *"fix:   keep one copy per value: sys.intern(value) where they are stored (Row.country)"* ]]
    run "$HEAPSNAP" advise -f "$snap" -n 0 --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
res = [f for f in d["findings"] if f["kind"] == "open_resources"]
assert len(res) == 1, res
at = res[0]["opened_at"]
assert at["file"].endswith("/more.py") and at["line"] == 17, at
assert at["function"] == "<module>", at
assert all("opened_at" not in f for f in d["findings"]
           if f["kind"] != "open_resources")
'
}

@test "advise: a file that is not a snapshot exits 3 with one line" {
    printf 'not a database' > "$BATS_TEST_TMPDIR/junk.db"
    run "$HEAPSNAP" advise -f "$BATS_TEST_TMPDIR/junk.db"
    [ "$status" -eq 3 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == "heapsnap: error: "*"junk.db"* ]]
}
